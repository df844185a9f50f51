// POST …/revert: a revert job gives the products an import changed their values back, archives those it created, and
// keeps (and lists) those that changed since. Uploads and reverts go through the API; their messages are held by a
// recording queue and delivered here, with small budgets so that a revert takes several windows and slices, and D1 can
// fail at any of its batches.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config.ts";
import { database } from "../../src/db/client.ts";
import { auditCounters } from "../../src/imports/jobs/counter-audit.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import type { ImportMessage } from "../../src/model/import-message.ts";
import worker from "../../src/index.ts";
import { revertStatementsForPlans } from "../../src/imports/commit/revert.ts";
import { STORED_COLUMNS } from "../../src/imports/sources/rows.ts";
import { backlog, type ConsumerEnv, consumerEnv, deliver, deliverAcked, drain, failingBatches, productContents, requestHeld, uploadHeld } from "../consumer-helpers.ts";
import { addKey, createTenant, problemOf, type TestTenant } from "../helpers.ts";
import { accepted, getJob, type Job, rowErrors } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";
// A revert of ten products takes two 5-product windows per 10-row slice.
const SLICES = { IMPORT_SLICE_ROWS: "10", IMPORT_CHUNK_ROWS: "5" };
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });

const catalog = `sku,name,price,stock\n${Array.from({ length: 8 }, (_, i) => `P-0${i + 1},Old ${i + 1},9.99,1`).join("\n")}\n`;
// The import to revert: changes P-01…P-06, leaves P-07 as it is, creates N-01…N-04.
const wrongFeed =
  "sku,name,price,stock\n" +
  Array.from({ length: 6 }, (_, i) => `P-0${i + 1},Wrong ${i + 1},1.00,50`).join("\n") +
  "\nP-07,Old 7,9.99,1\n" +
  Array.from({ length: 4 }, (_, i) => `N-0${i + 1},New ${i + 1},5.00,3`).join("\n") +
  "\n";
// A later feed that touches two of the changed products and one of the created ones.
const laterFeed = "sku,stock\nP-02,7\nP-04,7\nN-01,9\n";

function revert(consumer: ConsumerEnv, key: string, id: string, query = ""): Promise<Response> {
  return requestHeld(consumer, `${IMPORT}/${id}/revert${query}`, { method: "POST", key });
}

async function imported(consumer: ConsumerEnv, key: string, body: string, query = ""): Promise<Job> {
  const job = await uploadHeld(consumer, key, body, query);
  await drain(consumer);
  return getJob(key, job.id);
}

/** A tenant with the catalog, the import to revert, and the later feed, all applied. */
async function tenantWithHistory(consumer: ConsumerEnv): Promise<{ t: TestTenant; wrong: Job }> {
  const t = await createTenant();
  await imported(consumer, t.key, catalog);
  const wrong = await imported(consumer, t.key, wrongFeed);
  expect(wrong).toMatchObject({ status: "completed", created: 4, updated: 6, unchanged: 1, keeps_revert_data: true });
  expect(await imported(consumer, t.key, laterFeed)).toMatchObject({ status: "completed", updated: 3 });
  return { t, wrong };
}

async function revisionCount(jobId: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM import_revisions WHERE job_id = ?").bind(jobId).first<{ n: number }>())!.n;
}

/** SKU → [name, price_minor, stock, status, version]. */
async function catalogOf(tenantId: string): Promise<Record<string, [string, number, number, string, number]>> {
  const { results } = await env.DB.prepare("SELECT sku, name, price_minor, stock, status, version FROM products WHERE tenant_id = ? ORDER BY sku_key")
    .bind(tenantId)
    .all<{ sku: string; name: string; price_minor: number; stock: number; status: string; version: number }>();
  return Object.fromEntries(results.map((p) => [p.sku, [p.name, p.price_minor, p.stock, p.status, p.version]]));
}

const REVERTED_CATALOG = {
  "N-01": ["New 1", 500, 9, "active", 2],
  "N-02": ["New 2", 500, 3, "archived", 2],
  "N-03": ["New 3", 500, 3, "archived", 2],
  "N-04": ["New 4", 500, 3, "archived", 2],
  "P-01": ["Old 1", 999, 1, "active", 3],
  "P-02": ["Wrong 2", 100, 7, "active", 3],
  "P-03": ["Old 3", 999, 1, "active", 3],
  "P-04": ["Wrong 4", 100, 7, "active", 3],
  "P-05": ["Old 5", 999, 1, "active", 3],
  "P-06": ["Old 6", 999, 1, "active", 3],
  "P-07": ["Old 7", 999, 1, "active", 1],
  "P-08": ["Old 8", 999, 1, "active", 1],
};

