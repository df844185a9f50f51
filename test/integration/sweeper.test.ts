// The scheduled sweeper: stuck jobs fail, uploads and finished jobs are deleted after their retention,
// expired idempotency keys go, and nothing unfinished is ever deleted.
// Rows are back-dated relative to the real clock, so a sweep never touches what other tests are doing.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/auth/keys.ts";
import { readConfig } from "../../src/config.ts";
import { database } from "../../src/db/client.ts";
import { insertJob } from "../../src/db/queries/jobs.ts";
import type { JobState as JobStatus } from "../../src/model/job-states.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import worker from "../../src/index.ts";
import { consumerEnv, deliver, jobRecord } from "../consumer-helpers.ts";
import { createTenant, request } from "../helpers.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });

interface JobSpec {
  status: JobStatus;
  /** How long ago the job last made progress. */
  idleMs?: number;
  /** How long ago the job finished (completed/failed only). */
  finishedAgoMs?: number;
  createdAgoMs?: number;
  objectDeleted?: boolean;
  errors?: number;
  processedRows?: number;
  dryRun?: boolean;
}

/** A job row (and its uploaded object, unless deleted) in the given state, back-dated as asked. */
async function seedJob(tenantId: string, spec: JobSpec, now: number): Promise<{ id: string; objectKey: string }> {
  const id = newId("imp");
  const objectKey = `${tenantId}/${id}`;
  const finishedAt = spec.finishedAgoMs === undefined ? null : now - spec.finishedAgoMs;
  const createdAt = now - (spec.createdAgoMs ?? Math.max(spec.idleMs ?? 0, spec.finishedAgoMs ?? 0) + MINUTE);
  if (!spec.objectDeleted) await env.UPLOADS.put(objectKey, "sku,name,price\nA-1,One,1\n");
  await insertJob(database(env.DB), {
    id,
    tenantId,
    status: spec.status,
    format: "csv",
    fileName: null,
    objectKey,
    sizeBytes: 24,
    dryRun: spec.dryRun ?? false,
    processedRows: spec.processedRows ?? 0,
    options: JSON.stringify({ currency: "USD", delimiter: null }),
    createdAt,
    queuedAt: spec.status === "pending" ? null : createdAt,
    startedAt: spec.status === "pending" || spec.status === "queued" ? null : createdAt,
    finishedAt,
    heartbeatAt: finishedAt ?? now - (spec.idleMs ?? 0),
    objectDeletedAt: spec.objectDeleted ? (finishedAt ?? createdAt) : null,
  });
  const errors = Array.from({ length: spec.errors ?? 0 }, (_, seq) =>
    env.DB.prepare(`INSERT INTO import_errors (job_id, seq, line, "column", code, message, value) VALUES (?, ?, ?, 'price', 'invalid_price', 'bad', 'x')`).bind(id, seq, seq + 2),
  );
  if (errors.length > 0) await env.DB.batch(errors);
  return { id, objectKey };
}

async function jobExists(id: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM import_jobs WHERE id = ?").bind(id).first()) !== null;
}

async function errorCount(id: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM import_errors WHERE job_id = ?").bind(id).first<{ n: number }>())!.n;
}

async function objectExists(key: string): Promise<boolean> {
  return (await env.UPLOADS.head(key)) !== null;
}

