// The status summary's counters (import_job_counters): equal to a recount of the jobs after every kind of job, every
// transition, sweeper deletions, redeliveries, repeated transitions and crashes between batches; and the sweeper's
// check, which finds a drift, logs it and repairs it. Uploads go through the API, their messages held and delivered here.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { database } from "../../src/db/client.ts";
import { summarize } from "../../src/db/queries/import-status.ts";
import { countersAndRecount, tenantsToCheck } from "../../src/db/queries/job-counters.ts";
import { getJobById, insertJob } from "../../src/db/queries/jobs.ts";
import { auditCounters, counterDrift } from "../../src/imports/jobs/counter-audit.ts";
import { acceptJob, finishJob, startInLine } from "../../src/imports/jobs/lifecycle.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import type { ImportMessage } from "../../src/model/import-message.ts";
import { jobStates } from "../../src/model/job-states.ts";
import { newId } from "../../src/auth/keys.ts";
import { type ConsumerEnv, consumerEnv, createQueuedJob, deliver, drain, failingBatches, requestHeld, runJob, uploadHeld } from "../consumer-helpers.ts";
import { createTenant, request, type TestTenant } from "../helpers.ts";
import { getJob, type Job } from "../imports-helpers.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });
const db = database(env.DB);

const catalogFile = (skus: readonly string[]) => `sku,name,price,stock\n${skus.map((sku) => `${sku},Name ${sku},9.99,1`).join("\n")}\n`;
// Two rejected rows (errors) among four.
const FILE_WITH_ERRORS = "sku,name,price,stock\nE-1,One,1.00,1\nE-2,Two,not-a-price,1\nE-3,Three,3.00,x\nE-4,Four,4.00,4\n";

/** The tenant's counters equal a recount of its jobs, and the status summary says what the recount says; returns the summary's counted figures. */
async function expectExact(t: TestTenant): Promise<Record<string, unknown>> {
  const { counters, recount } = await countersAndRecount(db, t.tenantId);
  expect(counterDrift(counters, recount)).toEqual([]);
  const res = await request("/api/v1/products/import/status?limit=0", { key: t.key });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  const expected = summarize(recount);
  // The rollups no counter keeps (recent durations, the oldest queued job) are read from the jobs themselves.
  const { duration_p50_ms: _p50, duration_p95_ms: _p95, oldest_queued_at: _oldest, oldest_queued_age_ms: _age, ...counted } = body;
  expect(counted).toEqual({
    total: expected.total,
    ...expected.counts,
    errors: expected.errors,
    warnings: expected.warnings,
    avg_duration_ms: expected.avgDurationMs,
    processed_rows: expected.processedRows,
    last_jobs: [],
  });
  return counted;
}

async function importHeld(consumer: ConsumerEnv, t: TestTenant, body: string, query = ""): Promise<Job> {
  const job = await uploadHeld(consumer, t.key, body, query);
  await drain(consumer);
  return getJob(t.key, job.id);
}

/** Back-dates a job (an UPDATE like any other: the triggers keep the counters through it). */
async function backdate(jobId: string, set: string, at: number): Promise<void> {
  await env.DB.prepare(`UPDATE import_jobs SET ${set} WHERE id = ?`).bind(at, jobId).run();
}