const REVERT_COUNTS = { kind: "revert", status: "completed", processed_rows: 10, total_rows: 10, reverted: 4, archived: 3, kept: 3, warning_count: 3, error_count: 0 };

/** Delivers `setup`'s backlog through `crashing`, and what it sends, each retried message again; returns the retries. */
async function deliverThrough(setup: ConsumerEnv, crashing: ConsumerEnv): Promise<number> {
  let retried = 0;
  for (const pending: ImportMessage[] = backlog(setup); pending.length > 0; ) {
    const message = pending.shift()!;
    const { result } = await deliver(crashing.env, message);
    if (result.retryMessages.length > 0) {
      retried++;
      pending.unshift(message);
    }
    pending.push(...backlog(crashing));
  }
  return retried;
}

async function expectCountersExact(): Promise<void> {
  expect(await auditCounters(database(env.DB), 1000, Date.now())).toMatchObject({ countersRepaired: 0 });
}

describe("POST …/revert", () => {
  it("gives the changed products their values back, archives the created ones, and keeps and lists those a later feed touched", async () => {
    const consumer = consumerEnv(SLICES);
    const { t, wrong } = await tenantWithHistory(consumer);
    // Unchanged rows keep nothing: P-07 has no revision.
    expect(await revisionCount(wrong.id)).toBe(10);

    const res = await revert(consumer, t.key, wrong.id);
    const job = await accepted(res);
    expect(res.headers.get("location")).toBe(`${IMPORT}/${job.id}`);
    expect(job).toMatchObject({ kind: "revert", revert_of: wrong.id, status: "queued", dry_run: false, keeps_revert_data: false });
    const delivered = await drain(consumer);
    expect(delivered.length).toBeGreaterThan(1);

    expect(await getJob(t.key, job.id)).toMatchObject(REVERT_COUNTS);
    expect(await catalogOf(t.tenantId)).toEqual(REVERTED_CATALOG);
    const warnings = await rowErrors(t.key, job.id);
    expect(warnings.map((w) => [w.code, w.severity, w.column, w.value])).toEqual([
      ["changed_since_import", "warning", "sku", "N-01"],
      ["changed_since_import", "warning", "sku", "P-02"],
      ["changed_since_import", "warning", "sku", "P-04"],
    ]);
    // The line is the product's ordinal in the revert (N-01 first, P-02 and P-04 after N-02…N-04 and P-01).
    expect(warnings.map((w) => w.line)).toEqual([1, 6, 8]);

    // Reverted once: a second revert names the first.
    const again = await revert(consumer, t.key, wrong.id);
    expect(again.status).toBe(409);
    expect(await problemOf(again)).toMatchObject({ type: "/problems/conflict", revert_job: job.id });
    // A revert is not itself revertible.
    expect((await revert(consumer, t.key, job.id)).status).toBe(409);
    // The revert job is counted like any job: the summary's counters equal a recount.
    await expectCountersExact();
  });

  it("dry run: counts what it would do and lists what it would keep, writing no product; the revert itself may follow", async () => {
    const consumer = consumerEnv(SLICES);
    const { t, wrong } = await tenantWithHistory(consumer);
    const before = await productContents(t.tenantId);

    const dry = await accepted(await revert(consumer, t.key, wrong.id, "?dry_run=true"));
    // A dry run waits for nobody in the tenant's line.
    expect(dry).toMatchObject({ kind: "revert", dry_run: true, waiting_for: null });
    await drain(consumer);
    expect(await getJob(t.key, dry.id)).toMatchObject({ ...REVERT_COUNTS, dry_run: true });
    expect((await rowErrors(t.key, dry.id)).map((w) => w.value)).toEqual(["N-01", "P-02", "P-04"]);
    expect(await productContents(t.tenantId)).toEqual(before);

    await accepted(await revert(consumer, t.key, wrong.id));
    await drain(consumer);
    expect(await catalogOf(t.tenantId)).toEqual(REVERTED_CATALOG);
  });

  it("a revert canceled midway keeps what it reverted; the next revert resumes after its last window, and the two account for every product", async () => {
    // One 5-product window per slice: the cancel lands between the revert's two windows.
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "5", IMPORT_CHUNK_ROWS: "5" });
    const { t, wrong } = await tenantWithHistory(consumer);
    const first = await accepted(await revert(consumer, t.key, wrong.id));
    expect(first.links.failed_rows).toBeNull();
    const [start] = backlog(consumer);
    const next = await deliverAcked(consumer, start!);
    expect(await getJob(t.key, first.id)).toMatchObject({ status: "processing", processed_rows: 5 });
    expect((await requestHeld(consumer, `${IMPORT}/${first.id}/cancel`, { method: "POST", key: t.key })).status).toBe(202);
    await drain(consumer, next);
    const stopped = await getJob(t.key, first.id);
    expect(stopped).toMatchObject({ status: "canceled", processed_rows: 5 });

    // A revert job reads no file: no failed rows, nothing to retry.
    for (const [path, method] of [["failed-rows", "GET"], ["retry", "POST"]] as const) {
      const res = await requestHeld(consumer, `${IMPORT}/${first.id}/${path}`, { method, key: t.key });
      expect(res.status, path).toBe(409);
      expect((await problemOf(res)).detail, path).toMatch(/is a revert: it reads no file/);
    }

    const rest = await accepted(await revert(consumer, t.key, wrong.id));
    expect(rest).toMatchObject({ kind: "revert", revert_of: wrong.id, status: "queued" });
    await drain(consumer);
    const resumed = await getJob(t.key, rest.id);
    expect(resumed).toMatchObject({ status: "completed", processed_rows: 5, total_rows: 5 });
    // Every product once: what the first reverted is not walked again (nothing reported kept that the first reverted).
    const sum = (k: "reverted" | "archived" | "kept") => stopped[k] + resumed[k];
    expect([sum("reverted"), sum("archived"), sum("kept")]).toEqual([REVERT_COUNTS.reverted, REVERT_COUNTS.archived, REVERT_COUNTS.kept]);
    expect(await catalogOf(t.tenantId)).toEqual(REVERTED_CATALOG);
    const kept = [...(await rowErrors(t.key, first.id)), ...(await rowErrors(t.key, rest.id))].map((w) => w.value);
    expect(kept).toEqual(["N-01", "P-02", "P-04"]);

    // The completed revert stands: a third is refused and names it.
    const again = await revert(consumer, t.key, wrong.id);
    expect(again.status).toBe(409);
    expect(await problemOf(again)).toMatchObject({ revert_job: rest.id });
    await expectCountersExact();
  });

  it("is accepted when its message cannot be sent: the sweeper sends the stranded revert its message again", async () => {
    const consumer = consumerEnv(SLICES);
    const { t, wrong } = await tenantWithHistory(consumer);
    const queue = consumer.env.IMPORT_QUEUE;
    const send = queue.send;
    queue.send = async () => {
      throw new Error("queue unavailable");
    };
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const job = await accepted(await revert(consumer, t.key, wrong.id));
    expect(errors.mock.calls.map(([line]) => JSON.parse(String(line)))).toEqual([expect.objectContaining({ msg: "enqueue failed", job_id: job.id })]);
    errors.mockRestore();
    queue.send = send;
    expect(job).toMatchObject({ kind: "revert", status: "queued", waiting_for: null });
    expect(backlog(consumer)).toEqual([]);

    expect(await sweep(consumer.env, config, Date.now() + 3 * 60_000)).toMatchObject({ strandedStarted: expect.any(Number) });
    await drain(consumer);
    expect(await getJob(t.key, job.id)).toMatchObject(REVERT_COUNTS);
    expect(await catalogOf(t.tenantId)).toEqual(REVERTED_CATALOG);
  });

  it("an import canceled or failed part way is reverted as far as it came", async () => {
    // One 5-row chunk per slice: the cancel lands after the first chunk.
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "5", IMPORT_CHUNK_ROWS: "5" });
    const t = await createTenant();
    await imported(consumer, t.key, catalog);
    const original = await catalogOf(t.tenantId);

    const wrong = await uploadHeld(consumer, t.key, wrongFeed);
    const next = await deliverAcked(consumer, backlog(consumer)[0]!);
    expect((await requestHeld(consumer, `${IMPORT}/${wrong.id}/cancel`, { method: "POST", key: t.key })).status).toBe(202);
    await drain(consumer, next);
    expect(await getJob(t.key, wrong.id)).toMatchObject({ status: "canceled", processed_rows: 5, updated: 5 });
    const undo = await accepted(await revert(consumer, t.key, wrong.id));
    await drain(consumer);
    expect(await getJob(t.key, undo.id)).toMatchObject({ status: "completed", processed_rows: 5, reverted: 5, archived: 0, kept: 0 });
    const names = async () => Object.fromEntries(Object.entries(await catalogOf(t.tenantId)).map(([sku, [name, price, stock, status]]) => [sku, [name, price, stock, status]]));
    const originalNames = Object.fromEntries(Object.entries(original).map(([sku, [name, price, stock, status]]) => [sku, [name, price, stock, status]]));
    expect(await names()).toEqual(originalNames);

    // Six good rows, then a quote that never closes: the rows before that line are imported, and the job fails.
    const broken = `sku,name,price,stock\n${Array.from({ length: 6 }, (_, i) => `P-0${i + 1},Broken ${i + 1},2.00,9`).join("\n")}\nP-07,"never closed,1.00,1\n`;
    const failed = await imported(consumer, t.key, broken);
    expect(failed).toMatchObject({ status: "failed", updated: 6 });
    await accepted(await revert(consumer, t.key, failed.id));
    await drain(consumer);
    expect(await names()).toEqual(originalNames);
  });

  it("a replace-mode import's archived products come back with the revert", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    await imported(consumer, t.key, catalog);
    const sync = await imported(consumer, t.key, "sku,name,price,stock\nP-01,Old 1,9.99,2\n", "?mode=replace&max_archive=100%25");
    expect(sync).toMatchObject({ status: "completed", updated: 1, archived: 7 });
    await accepted(await revert(consumer, t.key, sync.id));
    await drain(consumer);
    const reverted = await catalogOf(t.tenantId);
    expect(Object.values(reverted).map(([, , stock, status]) => [stock, status])).toEqual(Array.from({ length: 8 }, () => [1, "active"]));
  });

  it("is exact after a crash at any of its batches, before or after the batch committed", async () => {
    const reference = consumerEnv(SLICES);
    const { t: refTenant, wrong: refWrong } = await tenantWithHistory(reference);
    const refJob = await accepted(await revert(reference, refTenant.key, refWrong.id));
    await drain(reference);
    const batches = (await getJob(refTenant.key, refJob.id)).processed_rows / 5 + 2;

    for (const when of ["before", "after"] as const) {
      for (let failOn = 1; failOn <= batches; failOn++) {
        const setup = consumerEnv(SLICES);
        const { t, wrong } = await tenantWithHistory(setup);
        const job = await accepted(await revert(setup, t.key, wrong.id));
        const failing = failingBatches(env.DB, [failOn], when);
        const retried = await deliverThrough(setup, consumerEnv(SLICES, failing.db));
        expect(retried, `${when} batch ${failOn}`).toBe(1);
        expect(await getJob(t.key, job.id), `${when} batch ${failOn}`).toMatchObject(REVERT_COUNTS);
        expect(await catalogOf(t.tenantId)).toEqual(REVERTED_CATALOG);
        expect((await rowErrors(t.key, job.id)).map((w) => w.value)).toEqual(["N-01", "P-02", "P-04"]);
      }
    }
    await expectCountersExact();
  });

  it("an import keeps exactly one revision per product it changed, also after a crash at any of its batches", async () => {
    const revisions = async (jobId: string) =>
      (await env.DB.prepare("SELECT sku_key, previous, version FROM import_revisions WHERE job_id = ? ORDER BY sku_key").bind(jobId).all()).results;
    const reference = consumerEnv(SLICES);
    const refTenant = await createTenant();
    await imported(reference, refTenant.key, catalog);
    const refJob = await imported(reference, refTenant.key, wrongFeed);
    const expected = await revisions(refJob.id);
    expect(expected.map((r) => [r.sku_key, r.previous === null])).toEqual([
      ...["n-01", "n-02", "n-03", "n-04"].map((k) => [k, true]),
      ...["p-01", "p-02", "p-03", "p-04", "p-05", "p-06"].map((k) => [k, false]),
    ]);
    expect(JSON.parse(expected.find((r) => r.sku_key === "p-01")!.previous as string)).toEqual(["P-01", "Old 1", null, 999, "USD", 1, "active", null, null, null, null, "[]", null, "{}"]);

    for (const when of ["before", "after"] as const) {
      for (let failOn = 1; failOn <= 3; failOn++) {
        const setup = consumerEnv(SLICES);
        const t = await createTenant();
        await imported(setup, t.key, catalog);
        const job = await uploadHeld(setup, t.key, wrongFeed);
        const retried = await deliverThrough(setup, consumerEnv(SLICES, failingBatches(env.DB, [failOn], when).db));
        expect(retried, `${when} batch ${failOn}`).toBe(1);
        expect(await getJob(t.key, job.id), `${when} batch ${failOn}`).toMatchObject({ status: "completed", created: 4, updated: 6, unchanged: 1 });
        expect((await revisions(job.id)).map((r) => ({ ...r })), `${when} batch ${failOn}`).toEqual(expected.map((r) => ({ ...r })));
      }
    }
  });

  it("404 for a job the tenant does not have, 409 for one that cannot be reverted, 403 without imports:write", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const other = await createTenant();
    const done = await imported(consumer, t.key, catalog);
    expect((await revert(consumer, t.key, "imp_nothing")).status).toBe(404);
    expect((await revert(consumer, other.key, done.id)).status).toBe(404);

    const reader = await addKey(t.tenantId, ["imports:read"]);
    expect((await revert(consumer, reader, done.id)).status).toBe(403);

    const dryImport = await imported(consumer, t.key, catalog, "?dry_run=true");
    const dry = await revert(consumer, t.key, dryImport.id);
    expect(dry.status).toBe(409);
    expect((await problemOf(dry)).detail).toMatch(/dry run/);

    // Not completed: queued behind nothing, not yet run.
    const queued = await uploadHeld(consumer, t.key, catalog);
    const notDone = await revert(consumer, t.key, queued.id);
    expect(notDone.status).toBe(409);
    expect((await problemOf(notDone)).detail).toMatch(/queued/);
    await drain(consumer);

    // An import made while KEEP_REVERT_DATA is off keeps nothing, and cannot be reverted.
    const res = await worker.fetch(
      new Request(`https://api.test${IMPORT}`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.key}`, "content-type": "text/csv", "content-length": String(new TextEncoder().encode(wrongFeed).byteLength) },
        body: wrongFeed,
      }),
      { ...env, KEEP_REVERT_DATA: "false", IMPORT_QUEUE: consumer.env.IMPORT_QUEUE },
      createExecutionContext(),
    );
    const plain = await accepted(res);
    expect(plain.keeps_revert_data).toBe(false);
    await drain(consumer);
    expect(await getJob(t.key, plain.id)).toMatchObject({ status: "completed", created: 4, updated: 6 });
    expect(await revisionCount(plain.id)).toBe(0);
    const noData = await revert(consumer, t.key, plain.id);
    expect(noData.status).toBe(409);
    expect((await problemOf(noData)).detail).toMatch(/no revert data/);
  });

  it("410 once the import's retention is over; the sweeper purges its revisions, then deletes it", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const job = await imported(consumer, t.key, wrongFeed);
    expect(await revisionCount(job.id)).toBe(11);
    const now = Date.now();
    const expired = now - config.jobRetentionMs - 1;
    await env.DB.prepare("UPDATE import_jobs SET finished_at = ?, started_at = ? WHERE id = ?").bind(expired, expired, job.id).run();
    const gone = await revert(consumer, t.key, job.id);
    expect(gone.status).toBe(410);
    expect(await problemOf(gone)).toMatchObject({ type: "/problems/gone", status: 410 });

    const report = await sweep({ ...env, IMPORT_QUEUE: consumer.env.IMPORT_QUEUE }, config, now);
    expect(report.revisionsPurged).toBeGreaterThanOrEqual(11);
    expect(await revisionCount(job.id)).toBe(0);
    expect(report.jobsDeleted).toBeGreaterThanOrEqual(1);
    expect((await revert(consumer, t.key, job.id)).status).toBe(404);
    await expectCountersExact();
  });

  it("records the stored columns the revert restores, finds each product's job by one seek, and reverts a window through primary keys", async () => {
    const trigger = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'import_revisions_update'").first<{ sql: string }>();
    const recorded = /json_array\(([^)]*)\)/.exec(trigger!.sql)?.[1]?.split(",").map((c) => c.trim().replace(/^OLD\.`(.*)`$/, "$1"));
    expect(recorded).toEqual([...STORED_COLUMNS]);

    const plan = async (sql: string, params: unknown[]) =>
      (await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail).join("\n");
    const job = await plan("SELECT j.id FROM import_jobs AS j WHERE j.tenant_id = ? AND j.write_seq = ? AND j.keep_revisions", ["t", 1]);
    expect(job).toMatch(/SEARCH j USING INDEX import_jobs_tenant_write_seq \(tenant_id=\? AND write_seq=\?\)/);
    const params = ["j", "i", "t", "", 5, 0, 100];
    for (const sql of Object.values(revertStatementsForPlans)) {
      const used = Math.max(...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      const detail = await plan(sql, params.slice(0, used));
      expect(detail).toMatch(/SEARCH import_revisions USING PRIMARY KEY \(job_id=\? AND sku_key>\?\)/);
      expect(detail).not.toMatch(/SCAN (products|import_revisions|import_jobs)\b/);
    }
  });
});