describe("stuck jobs", () => {
  it("fails pending, queued and processing jobs without progress for longer than STUCK_JOB_MINUTES, and only those", async () => {
    const t = await createTenant();
    const now = Date.now();
    const stuck = 31 * MINUTE;
    const pending = await seedJob(t.tenantId, { status: "pending", idleMs: stuck }, now);
    const queued = await seedJob(t.tenantId, { status: "queued", idleMs: stuck }, now);
    const processing = await seedJob(t.tenantId, { status: "processing", idleMs: stuck }, now);
    const busy = await seedJob(t.tenantId, { status: "processing", idleMs: 29 * MINUTE }, now);
    const waiting = await seedJob(t.tenantId, { status: "queued", idleMs: 29 * MINUTE }, now);
    const completed = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: stuck }, now);

    const report = await sweep(env, config, now);
    expect(report.stuckFailed).toBeGreaterThanOrEqual(3);

    const p = await jobRecord(pending.id);
    expect(p).toMatchObject({ status: "failed", finished_at: now });
    expect(p.failure_reason).toMatch(/upload never completed/);
    for (const job of [queued, processing]) {
      const row = await jobRecord(job.id);
      expect(row).toMatchObject({ status: "failed", finished_at: now, heartbeat_at: now });
      expect(row.failure_reason).toMatch(/no progress for 30 minutes/);
    }
    for (const job of [busy, waiting]) expect((await jobRecord(job.id)).status).not.toBe("failed");
    expect(await jobRecord(completed.id)).toMatchObject({ status: "completed", failure_reason: null });
    // Failing a stuck job deletes nothing: its file stays for the upload retention period.
    expect(await objectExists(processing.objectKey)).toBe(true);
  });

  it("says what the stopped job left behind", async () => {
    const t = await createTenant();
    const now = Date.now();
    const idleMs = 31 * MINUTE;
    const partly = await seedJob(t.tenantId, { status: "processing", idleMs, processedRows: 1200 }, now);
    const one = await seedJob(t.tenantId, { status: "processing", idleMs, processedRows: 1 }, now);
    const none = await seedJob(t.tenantId, { status: "queued", idleMs }, now);
    const dry = await seedJob(t.tenantId, { status: "processing", idleMs, processedRows: 40, dryRun: true }, now);
    await sweep(env, config, now);
    const stopped = "The import made no progress for 30 minutes and was stopped.";
    expect((await jobRecord(partly.id)).failure_reason).toBe(`${stopped} The 1200 rows counted as processed were imported; upload the file again to import the rest.`);
    expect((await jobRecord(one.id)).failure_reason).toBe(`${stopped} The 1 row counted as processed was imported; upload the file again to import the rest.`);
    expect((await jobRecord(none.id)).failure_reason).toBe(`${stopped} Nothing was imported; upload the file again.`);
    expect((await jobRecord(dry.id)).failure_reason).toBe(`${stopped} This was a dry run, so nothing was imported; upload the file again to check it.`);
  });

  it("stops a running import that was failed as stuck: its next slice writes nothing", async () => {
    const t = await createTenant();
    const now = Date.now();
    const job = await seedJob(t.tenantId, { status: "processing", idleMs: 40 * MINUTE }, now);
    await sweep(env, config, now);
    const failed = await jobRecord(job.id);
    expect(failed.status).toBe("failed");
    const consumer = consumerEnv();
    const { result, messageId } = await deliver(consumer.env, { jobId: job.id, checkpointByte: 0 });
    expect(result.explicitAcks).toEqual([messageId]);
    expect(consumer.sent).toEqual([]);
    expect(await jobRecord(job.id)).toEqual(failed);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM products WHERE tenant_id = ?").bind(t.tenantId).first<{ n: number }>())!.n).toBe(0);
  });

  it("uses STUCK_JOB_MINUTES from the configuration", async () => {
    const t = await createTenant();
    const now = Date.now();
    const job = await seedJob(t.tenantId, { status: "processing", idleMs: 6 * MINUTE }, now);
    await sweep(env, readConfig({ ...consumerEnv().env, STUCK_JOB_MINUTES: "10" }), now);
    expect((await jobRecord(job.id)).status).toBe("processing");
    await sweep(env, readConfig({ ...consumerEnv().env, STUCK_JOB_MINUTES: "5" }), now);
    expect(await jobRecord(job.id)).toMatchObject({ status: "failed" });
    expect((await jobRecord(job.id)).failure_reason).toMatch(/no progress for 5 minutes/);
  });
});

