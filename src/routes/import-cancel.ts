// POST /api/v1/products/import/{job_id}/cancel: stops an import (imports/jobs/lifecycle.ts, cancelJob).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { database } from "../db/client.ts";
import type { AppEnv } from "../http/context.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { cancelJob } from "../imports/jobs/lifecycle.ts";
import { jobParams } from "./imports.ts";

const jobContent = { "application/json": { schema: jobResponseSchema } };

const cancelImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import/{job_id}/cancel",
  operationId: "cancelImport",
  summary: "Cancel an import",
  description:
    "A job that is `pending`, `queued` or `needs_confirmation` becomes `canceled` at once: a queued job leaves its tenant's order of application " +
    "and the next job goes on; a replace-mode job waiting for confirmation archives nothing. A `processing` job stops at its next chunk boundary " +
    "(while inflating a compressed file, at its next inflated part; while archiving, at its next window) and then becomes `canceled`: the rows " +
    "committed before the boundary stay and are counted (as are the products archived before it), and nothing after it is written. " +
    "A repeat for a canceled job answers 200 with it and changes nothing; a job that completed or failed is a 409.",
  tag: "Imports",
  scope: "imports:write",
  request: { params: jobParams },
  responses: {
    200: { description: "The job is canceled (now, or before).", content: jobContent },
    202: {
      description: "The job is processing: it stops at its next chunk boundary (`cancel_requested_at` is set). Poll the job until it is `canceled`.",
      content: jobContent,
      headers: headers({ Location: "The job's URL." }),
    },
    404: { description: "No such job.", content: problemContent },
    409: { description: "The job has finished (completed or failed): there is nothing to cancel.", content: problemContent },
  },
});

export function registerImportCancelRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(cancelImport, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    const cancellation = await cancelJob(c.env, database(c.var.db), c.var.caller.tenantId, jobId);
    if (!cancellation) throw problems.notFound(`No import job with id "${jobId}".`);
    const { kind, job } = cancellation;
    if (kind === "finished") throw new ProblemError("conflict", `Import job "${jobId}" has already ${job.status === "failed" ? "failed" : "completed"}: there is nothing to cancel.`);
    if (kind === "requested") return c.json(toJobJson(job), 202, { location: jobPath(job.id) });
    return c.json(toJobJson(job), 200);
  });
}
