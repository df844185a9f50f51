// POST /api/v1/products/import/{job_id}/revert: undoes a finished import through a revert job (imports/jobs/revert.ts).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { readConfig } from "../config.ts";
import { database } from "../db/client.ts";
import type { AppEnv } from "../http/context.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { type RevertRefusal, requestRevert } from "../imports/jobs/revert.ts";
import { jobParams } from "./imports.ts";

const revertQuery = z.object({
  dry_run: z
    .enum(["true", "false"], { error: "must be true or false" })
    .transform((v) => v === "true")
    .optional()
    .describe("Count what the revert would do (and list the products it would keep) but write no product.")
    .meta({ type: "boolean", default: false }),
});

const revertImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import/{job_id}/revert",
  operationId: "revertImport",
  summary: "Revert a finished import",
  description:
    "Creates a revert job (`kind: revert`, `revert_of` naming the import), which applies in its tenant's order like any import: every product " +
    "the import changed gets back the values it had before it, every product it created is archived (`reverted`, `archived`), and a product " +
    "that changed again since (a later import, another write) is left as it is now: counted in `kept` and listed as a warning " +
    "`changed_since_import` with its SKU among the job's errors. Reverting never overwrites newer data. The job is resumable and exactly-once " +
    "like an import. With `dry_run=true` it counts what it would do and writes no product. An import can be reverted once, while it is kept " +
    "(JOB_RETENTION_DAYS after it finished): only an import that finished (completed, or failed or canceled part way: what it committed is undone), " +
    "wrote products (not a dry run) and kept revert data (`keeps_revert_data`) can be.",
  tag: "Imports",
  scope: "imports:write",
  request: { params: jobParams, query: revertQuery },
  responses: {
    202: {
      description: "The revert job, accepted. Poll it until it is `completed`.",
      content: { "application/json": { schema: jobResponseSchema } },
      headers: headers({ Location: "The revert job's URL." }),
    },
    404: { description: "No such job.", content: problemContent },
    409: {
      description:
        "The job cannot be reverted: it has not finished, is a dry run or itself a revert, kept no revert data, or was reverted already (the problem's `revert_job` names that revert).",
      content: problemContent,
    },
    410: { description: "The import finished more than JOB_RETENTION_DAYS ago: its revert data is gone.", content: problemContent },
  },
});

const REFUSALS: Record<Extract<RevertRefusal, { kind: "conflict" }>["reason"], (id: string, status: string) => string> = {
  not_finished: (id, status) => `Import job "${id}" is ${status}: an import can be reverted once it has finished (completed, failed or canceled).`,
  dry_run: (id) => `Import job "${id}" is a dry run: it wrote nothing to revert.`,
  is_revert: (id) => `Job "${id}" is itself a revert: a revert cannot be reverted.`,
  no_revert_data: (id) => `Import job "${id}" kept no revert data (KEEP_REVERT_DATA was off when it was created, or it predates revert data): it cannot be reverted.`,
  already_reverted: (id) => `Import job "${id}" has been reverted already.`,
};

export function registerImportRevertRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(revertImport, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    const { dry_run: dryRun = false } = c.req.valid("query");
    const result = await requestRevert(c.env, database(c.var.db), readConfig(c.env), c.var.caller.tenantId, jobId, dryRun);
    if (result.kind === "not_found") throw problems.notFound(`No import job with id "${jobId}".`);
    if (result.kind === "gone") throw new ProblemError("gone", `Import job "${jobId}" finished more than JOB_RETENTION_DAYS ago: its revert data is gone.`);
    if (result.kind === "conflict") {
      const detail = REFUSALS[result.reason](jobId, result.job.status);
      throw new ProblemError("conflict", detail, result.revertJobId ? { extensions: { revert_job: result.revertJobId } } : {});
    }
    return c.json(toJobJson(result.job), 202, { location: jobPath(result.job.id) });
  });
}