describe("retention", () => {
  it("deletes an uploaded file UPLOAD_RETENTION_DAYS after its job finished, keeping the job", async () => {
    const t = await createTenant();
    const now = Date.now();
    const old = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 8 * DAY, errors: 2 }, now);
    const oldFailed = await seedJob(t.tenantId, { status: "failed", finishedAgoMs: 7 * DAY }, now);
    const recent = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 6 * DAY }, now);
    const running = await seedJob(t.tenantId, { status: "processing", idleMs: MINUTE, createdAgoMs: 20 * DAY }, now);

    const report = await sweep(env, config, now);
    expect(report.uploadsDeleted).toBeGreaterThanOrEqual(2);
    for (const job of [old, oldFailed]) {
      expect(await objectExists(job.objectKey)).toBe(false);
      expect(await jobRecord(job.id)).toMatchObject({ object_deleted_at: now });
    }
    expect(await errorCount(old.id)).toBe(2);
    expect(await objectExists(recent.objectKey)).toBe(true);
    expect((await jobRecord(recent.id)).object_deleted_at).toBeNull();
    expect(await objectExists(running.objectKey)).toBe(true);
    expect(await jobRecord(running.id)).toMatchObject({ status: "processing", object_deleted_at: null });

    // A later sweep does not process these jobs' files again.
    await sweep(env, config, now + MINUTE);
    expect(await jobRecord(old.id)).toMatchObject({ object_deleted_at: now });
  });

  it("deletes finished jobs and their errors JOB_RETENTION_DAYS after they finished, never unfinished ones", async () => {
    const t = await createTenant();
    const now = Date.now();
    const expired = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 31 * DAY, errors: 3, objectDeleted: true }, now);
    const expiredWithFile = await seedJob(t.tenantId, { status: "failed", finishedAgoMs: 30 * DAY, errors: 1 }, now);
    const kept = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 29 * DAY, errors: 1, objectDeleted: true }, now);
    // Unfinished and ancient, but still making progress: retention must never touch it.
    const ancientRunning = await seedJob(t.tenantId, { status: "processing", idleMs: MINUTE, createdAgoMs: 90 * DAY, errors: 1 }, now);
    // Unfinished, ancient and stuck: the sweep fails it now, so its retention only starts now.
    const ancientStuck = await seedJob(t.tenantId, { status: "queued", idleMs: 60 * DAY, createdAgoMs: 60 * DAY }, now);

    const report = await sweep(env, config, now);
    expect(report.jobsDeleted).toBeGreaterThanOrEqual(2);
    for (const job of [expired, expiredWithFile]) {
      expect(await jobExists(job.id)).toBe(false);
      expect(await errorCount(job.id)).toBe(0);
      expect(await objectExists(job.objectKey)).toBe(false);
    }
    expect(await jobExists(kept.id)).toBe(true);
    expect(await errorCount(kept.id)).toBe(1);
    expect(await jobRecord(ancientRunning.id)).toMatchObject({ status: "processing" });
    expect(await errorCount(ancientRunning.id)).toBe(1);
    expect(await objectExists(ancientRunning.objectKey)).toBe(true);
    expect(await jobRecord(ancientStuck.id)).toMatchObject({ status: "failed", finished_at: now, object_deleted_at: null });
    expect(await objectExists(ancientStuck.objectKey)).toBe(true);

    // The same jobs through the API: gone, 404.
    const res = await request(`/api/v1/products/import/${expired.id}`, { key: t.key });
    expect(res.status).toBe(404);
  });

  it("deletes more expired jobs than fit in one statement's bound parameters", async () => {
    const t = await createTenant();
    const now = Date.now();
    const jobs: { id: string; objectKey: string }[] = [];
    for (let i = 0; i < 95; i++) jobs.push(await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 40 * DAY, errors: 1 }, now));
    const report = await sweep(env, config, now);
    expect(report.jobsDeleted).toBeGreaterThanOrEqual(95);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM import_jobs WHERE tenant_id = ?").bind(t.tenantId).first<{ n: number }>();
    expect(left!.n).toBe(0);
    for (const job of [jobs[0]!, jobs[89]!, jobs[90]!, jobs[94]!]) {
      expect(await errorCount(job.id)).toBe(0);
      expect(await objectExists(job.objectKey)).toBe(false);
    }
  });
});

describe("idempotency keys", () => {
  it("removes expired keys and keeps live ones", async () => {
    const t = await createTenant();
    const now = Date.now();
    const insert = (key: string, expiresAt: number) =>
      env.DB.prepare("INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at) VALUES (?, ?, 'f', 202, '{}', ?, ?)").bind(
        t.tenantId,
        key,
        expiresAt - DAY,
        expiresAt,
      );
    await env.DB.batch([insert("expired", now - MINUTE), insert("expires-now", now), insert("live", now + MINUTE)]);
    const report = await sweep(env, config, now);
    expect(report.idempotencyKeysDeleted).toBeGreaterThanOrEqual(2);
    const { results } = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE tenant_id = ? ORDER BY key").bind(t.tenantId).all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual(["live"]);
  });
});

describe("scheduled handler", () => {
  it("runs the sweep on the cron trigger", async () => {
    const t = await createTenant();
    const now = Date.now();
    const stuck = await seedJob(t.tenantId, { status: "processing", idleMs: 2 * 60 * MINUTE }, now);
    const expired = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 45 * DAY, errors: 1 }, now);
    const uploadExpired = await seedJob(t.tenantId, { status: "completed", finishedAgoMs: 10 * DAY }, now);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await jobRecord(stuck.id)).status).toBe("failed");
    expect(await jobExists(expired.id)).toBe(false);
    expect(await objectExists(uploadExpired.objectKey)).toBe(false);
    expect((await jobRecord(uploadExpired.id)).object_deleted_at).not.toBeNull();
  });
});
