import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { database } from "../../src/db/client.ts";
import { DURATION_SAMPLE_JOBS, recentJobsQuery, statusCountersQuery, statusRecountQuery, statusRollupsQuery } from "../../src/db/queries/import-status.ts";
import { tenantOfKey } from "../../src/db/queries/keys.ts";
import { hashKey, newId } from "../../src/auth/keys.ts";
import { addKey, createTenant, problemOf, request, revokeKey } from "../helpers.ts";
import { upload } from "../imports-helpers.ts";

const STATUS = "/api/v1/products/import/status";

interface SeedJob {
  status: "pending" | "queued" | "processing" | "completed" | "failed";
  createdAt: number;
  errorCount?: number;
  startedAt?: number | null;
  finishedAt?: number | null;
  queuedAt?: number | null;
  processedRows?: number;
  id?: string;
}

async function seedJobs(tenantId: string, jobs: SeedJob[]): Promise<string[]> {
  const ids = jobs.map((j) => j.id ?? newId("imp"));
  const statements = jobs.map((j, i) =>
    env.DB.prepare(
      `INSERT INTO import_jobs (id, tenant_id, status, format, object_key, size_bytes, dry_run, options, created_at, heartbeat_at, error_count, started_at, finished_at, queued_at, processed_rows)
       VALUES (?, ?, ?, 'csv', ?, 10, 0, '{"currency":"USD","delimiter":null}', ?, ?, ?, ?, ?, ?, ?)`,
    ).bind(ids[i], tenantId, j.status, `${tenantId}/${ids[i]}`, j.createdAt, j.createdAt, j.errorCount ?? 0, j.startedAt ?? null, j.finishedAt ?? null, j.queuedAt ?? null, j.processedRows ?? 0),
  );
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
  return ids;
}

interface Status {
  total: number;
  pending: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  errors: number;
  avg_duration_ms: number | null;
  processed_rows: number;
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
  oldest_queued_at: string | null;
  oldest_queued_age_ms: number | null;
  last_jobs: { id: string; status: string; created_at: string }[];
}

async function status(key: string, query = "", headers: Record<string, string> = {}): Promise<Status> {
  const res = await request(`${STATUS}${query}`, { key, headers });
  expect(res.status).toBe(200);
  return res.json();
}

