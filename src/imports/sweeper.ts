// The scheduled sweeper: no job stays unfinished forever, and nothing is kept past its retention.
import { and, inArray, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import type { Config, Env } from "../config.ts";
import { database, type Db } from "../db/client.ts";
import { failJob } from "../db/queries/jobs.ts";
import { idempotencyKeys, importErrors, importJobs } from "../db/schema.ts";
import { whatWasKept } from "./consumer.ts";

// Bounded work per run: the cron comes back in a few minutes for the rest.
const BATCH = 90; // ids per statement, under D1's 100 bound parameters
const MAX_PER_RUN = 900;

export interface SweepReport {
  stuckFailed: number;
  uploadsDeleted: number;
  jobsDeleted: number;
  idempotencyKeysDeleted: number;
}

function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function stuckReason(job: { status: string; processedRows: number; dryRun: boolean }, minutes: number): string {
  return job.status === "pending"
    ? "The upload never completed; nothing was imported. Upload the file again."
    : `The import made no progress for ${minutes} minutes and was stopped. ${whatWasKept(job)}`;
}

async function failStuckJobs(db: Db, config: Config, now: number): Promise<number> {
  const stuck = await db
    .select({ id: importJobs.id, status: importJobs.status, processedRows: importJobs.processedRows, dryRun: importJobs.dryRun })
    .from(importJobs)
    .where(and(inArray(importJobs.status, ["pending", "queued", "processing"]), lt(importJobs.heartbeatAt, now - config.stuckJobMs)))
    .limit(MAX_PER_RUN);
  let failed = 0;
  for (const job of stuck) if (await failJob(db, job.id, stuckReason(job, config.stuckJobMs / 60_000), now)) failed++;
  return failed;
}

async function deleteExpiredUploads(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, now - config.uploadRetentionMs), isNull(importJobs.objectDeletedAt)))
    .limit(MAX_PER_RUN);
  for (const part of chunks(expired)) {
    await bucket.delete(part.map((j) => j.objectKey));
    await db.update(importJobs).set({ objectDeletedAt: now }).where(inArray(importJobs.id, part.map((j) => j.id)));
  }
  return expired.length;
}

async function deleteExpiredJobs(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey, objectDeletedAt: importJobs.objectDeletedAt })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, now - config.jobRetentionMs)))
    .limit(MAX_PER_RUN);
  for (const part of chunks(expired)) {
    const objects = part.filter((j) => j.objectDeletedAt === null).map((j) => j.objectKey);
    if (objects.length > 0) await bucket.delete(objects);
    const ids = part.map((j) => j.id);
    await db.batch([db.delete(importErrors).where(inArray(importErrors.jobId, ids)), db.delete(importJobs).where(inArray(importJobs.id, ids))]);
  }
  return expired.length;
}

async function deleteExpiredIdempotencyKeys(db: Db, now: number): Promise<number> {
  // rowid keeps the delete bounded (SQLite's DELETE … LIMIT is not compiled into D1).
  const expired = db
    .select({ rowid: sql`rowid` })
    .from(idempotencyKeys)
    .where(lte(idempotencyKeys.expiresAt, now))
    .limit(MAX_PER_RUN);
  const result = await db.run(sql`DELETE FROM ${idempotencyKeys} WHERE rowid IN ${expired}`);
  return result.meta.changes ?? 0;
}

export async function sweep(env: Env, config: Config, now = Date.now()): Promise<SweepReport> {
  const db = database(env.DB);
  const report = {
    stuckFailed: await failStuckJobs(db, config, now),
    uploadsDeleted: await deleteExpiredUploads(db, env.UPLOADS, config, now),
    jobsDeleted: await deleteExpiredJobs(db, env.UPLOADS, config, now),
    idempotencyKeysDeleted: await deleteExpiredIdempotencyKeys(db, now),
  };
  console.log(JSON.stringify({ msg: "sweep", ...report }));
  return report;
}
