// The benchmarks' own Worker; never deployed. It calls the functions the real route and consumer call, with one
// thing varied at a time, so a benchmark can tell apart what the real path spends where:
//   GET /health                     ready
//   GET /batch?tenant=              status: the route's statements (counters + rollups + recent 5) in one db.batch(),
//                                   tenant given (no key check)
//   GET /aggregate?tenant=          status as it was before the counters (baseline): the grouped COUNT/SUM over the
//                                   tenant's jobs (covering index import_jobs_tenant_summary) + recent 5, one batch
//   GET /floor                      no database: the runtime's own floor
//   GET /one                        one D1 call that does no work (SELECT 1): what a round trip to local D1 costs
//   GET /sql?tenant=&hash=          the statements' SQL and parameters, for the raw SQLite timing
//   GET /plan?tenant=&hash=         EXPLAIN QUERY PLAN of each statement, by workerd's SQLite
//   POST /fill?rows=&chunk=         the consumer's commit (commitChunk) of the import bench's rows, one chunk held
//                                   at a time and no file read: what local D1 alone adds to the runtime's memory
import { count, eq, sql, sum } from "drizzle-orm";
import { database, type Db } from "../../../src/db/client.ts";
import { recentJobsQuery, statusCountersQuery, statusRollupsQuery, toRollups } from "../../../src/db/queries/import-status.ts";
import { insertJob } from "../../../src/db/queries/jobs.ts";
import { keyByHashQuery, tenantOfKey } from "../../../src/db/queries/keys.ts";
import { importJobs } from "../../../src/db/schema.ts";
import { statusBody } from "../../../src/imports/jobs/status.ts";
import { commitChunk } from "../../../src/imports/commit/write.ts";
import { sqlState } from "../../../src/model/job-states.ts";
import { productOf } from "../data.ts";

interface BenchEnv {
  DB: D1Database;
}

/** The route's default `limit`. */
const LIMIT = 5;

/** The status summary's aggregate before the counters: every job of the tenant grouped by status (the baseline). */
function jobsAggregateQuery(db: Db, tenant: string) {
  const completed = sql`${importJobs.status} = ${sql.raw(sqlState("completed"))}`;
  return db
    .select({
      status: importJobs.status,
      jobs: count(),
      errors: sum(importJobs.errorCount).mapWith(Number),
      warnings: sum(importJobs.warningCount).mapWith(Number),
      durationSum: sql<number>`coalesce(sum(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END), 0)`.mapWith(Number),
      durationCount: sql<number>`count(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END)`.mapWith(Number),
    })
    .from(importJobs)
    .where(eq(importJobs.tenantId, tenant))
    .groupBy(importJobs.status);
}

async function statusResponse(mode: "batch" | "aggregate", d1: D1Database, tenant: string) {
  // A GET without bookmark opens its session the way the real route does.
  const db = database(d1.withSession("first-unconstrained"));
  let body: string;
  let etag: string;
  if (mode === "batch") {
    const [groups, rollups, recent] = await db.batch([statusCountersQuery(db, tenant), statusRollupsQuery(db, tenant), recentJobsQuery(db, tenant, LIMIT)]);
    ({ body, etag } = await statusBody(groups, toRollups(rollups[0]), recent, Date.now()));
  } else {
    // The old route's work and answer (no processed rows, no rollups): what the counters replaced.
    const [groups, recent] = await db.batch([jobsAggregateQuery(db, tenant), recentJobsQuery(db, tenant, LIMIT)]);
    ({ body, etag } = await statusBody(
      groups.map((g) => ({ ...g, processedRows: 0 })),
      toRollups(undefined),
      recent,
      Date.now(),
    ));
  }
  return new Response(body, { headers: { etag, "cache-control": "private, no-cache", "content-type": "application/json" } });
}

/** The statements as the route sends them (key lookup, tenant as a key subquery), with the tenant given, and the baseline. */
function statements(tenant: string, hash: string) {
  const db = database({} as D1Database); // builds SQL text only
  const text = (name: string, q: { toSQL(): { sql: string; params: unknown[] } }) => ({ name, ...q.toSQL() });
  const scope = tenantOfKey(db, hash, "imports:read");
  return {
    direct: [text("counters", statusCountersQuery(db, tenant)), text("rollups", statusRollupsQuery(db, tenant)), text("recent", recentJobsQuery(db, tenant, LIMIT))],
    route: [
      text("key", keyByHashQuery(db, hash)),
      text("counters", statusCountersQuery(db, scope)),
      text("rollups", statusRollupsQuery(db, scope)),
      text("recent", recentJobsQuery(db, scope, LIMIT)),
    ],
    aggregate: [text("aggregate", jobsAggregateQuery(db, tenant)), text("recent", recentJobsQuery(db, tenant, LIMIT))],
  };
}

async function plans(d1: D1Database, tenant: string, hash: string) {
  const out: Record<string, string[]> = {};
  for (const [kind, list] of Object.entries(statements(tenant, hash))) {
    for (const s of list) {
      const plan = await d1.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).bind(...s.params).all<{ detail: string }>();
      out[`${kind}.${s.name}`] = plan.results.map((r) => r.detail);
    }
  }
  return out;
}

async function fill(d1: D1Database, total: number, chunkRows: number) {
  const now = Date.now();
  const jobId = `fill-${now}`;
  const tenantId = "baseline";
  await insertJob(database(d1), { id: jobId, tenantId, status: "processing", format: "csv", fileName: null, objectKey: jobId, sizeBytes: total, dryRun: false, options: "{}", createdAt: now, heartbeatAt: now });
  let written = 0;
  for (let start = 0, k = 0; start < total; start += chunkRows, k++) {
    const rows = Array.from({ length: Math.min(chunkRows, total - start) }, (_, i) => ({ ok: true as const, line: start + i + 2, product: productOf(total, start + i + 1), json: null }));
    const ctx = { jobId, tenantId, from: { byte: k, line: k }, storedErrors: 0, maxStoredErrors: 1000, currency: "USD", seq: 1, mentions: null, replace: false, slice: { startedAt: now, startByte: 0 } };
    const result = await commitChunk(d1, ctx, { rows, end: { byte: k + 1, line: k + 1 }, last: false });
    if (!result.applied) throw new Error(`chunk ${k} was not applied`);
    written += result.productsWritten;
  }
  return { products_written: written };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = (name: string) => url.searchParams.get(name) ?? "";
    try {
      switch (url.pathname) {
        case "/health":
        case "/floor":
          return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
        case "/one":
          return Response.json(await env.DB.prepare("SELECT 1 AS one").first());
        case "/batch":
          return await statusResponse("batch", env.DB, q("tenant"));
        case "/aggregate":
          return await statusResponse("aggregate", env.DB, q("tenant"));
        case "/sql":
          return Response.json(statements(q("tenant"), q("hash")));
        case "/plan":
          return Response.json(await plans(env.DB, q("tenant"), q("hash")));
        case "/fill":
          return Response.json(await fill(env.DB, Number(q("rows")), Number(q("chunk"))));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (err) {
      return new Response(`bench worker error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { status: 500 });
    }
  },
} satisfies ExportedHandler<BenchEnv>;
