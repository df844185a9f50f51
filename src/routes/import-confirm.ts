// POST /api/v1/products/import/{job_id}/confirm: a replace-mode import that stopped before archiving more than its
// max_archive (needs_confirmation) goes on to archive (imports/jobs/replace.ts).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { database } from "../db/client.ts";
import type { AppEnv } from "../http/context.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { confirmJob } from "../imports/jobs/lifecycle.ts";
import { jobParams } from "./imports.ts";

const confirmImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import/{job_id}/confirm",
  operationId: "confirmImport",
  summary: "Let a replace-mode import archive more than its max_archive",
  description:
    "For a job in `needs_confirmation`: its rows are in, and archiving the products its file did not mention (`would_archive`) would pass its " +
    "`max_archive`. Confirmed, the job takes the next place in its tenant's order of application (behind every import accepted before the " +
    "confirmation) and, once it comes first, archives the products that neither its file nor any import applied after it wrote or named; `archived` " +
    "counts them. A repeat for a job already confirmed answers the same way and changes nothing. A job in any other state is a 409. Unconfirmed, " +
    "the job fails after CONFIRMATION_HOURS (a deployment setting) with nothing archived.",
  tag: "Imports",
  scope: "imports:write",
  request: { params: jobParams },
  responses: {
    202: {
      description: "Confirmed (now or before): the job is queued to archive, or has gone on since.",
      content: { "application/json": { schema: jobResponseSchema } },
      headers: headers({ Location: "The job's URL." }),
    },
    404: { description: "No such job.", content: problemContent },
    409: { description: "The job is not waiting for confirmation and was never confirmed.", content: problemContent },
  },
});

export function registerImportConfirmRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(confirmImport, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    const confirmation = await confirmJob(c.env, database(c.var.db), c.var.caller.tenantId, jobId);
    if (!confirmation) throw problems.notFound(`No import job with id "${jobId}".`);
    const { kind, job } = confirmation;
    if (kind === "not_waiting") {
      throw new ProblemError(
        "conflict",
        `Import job "${jobId}" is ${job.status}, not waiting for confirmation: only a replace-mode import whose archiving would pass its max_archive waits for one.`,
      );
    }
    return c.json(toJobJson(job), 202, { location: jobPath(job.id) });
  });
}