describe("status counters", () => {
  it("equal a recount after every kind of job and every transition, sweeper failures and deletions included", async () => {
    const consumer = consumerEnv();
    const t = await createTenant();
    const skus = ["P-1", "P-2", "P-3", "P-4"];
    await expectExact(t);

    expect(await importHeld(consumer, t, catalogFile(skus))).toMatchObject({ status: "completed", created: 4 });
    await expectExact(t);
    expect(await importHeld(consumer, t, FILE_WITH_ERRORS)).toMatchObject({ status: "completed", error_count: 2 });
    expect(await importHeld(consumer, t, FILE_WITH_ERRORS, "?on_invalid=skip_field")).toMatchObject({ status: "completed", warning_count: 1 });
    expect(await importHeld(consumer, t, FILE_WITH_ERRORS, "?dry_run=true")).toMatchObject({ status: "completed", dry_run: true, error_count: 2 });
    expect(await importHeld(consumer, t, "name,colour\nx,y\n")).toMatchObject({ status: "failed" });
    await expectExact(t);

    // Replace mode past max_archive: needs_confirmation; one is confirmed (→ queued → processing → completed).
    const waiting = await importHeld(consumer, t, catalogFile(skus.slice(0, 1)), "?mode=replace&max_archive=0");
    expect(waiting.status).toBe("needs_confirmation");
    await expectExact(t);
    expect((await requestHeld(consumer, `/api/v1/products/import/${waiting.id}/confirm`, { method: "POST", key: t.key })).status).toBe(202);
    await expectExact(t);
    await drain(consumer);
    expect(await getJob(t.key, waiting.id)).toMatchObject({ status: "completed" });
    const unconfirmed = await importHeld(consumer, t, catalogFile(skus.slice(0, 1)), "?mode=replace&max_archive=0&dry_run=true");
    // A dry run counts without archiving: nothing is left to archive, so it completes.
    expect(unconfirmed.status).toBe("completed");
    const expiring = await importHeld(consumer, t, catalogFile(["P-1"]), "?mode=replace&max_archive=0");
    expect(expiring.status).toBe("completed");

    // Jobs in every unfinished state, left behind.
    await uploadHeld(consumer, t.key, catalogFile(["Q-1"]));
    consumer.sent.splice(0);
    const stuck = await createQueuedJob(t.tenantId, catalogFile(["S-1"]));
    const now = Date.now();
    await backdate(stuck, "heartbeat_at = ?", now - 2 * config.stuckJobMs);
    const pendingId = newId("imp");
    await insertJob(db, { id: pendingId, tenantId: t.tenantId, status: "pending", format: "csv", objectKey: `${t.tenantId}/${pendingId}`, sizeBytes: 1, dryRun: false, options: "{}", createdAt: now, heartbeatAt: now });
    const before = await expectExact(t);
    expect(before).toMatchObject({ pending: 1, queued: 2, failed: 1 });

    // The sweeper fails the stuck job and deletes the finished jobs past their retention.
    const finished = (await env.DB.prepare("SELECT id FROM import_jobs WHERE tenant_id = ? AND finished_at IS NOT NULL ORDER BY created_at LIMIT 3").bind(t.tenantId).all<{ id: string }>()).results;
    for (const { id } of finished) await backdate(id, "finished_at = ?", now - config.jobRetentionMs - DAY);
    await expectExact(t);
    const report = await sweep(env, config, now);
    expect(report.stuckFailed).toBeGreaterThanOrEqual(1);
    expect(report.jobsDeleted).toBeGreaterThanOrEqual(3);
    expect(await getJobById(db, stuck)).toMatchObject({ status: "failed" });
    const after = await expectExact(t);
    expect(after).toMatchObject({ total: (before.total as number) - 3, pending: 1 });
    // Every state is in the answer, and the counts add up to the total.
    expect(jobStates.reduce((sum, s) => sum + (after[s] as number), 0)).toBe(after.total);
  });

  it("count a transition once when it is repeated or its message redelivered", async () => {
    const consumer = consumerEnv();
    const t = await createTenant();
    const now = Date.now();
    const id = newId("imp");
    const objectKey = `${t.tenantId}/${id}`;
    await env.UPLOADS.put(objectKey, FILE_WITH_ERRORS);
    await insertJob(db, { id, tenantId: t.tenantId, status: "pending", format: "csv", objectKey, sizeBytes: FILE_WITH_ERRORS.length, dryRun: false, options: JSON.stringify({ currency: "USD", delimiter: null }), createdAt: now, heartbeatAt: now });
    await expectExact(t);
    expect(await acceptJob(consumer.env, db, id)).toMatchObject({ status: "queued" });
    expect(await acceptJob(consumer.env, db, id)).toMatchObject({ status: "queued" });
    consumer.sent.splice(0);
    await expectExact(t);
    // The job runs; every message is delivered twice.
    const messages = await runJob(consumer, id);
    for (const message of messages) await deliver(consumer.env, message);
    expect(await getJobById(db, id)).toMatchObject({ status: "completed", errorCount: 2 });
    expect(await startInLine(db, id)).toBeNull();
    expect(await finishJob(consumer.env, db, (await getJobById(db, id))!, { status: "failed", reason: "late" })).toBeNull();
    expect(await expectExact(t)).toMatchObject({ total: 1, completed: 1, errors: 2 });

    // A second job fails, twice.
    const second = await createQueuedJob(t.tenantId, FILE_WITH_ERRORS);
    expect(await startInLine(db, second)).not.toBeNull();
    const job = (await getJobById(db, second))!;
    expect(await finishJob(consumer.env, db, job, { status: "failed", reason: "first" })).not.toBeNull();
    expect(await finishJob(consumer.env, db, job, { status: "failed", reason: "again" })).toBeNull();
    expect(await expectExact(t)).toMatchObject({ total: 2, completed: 1, failed: 1 });

    // Confirming twice.
    await importHeld(consumer, t, catalogFile(["C-1", "C-2", "C-3"]));
    const waiting = await importHeld(consumer, t, catalogFile(["C-1"]), "?mode=replace&max_archive=0");
    expect(waiting.status).toBe("needs_confirmation");
    const confirm = () => requestHeld(consumer, `/api/v1/products/import/${waiting.id}/confirm`, { method: "POST", key: t.key });
    expect((await confirm()).status).toBe(202);
    expect((await confirm()).status).toBe(202);
    const held = [...consumer.sent];
    await drain(consumer);
    for (const message of held) await deliver(consumer.env, message);
    expect(await expectExact(t)).toMatchObject({ total: 4, completed: 3, failed: 1, needs_confirmation: 0 });
  });

  it("equal a recount whichever batch of a job fails, before its commit or after it (the reply lost)", async () => {
    // 2-row chunks: the file's four rows commit in two batches, its errors with them.
    const BUDGET = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" };
    const counting = failingBatches(env.DB, []);
    const reference = await createTenant();
    await runJob(consumerEnv(BUDGET, counting.db), await createQueuedJob(reference.tenantId, FILE_WITH_ERRORS));
    // The same counts; the durations are the runs' own.
    const { avg_duration_ms: _duration, ...expected } = await expectExact(reference);
    const batches = counting.batchCalls();
    expect(batches).toBeGreaterThanOrEqual(2);

    for (let n = 1; n <= batches; n++) {
      for (const [kind, failing] of [["failed", failingBatches(env.DB, [n]).db], ["reply lost", failingBatches(env.DB, [n], "after").db]] as const) {
        const t = await createTenant();
        const consumer = consumerEnv(BUDGET, failing);
        const jobId = await createQueuedJob(t.tenantId, FILE_WITH_ERRORS);
        await runWithRetries(consumer, jobId);
        const { avg_duration_ms: duration, ...counts } = await expectExact(t);
        expect(counts, `${kind} on batch ${n}`).toEqual(expected);
        expect(duration).toEqual(expect.any(Number));
      }
    }
  });
});