describe("GET /api/v1/products/import/status", () => {
  it("401 without a key, with a malformed, unknown or revoked key; 403 without imports:read", async () => {
    const t = await createTenant(["imports:read"]);
    const none = await request(STATUS);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await request(STATUS, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect((await request(STATUS, { headers: { authorization: `Bearer pik_${"z".repeat(32)}` } })).status).toBe(401);
    const revoked = await addKey(t.tenantId, ["imports:read"]);
    await revokeKey(revoked);
    const r = await request(STATUS, { key: revoked });
    expect(r.status).toBe(401);
    expect(await problemOf(r)).toMatchObject({ type: "/problems/unauthorized" });
    const writer = await addKey(t.tenantId, ["imports:write", "products:read"]);
    const forbidden = await request(STATUS, { key: writer });
    expect(forbidden.status).toBe(403);
    expect(await problemOf(forbidden)).toMatchObject({ type: "/problems/insufficient-scope", required_scope: "imports:read" });
  });

  it("counts every state, sums errors, averages completed durations and lists the newest 5", async () => {
    const t = await createTenant(["imports:read"]);
    const base = Date.parse("2026-11-01T00:00:00Z");
    await seedJobs(t.tenantId, [
      { status: "pending", createdAt: base + 1 },
      { status: "queued", createdAt: base + 2 },
      { status: "processing", createdAt: base + 3, startedAt: base + 3, errorCount: 4 },
      { status: "processing", createdAt: base + 4, startedAt: base + 4 },
      { status: "completed", createdAt: base + 5, startedAt: base + 10, finishedAt: base + 1010, errorCount: 10 },
      { status: "completed", createdAt: base + 6, startedAt: base + 10, finishedAt: base + 3010, errorCount: 0 },
      { status: "completed", createdAt: base + 7, startedAt: base + 10, finishedAt: base + 2011, errorCount: 23 },
      { status: "failed", createdAt: base + 8, startedAt: base + 10, finishedAt: base + 99_999, errorCount: 1 },
    ]);
    const body = await status(t.key);
    expect(body).toMatchObject({ total: 8, pending: 1, queued: 1, processing: 2, completed: 3, failed: 1, errors: 38 });
    // (1000 + 3000 + 2001) / 3 = 2000.33…; failed jobs do not count.
    expect(body.avg_duration_ms).toBe(2000);
    expect(body.last_jobs.map((j) => j.created_at)).toEqual([8, 7, 6, 5, 4].map((d) => new Date(base + d).toISOString()));
    expect(body.last_jobs[0]).toMatchObject({ status: "failed", links: expect.any(Object), duration_ms: 99_989 });
  });

  it("sums processed rows, takes duration percentiles over the latest completed jobs and ages the oldest queued job", async () => {
    const t = await createTenant(["imports:read"]);
    const base = Date.parse("2026-11-01T00:00:00Z");
    // Older completed jobs that last 1 s and, finished after them, DURATION_SAMPLE_JOBS that last 1…N ms: only the latter count.
    const older = Array.from({ length: 20 }, (_, i) => ({ status: "completed" as const, createdAt: base + i, startedAt: base, finishedAt: base + 1000 + i, processedRows: 2 }));
    const latest = Array.from({ length: DURATION_SAMPLE_JOBS }, (_, i) => ({
      status: "completed" as const,
      createdAt: base + 100 + i,
      startedAt: base + 10_000 + i * 10,
      finishedAt: base + 10_000 + i * 10 + i + 1,
      processedRows: 3,
    }));
    await seedJobs(t.tenantId, [
      ...older,
      ...latest,
      { status: "failed", createdAt: base + 1, startedAt: base + 1, finishedAt: base + 9_999_999, processedRows: 7 },
      { status: "queued", createdAt: base + 5, queuedAt: base + 6 },
      { status: "queued", createdAt: base + 3, queuedAt: base + 4 },
      { status: "processing", createdAt: base + 2, queuedAt: base + 2, startedAt: base + 2, processedRows: 11 },
    ]);
    const before = Date.now();
    const body = await status(t.key, "?limit=0");
    expect(body).toMatchObject({
      total: 20 + DURATION_SAMPLE_JOBS + 4,
      processed_rows: 20 * 2 + DURATION_SAMPLE_JOBS * 3 + 7 + 11,
      // Nearest rank over 1…N ms.
      duration_p50_ms: Math.ceil(0.5 * DURATION_SAMPLE_JOBS),
      duration_p95_ms: Math.ceil(0.95 * DURATION_SAMPLE_JOBS),
      oldest_queued_at: new Date(base + 4).toISOString(),
    });
    expect(body.oldest_queued_age_ms).toBeGreaterThanOrEqual(before - (base + 4));
  });

  it("has every count at 0 and a null average for a tenant without jobs", async () => {
    const t = await createTenant(["imports:read"]);
    expect(await status(t.key)).toEqual({
      total: 0, pending: 0, queued: 0, processing: 0, needs_confirmation: 0, completed: 0, failed: 0, canceled: 0, errors: 0, warnings: 0, avg_duration_ms: null,
      processed_rows: 0, duration_p50_ms: null, duration_p95_ms: null, oldest_queued_at: null, oldest_queued_age_ms: null, last_jobs: [],
    });
  });

  it("honours limit 0 (counts only) and 50", async () => {
    const t = await createTenant(["imports:read"]);
    await seedJobs(t.tenantId, Array.from({ length: 60 }, (_, i) => ({ status: "completed" as const, createdAt: 1_000 + i, startedAt: 1_000, finishedAt: 2_000 })));
    const zero = await status(t.key, "?limit=0");
    expect(zero).toMatchObject({ total: 60, completed: 60, avg_duration_ms: 1000, last_jobs: [] });
    const fifty = await status(t.key, "?limit=50");
    expect(fifty.last_jobs).toHaveLength(50);
    expect(fifty.last_jobs[0]?.created_at).toBe(new Date(1_059).toISOString());
  });

  it("breaks ties on created_at by id, newest first", async () => {
    const t = await createTenant(["imports:read"]);
    await seedJobs(t.tenantId, [
      { status: "queued", createdAt: 5_000, id: "imp_aaa" },
      { status: "queued", createdAt: 5_000, id: "imp_ccc" },
      { status: "queued", createdAt: 5_000, id: "imp_bbb" },
      { status: "queued", createdAt: 4_000, id: "imp_zzz" },
    ]);
    expect((await status(t.key)).last_jobs.map((j) => j.id)).toEqual(["imp_ccc", "imp_bbb", "imp_aaa", "imp_zzz"]);
  });

  for (const [bad, message] of [...["-1", "51", "1.5", "abc", "", "1e1"].map((b) => [b, "must be an integer from 0 to 50"]), ["5&limit=6", "is given 2 times; give it once"]]) {
    it(`400 naming limit and what is wrong for limit=${bad}`, async () => {
      const t = await createTenant(["imports:read"]);
      const res = await request(`${STATUS}?limit=${bad}`, { key: t.key });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.errors).toEqual([{ location: "query", name: "limit", message }]);
    });
  }

  it("counts and lists only the caller's tenant", async () => {
    const a = await createTenant(["imports:read"]);
    const b = await createTenant(["imports:read"]);
    await seedJobs(a.tenantId, [{ status: "failed", createdAt: 1, errorCount: 7 }]);
    await seedJobs(b.tenantId, [{ status: "completed", createdAt: 2, startedAt: 2, finishedAt: 4 }]);
    expect(await status(a.key)).toMatchObject({ total: 1, failed: 1, completed: 0, errors: 7, avg_duration_ms: null });
    const other = await status(b.key);
    expect(other).toMatchObject({ total: 1, completed: 1, errors: 0, avg_duration_ms: 2 });
    expect(other.last_jobs).toHaveLength(1);
  });

  it("is not taken for a job id, and job ids still resolve", async () => {
    const t = await createTenant(["imports:read", "imports:write"]);
    const body = await status(t.key);
    expect(body).toHaveProperty("total");
    const created = await upload(t.key, "sku,name,price\nA,B,1\n");
    const job = (await created.json()) as { id: string };
    const res = await request(`/api/v1/products/import/${job.id}`, { key: t.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: job.id });
  });

  it("answers 304 to a matching If-None-Match and a new ETag once something changed", async () => {
    const t = await createTenant(["imports:read"]);
    // A queued job: its age moves with the clock, and the ETag leaves it out.
    await seedJobs(t.tenantId, [{ status: "queued", createdAt: 10, queuedAt: 10 }]);
    const first = await request(STATUS, { key: t.key });
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^W\/"[0-9a-f]{32}"$/);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const again = await request(STATUS, { key: t.key, headers: { "if-none-match": etag ?? "" } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect((await request(STATUS, { key: t.key, headers: { "if-none-match": '"other", ' + etag } })).status).toBe(304);
    // A client may send the tag without its weak prefix.
    expect((await request(STATUS, { key: t.key, headers: { "if-none-match": (etag ?? "").replace(/^W\//, "") } })).status).toBe(304);
    await seedJobs(t.tenantId, [{ status: "queued", createdAt: 11 }]);
    const changed = await request(STATUS, { key: t.key, headers: { "if-none-match": etag ?? "" } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("reads its own writes with the bookmark an upload returned", async () => {
    const t = await createTenant(["imports:read", "imports:write"]);
    const created = await upload(t.key, "sku,name,price\nA,B,1\n");
    const bookmark = created.headers.get("x-d1-bookmark");
    expect(bookmark).toBeTruthy();
    const res = await request(STATUS, { key: t.key, headers: { "x-d1-bookmark": bookmark ?? "" } });
    expect(res.headers.get("x-d1-bookmark")).toBeTruthy();
    const body = (await res.json()) as Status;
    expect(body.total).toBe(1);
  });

  it("makes exactly one D1 round trip: one batch, no other call", async () => {
    const t = await createTenant(["imports:read"]);
    await seedJobs(t.tenantId, [{ status: "completed", createdAt: 1, startedAt: 1, finishedAt: 2 }]);
    const calls: string[] = [];
    const instrument = (target: D1Database | D1DatabaseSession) =>
      new Proxy(target, {
        get(obj, prop) {
          const value = Reflect.get(obj, prop) as unknown;
          if (typeof value !== "function") return value;
          if (prop === "prepare") {
            return (query: string) => {
              const stmt = (value as (q: string) => D1PreparedStatement).call(obj, query);
              // A statement run on its own is a round trip; inside batch() it is not.
              for (const run of ["first", "all", "run", "raw"] as const) {
                const original = stmt[run].bind(stmt) as (...a: unknown[]) => unknown;
                (stmt as unknown as Record<string, unknown>)[run] = (...args: unknown[]) => {
                  calls.push(run);
                  return original(...args);
                };
              }
              return stmt;
            };
          }
          if (prop === "withSession") return (...args: unknown[]) => instrument((value as (...a: unknown[]) => D1DatabaseSession).apply(obj, args));
          return (...args: unknown[]) => {
            if (prop === "batch" || prop === "exec") calls.push(String(prop));
            return (value as (...a: unknown[]) => unknown).apply(obj, args);
          };
        },
      });
    const app = createApp();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await app.fetch(new Request(`https://api.test${STATUS}`, { headers: { authorization: `Bearer ${t.key}` } }), { ...env, DB: instrument(env.DB) }, ctx);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Status).completed).toBe(1);
    expect(calls).toEqual(["batch"]);

    calls.length = 0;
    const zero = await app.fetch(new Request(`https://api.test${STATUS}?limit=0`, { headers: { authorization: `Bearer ${t.key}` } }), { ...env, DB: instrument(env.DB) }, ctx);
    expect(zero.status).toBe(200);
    expect(calls).toEqual(["batch"]);
  });

  it("uses the indexes: no table scan, no temporary B-tree; the summary reads counter rows, not jobs", async () => {
    const db = database(env.DB);
    const tenant = tenantOfKey(db, await hashKey(`pik_${"a".repeat(32)}`), "imports:read");
    const planOf = async (query: { toSQL(): { sql: string; params: unknown[] } }) => {
      const { sql, params } = query.toSQL();
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>();
      return plan.results.map((r) => r.detail);
    };
    for (const query of [recentJobsQuery(db, tenant, 5), recentJobsQuery(db, "ten_x", 5), statusRecountQuery(db, tenant), statusRecountQuery(db, "ten_x")]) {
      const details = await planOf(query);
      const jobsSteps = details.filter((d) => d.includes("import_jobs"));
      expect(jobsSteps.length).toBeGreaterThan(0);
      // A queued job's waiting_for is one seek into its tenant's line.
      for (const step of jobsSteps) {
        expect(step).toMatch(
          /^SEARCH import_jobs USING (COVERING )?INDEX import_jobs_tenant_(summary|recent) \(tenant_id=\?\)$|^SEARCH p USING INDEX import_jobs_tenant_line \(tenant_id=\? AND line_seq>\? AND line_seq<\?\)$/,
        );
      }
      expect(details.join("\n")).not.toMatch(/SCAN import_jobs|TEMP B-TREE/);
    }
    expect((await planOf(statusRecountQuery(db, "t"))).join("\n")).toContain("INDEX import_jobs_tenant_summary (tenant_id=?)");
    // The rollups: a bounded walk of the tenant's completed jobs and one seek for its oldest queued job, each in its
    // partial index (the recent durations already in finished_at order: no sort).
    for (const query of [statusRollupsQuery(db, tenant), statusRollupsQuery(db, "ten_x")]) {
      const details = (await planOf(query)).join("\n");
      expect(details).toMatch(/SEARCH import_jobs USING COVERING INDEX import_jobs_tenant_completed \(tenant_id=\?/);
      expect(details).toMatch(/SEARCH import_jobs USING COVERING INDEX import_jobs_tenant_queued \(tenant_id=\?/);
      expect(details).not.toMatch(/SCAN import_jobs|TEMP B-TREE/);
    }
    for (const query of [statusCountersQuery(db, tenant), statusCountersQuery(db, "ten_x")]) {
      const details = (await planOf(query)).join("\n");
      // The tenant's counter rows through the primary key, already in status order: nothing of import_jobs.
      expect(details).toMatch(/SEARCH import_job_counters USING INDEX sqlite_autoindex_import_job_counters_1 \(tenant_id=\?\)/);
      expect(details).not.toMatch(/import_jobs\b|SCAN|TEMP B-TREE/);
    }
  });
});
