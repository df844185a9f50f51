// Bench-only Worker for `npm run bench:status` (scripts/bench/status.ts); never deployed.
//
// It runs the status route's own query builders (src/db/queries/import-status.ts) and response building
// (statusBody from src/imports/status.ts: JSON body and ETag) with the round-trip structure varied, so the benchmark can
// tell apart what the real route spends on auth, on D1 round trips and on the covering index:
//
//   GET /batch?tenant=<id>              aggregate + recent 5 in ONE db.batch(), tenant id given directly
//   GET /two-calls?tenant=<id>          the same two statements as two awaited D1 calls (two round trips)
//   GET /no-covering-index?tenant=<id>  the /batch work against DB_NOCOV: same data, no import_jobs_tenant_summary
//   GET /floor                          no database: the runtime's own floor (wrangler dev proxy + workerd + HTTP)
//   GET /sql?tenant=<id>&hash=<sha256>  the SQL text and parameters of the statements (for the raw SQLite timing)
//   GET /plan?tenant=<id>&hash=<sha256>&db=DB|DB_NOCOV   EXPLAIN QUERY PLAN of each statement, by workerd's SQLite
//
// Every database variant opens a D1 session like the real route does (requestContext: withSession
// "first-unconstrained" for a GET without bookmark) and answers the very body the real route answers.
//
// It is .mts so that scripts/tsconfig.json (Node types, include ./**/*.ts) does not typecheck it against the
// Node/DOM globals; worker/tsconfig.json checks it against the Workers types.
import { database, type Db } from "../../../../src/db/client.ts";
import { recentJobsQuery, statusAggregateQuery } from "../../../../src/db/queries/import-status.ts";
import { keyByHashQuery, tenantOfKey } from "../../../../src/db/queries/keys.ts";
import { statusBody } from "../../../../src/imports/status.ts";

interface BenchEnv {
  DB: D1Database;
  DB_NOCOV: D1Database;
}

/** The route's default `limit`. */
const LIMIT = 5;

type Groups = Awaited<ReturnType<typeof statusAggregateQuery>>;
type Recent = Awaited<ReturnType<typeof recentJobsQuery>>;

async function statusResponse(groups: Groups, recent: Recent): Promise<Response> {
  const { body, etag } = await statusBody(groups, recent);
  return new Response(body, { headers: { etag, "cache-control": "private, no-cache", "content-type": "application/json" } });
}

function session(d1: D1Database): Db {
  return database(d1.withSession("first-unconstrained"));
}

async function batch(d1: D1Database, tenant: string): Promise<Response> {
  const db = session(d1);
  const [groups, recent] = await db.batch([statusAggregateQuery(db, tenant), recentJobsQuery(db, tenant, LIMIT)]);
  return statusResponse(groups, recent);
}

async function twoCalls(d1: D1Database, tenant: string): Promise<Response> {
  const db = session(d1);
  const groups = await statusAggregateQuery(db, tenant);
  const recent = await recentJobsQuery(db, tenant, LIMIT);
  return statusResponse(groups, recent);
}

interface Statement {
  name: string;
  sql: string;
  params: unknown[];
}

/** The statements as the real route sends them (key lookup + tenant as a key subquery) and with the tenant given directly. */
function statements(tenant: string, hash: string): { direct: Statement[]; route: Statement[] } {
  const db = database({} as D1Database); // only used to build SQL text, never executed
  const text = (name: string, q: { toSQL(): { sql: string; params: unknown[] } }): Statement => ({ name, ...q.toSQL() });
  const scope = tenantOfKey(db, hash, "imports:read");
  return {
    direct: [text("aggregate", statusAggregateQuery(db, tenant)), text("recent", recentJobsQuery(db, tenant, LIMIT))],
    route: [
      text("key", keyByHashQuery(db, hash)),
      text("aggregate", statusAggregateQuery(db, scope)),
      text("recent", recentJobsQuery(db, scope, LIMIT)),
    ],
  };
}

async function plans(d1: D1Database, tenant: string, hash: string): Promise<Response> {
  const { direct, route } = statements(tenant, hash);
  const out: Record<string, string[]> = {};
  for (const [kind, list] of [["direct", direct], ["route", route]] as const) {
    for (const s of list) {
      const plan = await d1
        .prepare(`EXPLAIN QUERY PLAN ${s.sql}`)
        .bind(...s.params)
        .all<{ detail: string }>();
      out[`${kind}.${s.name}`] = plan.results.map((r) => r.detail);
    }
  }
  return Response.json(out);
}

function need(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (!value) throw new Response(`missing ?${name}=`, { status: 400 });
  return value;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      switch (url.pathname) {
        case "/floor":
          return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
        case "/batch":
          return await batch(env.DB, need(url, "tenant"));
        case "/two-calls":
          return await twoCalls(env.DB, need(url, "tenant"));
        case "/no-covering-index":
          return await batch(env.DB_NOCOV, need(url, "tenant"));
        case "/sql":
          return Response.json(statements(need(url, "tenant"), need(url, "hash")));
        case "/plan":
          return await plans(url.searchParams.get("db") === "DB_NOCOV" ? env.DB_NOCOV : env.DB, need(url, "tenant"), need(url, "hash"));
        case "/indexes": {
          const d1 = url.searchParams.get("db") === "DB_NOCOV" ? env.DB_NOCOV : env.DB;
          const rows = await d1.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'import_jobs' ORDER BY name").all<{ name: string }>();
          return Response.json(rows.results.map((r) => r.name));
        }
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (err) {
      if (err instanceof Response) return err;
      return new Response(`bench worker error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { status: 500 });
    }
  },
} satisfies ExportedHandler<BenchEnv>;