/** Runs the job as the queue would, redelivering every message the consumer asks to retry. */
async function runWithRetries(consumer: ConsumerEnv, jobId: string): Promise<void> {
  const pending: { body: ImportMessage; attempts: number }[] = [{ body: { jobId, checkpointByte: 0 }, attempts: 1 }];
  for (let deliveries = 0; pending.length > 0; deliveries++) {
    if (deliveries > 100) throw new Error("too many deliveries");
    const message = pending.shift()!;
    const before = consumer.sent.length;
    const { result, messageId } = await deliver(consumer.env, message.body, { attempts: message.attempts });
    if (result.retryMessages.some((m) => m.msgId === messageId)) pending.unshift({ body: message.body, attempts: message.attempts + 1 });
    else pending.push(...consumer.sent.slice(before).map((body) => ({ body, attempts: 1 })));
  }
}

describe("the sweeper's check of the counters", () => {
  it("finds a drift, logs it and replaces the tenant's counters with a recount; checks the least recently checked tenants first", async () => {
    const consumer = consumerEnv();
    const drifted = await createTenant();
    const emptied = await createTenant();
    const fine = await createTenant();
    for (const t of [drifted, emptied, fine]) {
      await importHeld(consumer, t, catalogFile(["A-1"]));
      await importHeld(consumer, t, FILE_WITH_ERRORS);
    }
    // Writes around the triggers: a counter changed by hand, a tenant's counter rows gone.
    await env.DB.prepare("UPDATE import_job_counters SET jobs = jobs + 3, errors = errors - 1, processed_rows = processed_rows + 10 WHERE tenant_id = ? AND status = 'completed'").bind(drifted.tenantId).run();
    await env.DB.prepare("DELETE FROM import_job_counters WHERE tenant_id = ?").bind(emptied.tenantId).run();
    const wrong = (await (await request("/api/v1/products/import/status", { key: drifted.key })).json()) as { total: number };
    expect(wrong.total).toBe(5);

    const warnings: Record<string, unknown>[] = [];
    const warn = console.warn;
    console.warn = (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>);
    let report;
    try {
      report = await auditCounters(db, 1000, Date.now());
    } finally {
      console.warn = warn;
    }
    expect(report.countersRepaired).toBe(2);
    expect(report.countersChecked).toBeGreaterThanOrEqual(3);
    expect(warnings.map((w) => w.tenant_id).sort()).toEqual([drifted.tenantId, emptied.tenantId].sort());
    expect(warnings.find((w) => w.tenant_id === drifted.tenantId)).toMatchObject({
      level: "warn",
      msg: "job counters drifted; replaced by a recount",
      drift: [{ status: "completed", counted: { jobs: 5, errors: 1, processedRows: 15 }, recounted: { jobs: 2, errors: 2, processedRows: 5 } }],
    });
    for (const t of [drifted, emptied, fine]) expect(await expectExact(t)).toMatchObject({ total: 2, completed: 2, errors: 2, processed_rows: 5 });
    expect((await auditCounters(db, 1000, Date.now())).countersRepaired).toBe(0);

    // A tenant checked just now goes to the back: one never checked comes first.
    const fresh = await createTenant();
    expect(await tenantsToCheck(db, 1)).toEqual([fresh.tenantId]);
    const swept = await sweep(env, config);
    expect(swept).toMatchObject({ countersChecked: expect.any(Number), countersRepaired: 0 });
    expect(swept.countersChecked).toBeGreaterThanOrEqual(1);
  });
});
