// The scheduled sweeper: no job stays unfinished forever, and nothing is kept past its retention.
import { lte, sql } from "drizzle-orm";
import type { Config, Env } from "../config.ts";
import { database, type Db } from "../db/client.ts";
import { deleteJobs, failJob, findExpiredJobs, findExpiredUploads, findStuckJobs, markObjectsDeleted } from "../db/queries/jobs.ts";
import { idempotencyKeys } from "../db/schema.ts";
import { stuckReason } from "./failure-reasons.ts";

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

async function failStuckJobs(db: Db, config: Config, now: number): Promise<number> {
  const stuck = await findStuckJobs(db, now - config.stuckJobMs, MAX_PER_RUN);
  let failed = 0;
  for (const job of stuck) if (await failJob(db, job.id, stuckReason(job, config.stuckJobMs / 60_000), now)) failed++;
  return failed;
}

async function deleteExpiredUploads(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await findExpiredUploads(db, now - config.uploadRetentionMs, MAX_PER_RUN);
  for (const part of chunks(expired)) {
    await bucket.delete(part.map((j) => j.objectKey));
    await markObjectsDeleted(db, part.map((j) => j.id), now);
  }
  return expired.length;
}

async function deleteExpiredJobs(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await findExpiredJobs(db, now - config.jobRetentionMs, MAX_PER_RUN);
  for (const part of chunks(expired)) {
    const objects = part.filter((j) => j.objectDeletedAt === null).map((j) => j.objectKey);
    if (objects.length > 0) await bucket.delete(objects);
    await deleteJobs(db, part.map((j) => j.id));
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
