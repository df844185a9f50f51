import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { database } from "../db/client.ts";
import { recentJobsQuery, statusCountersQuery } from "../db/queries/import-status.ts";
import { keyByHashQuery, tenantOfKey, toKeyRecord } from "../db/queries/keys.ts";
import { authorize } from "../http/auth.ts";
import type { AppEnv } from "../http/context.ts";
import { limitParam } from "../http/pagination.ts";
import { apiRoute, headers } from "../http/route.ts";
import { statusBody, statusSchema } from "../imports/jobs/status.ts";
import { naming } from "../log-error.ts";

const statusQuery = z.object({ limit: limitParam(0, 50, 5).describe("How many of the newest jobs to list, 0 to 50 (default 5).") });

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

const getImportStatus = apiRoute({
  method: "get",
  path: "/api/v1/products/import/status",
  operationId: "getImportStatus",
  summary: "How all of the caller's imports stand",
  description:
    "One D1 round trip (the key check, the counts by status kept per tenant and the newest jobs, in one batch), whose cost does not grow with the number of jobs. Poll with `If-None-Match`: " +
    "an unchanged summary answers 304. Send the last `x-d1-bookmark` back to read at least that fresh (e.g. right after an upload).",
  tag: "Imports",
  scope: "imports:read",
  authorizeInHandler: true,
  request: { query: statusQuery },
  parameters: [
    { name: "If-None-Match", in: "header", required: false, description: "The ETag of a previous response; 304 when the summary has not changed.", schema: { type: "string" } },
  ],
  responses: {
    200: {
      description: "The summary.",
      content: { "application/json": { schema: statusSchema } },
      headers: headers({ ETag: "Strong validator of the body.", "Cache-Control": "private, no-cache" }),
    },
    304: { description: "Not modified since the ETag sent in If-None-Match.", headers: headers({ ETag: "The unchanged ETag.", "Cache-Control": "private, no-cache" }) },
  },
});

export function registerImportStatusRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getImportStatus, async (c) => {
    const query = c.req.valid("query");
    const db = database(c.var.db);
    const { hash, scope } = c.var.deferredKey;
    const tenant = tenantOfKey(db, hash, scope);
    const key = keyByHashQuery(db, hash);
    const aggregate = statusCountersQuery(db, tenant);
    const [keyRows, groups, recent] =
      query.limit > 0
        ? await naming("status summary", db.batch([key, aggregate, recentJobsQuery(db, tenant, query.limit)]))
        : [...(await naming("status summary", db.batch([key, aggregate]))), []];
    authorize((caller) => c.set("caller", caller), toKeyRecord(keyRows[0]), hash, scope);

    const { body, etag } = await statusBody(groups, recent);
    const cache = { etag, "cache-control": "private, no-cache" };
    if (matches(c.req.header("if-none-match"), etag)) return c.body(null, 304, cache);
    return c.body(body, 200, { ...cache, "content-type": "application/json" });
  });
}
