// POST /api/v1/products/import/{job_id}/retry: a new job from the failed rows of a finished one (imports/jobs/retry.ts);
// Idempotency-Key makes a retried request safe, as for uploads.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { isCurrencyCode } from "../catalog/money.ts";
import { blankCellsModes, onInvalidModes } from "../catalog/product.ts";
import { readConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { getJob } from "../db/queries/jobs.ts";
import type { AppEnv } from "../http/context.ts";
import { idempotencyKey, idempotencyKeyParameter, idempotencyResponses, idempotent } from "../http/idempotency.ts";
import { readJsonBody } from "../http/json-body.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { type RetryOptions, retryJob } from "../imports/jobs/retry.ts";
import { fileGone, noFile, notFinished } from "./import-failed-rows.ts";
import { jobParams } from "./imports.ts";
import { jobAccepted, refused } from "./import-upload.ts";

/** The body is small: a few options. */
const MAX_RETRY_BODY_BYTES = 4096;

const retryInputSchema = z
  .strictObject({
    currency: z
      .string()
      .transform((c) => c.toUpperCase())
      .refine(isCurrencyCode, { error: "must be an ISO 4217 currency code such as USD" })
      .optional()
      .describe("Currency of new products whose row has none; default: the original job's."),
    delimiter: z.enum([",", ";", "tab"]).optional().describe("CSV delimiter; default: the original job's (detected when it gave none)."),
    blank_cells: z.enum(blankCellsModes).optional().describe("What a blank cell means; default: the original job's."),
    on_invalid: z.enum(onInvalidModes).optional().describe("What an invalid field does to its row; default: the original job's."),
    dry_run: z.boolean().optional().describe("Validate and count only; default: the original job's."),
  })
  .meta({ id: "RetryInput" });

const retryImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import/{job_id}/retry",
  operationId: "retryImport",
  summary: "Import a finished job's failed rows again, as a new job",
  description:
    "Makes a new job from the failed rows of a finished job (completed, failed or canceled): its file is the one GET …/failed-rows returns " +
    "(the records as uploaded, with their problems in columns that are read past), stored as the new job's upload (at most MAX_UPLOAD_BYTES). " +
    "The new job is read as the original was (its format, encoding, profile or mapping) with the original's options, or the ones the body gives; " +
    "it always runs in `upsert` mode, as the failed rows are part of a catalog, never the whole of it. The jobs are linked both ways: the new " +
    "job's `retry_of`, the original's `retries`. Meant for rows whose cause was fixed elsewhere (a product imported since, a currency to read them in); " +
    "to fix the cells themselves, download the failed rows, fix them and upload the file.",
  tag: "Imports",
  scope: "imports:write",
  request: {
    params: jobParams,
    body: {
      description: `Optional (an empty body keeps every option): the options that change. At most ${MAX_RETRY_BODY_BYTES} bytes.`,
      required: false,
      content: { "application/json": { schema: { $ref: "#/components/schemas/RetryInput" } } },
    },
  },
  parameters: [
    idempotencyKeyParameter(
      "A repeat with the same job and body returns the first response with `Idempotent-Replayed: true`; a different request with the same key is a 422; a repeat while the first is still running is a 409.",
    ),
  ],
  responses: {
    202: {
      description: "Accepted: the failed rows are stored as the new job's file and the job queued.",
      content: { "application/json": { schema: jobResponseSchema } },
      headers: headers({ Location: "The new job's URL.", "Idempotent-Replayed": "true when this is a stored response replayed for a repeated Idempotency-Key." }),
    },
    400: { description: "An option in the body is invalid.", content: problemContent },
    404: { description: "No such job.", content: problemContent },
    409: {
      description:
        "The job has not finished, has no failed rows, or is a revert job (it reads no file); or a request with the same Idempotency-Key is still being accepted.",
      content: problemContent,
    },
    410: { description: "The job's file has been deleted (UPLOAD_RETENTION_DAYS after it finished): its failed rows cannot be read back.", content: problemContent },
    413: { description: "The failed rows are more than MAX_UPLOAD_BYTES (given in `max_bytes`): nothing was stored.", content: problemContent },
    415: { description: "The body is not application/json (UTF-8).", content: problemContent, headers: headers({ Accept: "application/json" }) },
    422: idempotencyResponses[422],
    503: { description: "The new job could not be queued.", content: problemContent, headers: headers({ "Retry-After": "Seconds to wait before retrying." }) },
  },
});

export function registerImportRetryRoute(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("RetryInput", retryInputSchema);

  app.openapi(retryImport, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    idempotencyKey(c);
    const input = hasBody(c.req.raw) ? await readJsonBody(c, retryInputSchema, MAX_RETRY_BODY_BYTES) : {};
    const asked: RetryOptions = {
      currency: input.currency,
      delimiter: input.delimiter === undefined ? undefined : input.delimiter === "tab" ? "\t" : input.delimiter,
      blankCells: input.blank_cells,
      onInvalid: input.on_invalid,
      dryRun: input.dry_run,
    };
    const db = database(c.var.db);
    const response = await idempotent(c, {
      request: ["retry", jobId, input],
      differs: "other job or options",
      run: async () => {
        const job = await getJob(db, c.var.caller.tenantId, jobId);
        if (!job) throw problems.notFound(`No import job with id "${jobId}".`);
        const retry = await retryJob(c.env, db, readConfig(c.env), job, asked);
        switch (retry.kind) {
          case "accepted":
            return { status: 202, body: JSON.stringify(toJobJson(retry.job)) };
          case "not_finished":
            throw notFinished(jobId, job.status);
          case "gone":
            throw fileGone(jobId);
          case "no_file":
            throw noFile(jobId);
          case "nothing":
            throw new ProblemError("conflict", `Import job "${jobId}" has no failed rows: there is nothing to retry.`);
          case "too_large":
            throw problems.tooLarge(`The failed rows of import job "${jobId}"`, retry.maxBytes, "Download them (GET …/failed-rows) and upload them through an upload session.");
          case "refused":
            throw refused(retry.result, { profileIn: "query", format: job.format });
        }
      },
    });
    return jobAccepted(response);
  });
}

/** Whether the request has a body to read (an empty one keeps every option). */
function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return request.body !== null && length !== "0";
}
