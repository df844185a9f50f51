// The benchmarks' own Worker; never deployed. It calls the functions the real route and consumer call, with one
// thing varied at a time, so a benchmark can tell apart what the real path spends where:
//   GET /batch?tenant=              status: aggregate + recent 5 in one db.batch(), tenant given (no key check)
//   GET /two-calls?tenant=          status: the same two statements as two awaited D1 calls
//   GET /no-covering-index?tenant=  /batch on DB_NOCOV: the same data without import_jobs_tenant_summary
//   GET /floor                      no database: the runtime's own floor
//   GET /sql?tenant=&hash=          the statements' SQL and parameters, for the raw SQLite timing
//   GET /plan?tenant=&hash=&db=     EXPLAIN QUERY PLAN of each statement, by workerd's SQLite
//   GET /indexes?db=                the indexes of import_jobs
//   POST /fill?rows=&chunk=         the consumer's commit (commitChunk) of the import bench's rows, one chunk held
//                                   at a time and no file read: what local D1 alone adds to the runtime's memory
import { database } from "../../../src/db/client.ts";
import { recentJobsQuery, statusAggregateQuery } from "../../../src/db/queries/import-status.ts";
import { insertJob } from "../../../src/db/queries/jobs.ts";
import { keyByHashQuery, tenantOfKey } from "../../../src/db/queries/keys.ts";
import { statusBody } from "../../../src/imports/jobs/status.ts";
import { commitChunk } from "../../../src/imports/commit/write.ts";
import { productOf } from "../data.ts";

interface BenchEnv {
  DB: D1Database;
  DB_NOCOV: D1Database;
}

/** The route's default `limit`. */
const LIMIT = 5;

async function statusResponse(mode: "batch" | "two-calls", d1: D1Database, tenant: string) {
  // A GET without bookmark opens its session the way the real route does.
  const db = database(d1.withSession("first-unconstrained"));
  const [groups, recent] =
    mode === "two-calls"
      ? [await statusAggregateQuery(db, tenant), await recentJobsQuery(db, tenant, LIMIT)]
      : await db.batch([statusAggregateQuery(db, tenant), recentJobsQuery(db, tenant, LIMIT)]);
  const { body, etag } = await statusBody(groups, recent);
  return new Response(body, { headers: { etag, "cache-control": "private, no-cache", "content-type": "application/json" } });
}

/** The statements as the route sends them (key lookup, tenant as a key subquery) and with the tenant given. */
function statements(tenant: string, hash: string) {
  const db = database({} as D1Database); // builds SQL text only
  const text = (name: string, q: { toSQL(): { sql: string; params: unknown[] } }) => ({ name, ...q.toSQL() });
  const scope = tenantOfKey(db, hash, "imports:read");
  return {
    direct: [text("aggregate", statusAggregateQuery(db, tenant)), text("recent", recentJobsQuery(db, tenant, LIMIT))],
    route: [text("key", keyByHashQuery(db, hash)), text("aggregate", statusAggregateQuery(db, scope)), text("recent", recentJobsQuery(db, scope, LIMIT))],
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
    const ctx = { jobId, tenantId, from: { byte: k, line: k }, storedErrors: 0, maxStoredErrors: 1000, currency: "USD" };
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
    const d1 = q("db") === "DB_NOCOV" ? env.DB_NOCOV : env.DB;
    try {
      switch (url.pathname) {
        case "/health":
        case "/floor":
          return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
        case "/batch":
          return await statusResponse("batch", env.DB, q("tenant"));
        case "/two-calls":
          return await statusResponse("two-calls", env.DB, q("tenant"));
        case "/no-covering-index":
          return await statusResponse("batch", env.DB_NOCOV, q("tenant"));
        case "/sql":
          return Response.json(statements(q("tenant"), q("hash")));
        case "/plan":
          return Response.json(await plans(d1, q("tenant"), q("hash")));
        case "/indexes": {
          const rows = await d1.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'import_jobs' ORDER BY name").all<{ name: string }>();
          return Response.json(rows.results.map((r) => r.name));
        }
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
