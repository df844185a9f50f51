// The import jobs a tenant has: the newest-first list, one job, and its row errors (JSON pages or a CSV report).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { database, type Db } from "../db/client.ts";
import { listImportErrors } from "../db/queries/import-errors.ts";
import { getJob, listJobs } from "../db/queries/jobs.ts";
import type { AppEnv } from "../http/context.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { problems } from "../http/problem.ts";
import { apiRoute, problemContent, textContent } from "../http/route.ts";
import { errorReportStream } from "../imports/jobs/error-report.ts";
import { jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { jobStates } from "../model/job-states.ts";
import { rowErrorCodeSchema } from "../model/row-error-codes.ts";

export const jobParams = z.object({ job_id: z.string().min(1).max(64).describe("The import job's id.") });

const jobListQuery = z.object({
  status: z.enum(jobStates, { error: `must be one of ${jobStates.join(", ")}` }).optional().describe("Only jobs in this state."),
  limit: limitParam(1, 100, 20),
  cursor: cursorParam(z.tuple([z.number().int(), z.string()])),
});

const errorListQuery = z.object({
  limit: limitParam(1, 1000, 100),
  cursor: cursorParam(z.tuple([z.number().int()])),
});

const rowErrorSchema = z
  .object({
    line: z
      .int()
      .min(1)
      .describe("Physical line where the record starts (the header is line 1); for a revert job's `changed_since_import`, the product's ordinal in the revert."),
    column: z.string().nullable().describe("The column at fault, or null when the row as a whole is."),
    code: rowErrorCodeSchema,
    message: z.string(),
    value: z.string().nullable().describe("The offending value, cut to 200 characters."),
    severity: z
      .enum(["error", "warning"])
      .describe(
        "`error`: the row was not imported; `warning`: it was imported without this field (on_invalid=skip_field), skipped for a reason to fix " +
          "(`variant_without_sku`), or, for a revert job, the product was left as it is (`changed_since_import`).",
      ),
  })
  .meta({ id: "RowError" });

const jobPageSchema = z.object({ data: z.array(jobResponseSchema), next_cursor: z.string().nullable() }).meta({ id: "ImportJobPage" });
const errorPageSchema = z.object({ data: z.array(rowErrorSchema), next_cursor: z.string().nullable() }).meta({ id: "RowErrorPage" });

async function findJobOr404(db: Db, tenantId: string, jobId: string) {
  const job = await getJob(db, tenantId, jobId);
  if (!job) throw problems.notFound(`No import job with id "${jobId}".`);
  return job;
}

const listImports = apiRoute({
  method: "get",
  path: "/api/v1/products/import",
  operationId: "listImports",
  summary: "List import jobs, newest first",
  tag: "Imports",
  scope: "imports:read",
  request: { query: jobListQuery },
  responses: { 200: { description: "A page of jobs.", content: { "application/json": { schema: jobPageSchema } } } },
});

const getImport = apiRoute({
  method: "get",
  path: "/api/v1/products/import/{job_id}",
  operationId: "getImport",
  summary: "Get an import job",
  tag: "Imports",
  scope: "imports:read",
  request: { params: jobParams },
  responses: {
    200: { description: "The job.", content: { "application/json": { schema: jobResponseSchema } } },
    404: { description: "No such job.", content: problemContent },
  },
});

const listImportErrorsRoute = apiRoute({
  method: "get",
  path: "/api/v1/products/import/{job_id}/errors",
  operationId: "listImportErrors",
  summary: "The job's row errors and warnings, in line order",
  description:
    "JSON pages by default. With `Accept: text/csv` the whole stored report streams as CSV (line, column, code, message, value, severity); " +
    "cells that start with = + - @ tab, CR or NUL are prefixed with an apostrophe so spreadsheets do not run them as formulas.",
  tag: "Imports",
  scope: "imports:read",
  request: { params: jobParams, query: errorListQuery },
  responses: {
    200: { description: "Row errors.", content: { "application/json": { schema: errorPageSchema }, ...textContent("text/csv") } },
    404: { description: "No such job.", content: problemContent },
  },
});

export function registerImportListRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listImports, async (c) => {
    const query = c.req.valid("query");
    const rows = await listJobs(database(c.var.db), c.var.caller.tenantId, { limit: query.limit, status: query.status, before: query.cursor });
    const { page, next } = nextCursor(rows, query.limit, (job) => [job.createdAt, job.id]);
    return c.json({ data: page.map(toJobJson), next_cursor: next }, 200);
  });
}

/** Routes under /import/{job_id}; registered after literal /import/… paths such as /import/status. */
export function registerImportJobRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getImport, async (c) => {
    const { job_id: jobId } = c.req.valid("param");
    return c.json(toJobJson(await findJobOr404(database(c.var.db), c.var.caller.tenantId, jobId)), 200);
  });

  app.openapi(listImportErrorsRoute, async (c) => {
    const params = c.req.valid("param");
    const query = c.req.valid("query");
    const db = database(c.var.db);
    const job = await findJobOr404(db, c.var.caller.tenantId, params.job_id);
    if ((c.req.header("accept") ?? "").toLowerCase().includes("text/csv")) {
      const PAGE = 500;
      const stream = errorReportStream(async (afterSeq) => (await listImportErrors(db, job.id, PAGE, afterSeq)).slice(0, PAGE));
      return new Response(stream, {
        headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${job.id}-errors.csv"` },
      });
    }
    const rows = await listImportErrors(db, job.id, query.limit, query.cursor?.[0]);
    const { page, next } = nextCursor(rows, query.limit, (row) => [row.seq]);
    return c.json(
      {
        data: page.map((r) => ({ line: r.line, column: r.column, code: r.code, message: r.message, value: r.value, severity: r.severity })),
        next_cursor: next,
      },
      200,
    );
  });
}
