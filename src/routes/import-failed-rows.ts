// GET /api/v1/products/import/{job_id}/failed-rows: the records of a finished job's file that were not imported, as
// uploaded, each with its problems (imports/jobs/failed-rows-file.ts).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { database } from "../db/client.ts";
import { getJob } from "../db/queries/jobs.ts";
import type { AppEnv } from "../http/context.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent, textContent } from "../http/route.ts";
import { failedRowsFile } from "../imports/jobs/failed-rows-file.ts";
import { jobParams } from "./imports.ts";

const getFailedRows = apiRoute({
  method: "get",
  path: "/api/v1/products/import/{job_id}/failed-rows",
  operationId: "getImportFailedRows",
  summary: "The file's records that were not imported, to fix and upload again",
  description:
    "Every record of a finished job's file that was not imported and that the merchant can fix: rejected rows, and rows skipped for a reason to fix " +
    "(a Shopify variant without a SKU); not the rows skipped by design (image rows, parents of variations, blank rows). Streamed in the file's own format, " +
    "encoding and delimiter: its first bytes (byte order mark, sep line, header), then each record byte for byte as uploaded, in file order, with its " +
    "problems appended: the CSV columns `_error_line`, `_error_column`, `_error_code` and `_error_message` (several problems joined with `; `, cells that " +
    "start with = + - @ tab, CR or NUL prefixed with an apostrophe, characters the file's encoding cannot represent written as `?`), or an `_errors` " +
    "key in each NDJSON object (a line that is not an object comes as it is). A Shopify variant's product row (its handle's first row) comes along before it, " +
    "marked `_error_code` `context`, so that it re-imports with its product's cells. Fix the cells and upload the file as it is: the `_error_*` columns " +
    "and the `_errors` key are read past. When rows of such a file fail again, theirs give way to the new job's (trailing `_error_*` columns are cut off, " +
    "an `_errors` member is taken out): one set of problems, the latest. Complete whatever the number of failures (not only the stored errors); POST …/retry imports it at once.",
  tag: "Imports",
  scope: "imports:read",
  request: { params: jobParams },
  responses: {
    200: {
      description: "The failed rows, in the file's format; Content-Type carries the file's charset.",
      content: { ...textContent("text/csv"), ...textContent("application/x-ndjson") },
      headers: headers({ "Content-Disposition": "attachment, named `{job_id}-failed-rows.csv` (or `.ndjson`)." }),
    },
    404: { description: "No such job.", content: problemContent },
    409: { description: "The job has not finished (its failed rows are not all known yet), or it is a revert job (it reads no file).", content: problemContent },
    410: { description: "The job's file has been deleted (UPLOAD_RETENTION_DAYS after it finished): its records cannot be read back.", content: problemContent },
  },
});

export function registerImportFailedRowsRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getFailedRows, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    const db = database(c.var.db);
    const job = await getJob(db, c.var.caller.tenantId, jobId);
    if (!job) throw problems.notFound(`No import job with id "${jobId}".`);
    const file = await failedRowsFile(c.env.UPLOADS, db, job);
    if (file.kind === "not_finished") throw notFinished(jobId, job.status);
    if (file.kind === "gone") throw fileGone(jobId);
    if (file.kind === "no_file") throw noFile(jobId);
    return new Response(file.body, {
      headers: { "content-type": file.contentType, "content-disposition": `attachment; filename="${file.fileName}"` },
    });
  });
}

/** A job whose failed rows are asked for before it has finished. */
export function notFinished(jobId: string, status: string): ProblemError {
  return new ProblemError("conflict", `Import job "${jobId}" is ${status}: its failed rows are known once it has finished.`);
}

/** A revert job, which reads no file. */
export function noFile(jobId: string): ProblemError {
  return new ProblemError("conflict", `Job "${jobId}" is a revert: it reads no file, so it has no failed rows.`);
}

/** A job whose file has been deleted. */
export function fileGone(jobId: string): ProblemError {
  return new ProblemError("gone", `The file of import job "${jobId}" has been deleted (it is kept UPLOAD_RETENTION_DAYS after the job finished): its failed rows cannot be read back.`);
}
