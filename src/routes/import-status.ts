import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { database } from "../db/client.ts";
import { recentJobsQuery, statusCountersQuery, statusRollupsQuery, toRollups } from "../db/queries/import-status.ts";
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
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((tag) => opaque(tag) === opaque(etag));
}

const getImportStatus = apiRoute({
  method: "get",
  path: "/api/v1/products/import/status",
  operationId: "getImportStatus",
  summary: "How all of the caller's imports stand",
  description:
    "One D1 round trip (the key check, the counts by status kept per tenant, the recent durations and the oldest queued job, and the newest jobs, in one batch), whose cost does not grow with the number of jobs. Poll with `If-None-Match`: " +
    "an unchanged summary answers 304 (the weak ETag leaves out `oldest_queued_age_ms`, which moves with the clock alone). Send the last `x-d1-bookmark` back to read at least that fresh (e.g. right after an upload).",
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
      headers: headers({ ETag: "Weak validator of the body (every field but oldest_queued_age_ms).", "Cache-Control": "private, no-cache" }),
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
    const rollups = statusRollupsQuery(db, tenant);
    const [keyRows, groups, rollupRows, recent] =
      query.limit > 0
        ? await naming("status summary", db.batch([key, aggregate, rollups, recentJobsQuery(db, tenant, query.limit)]))
        : [...(await naming("status summary", db.batch([key, aggregate, rollups]))), []];
    authorize((caller) => c.set("caller", caller), toKeyRecord(keyRows[0]), hash, scope);

    const { body, etag } = await statusBody(groups, toRollups(rollupRows[0]), recent, Date.now());
    const cache = { etag, "cache-control": "private, no-cache" };
    if (matches(c.req.header("if-none-match"), etag)) return c.body(null, 304, cache);
    return c.body(body, 200, { ...cache, "content-type": "application/json" });
  });
}
