// The scheduled sweeper: no job stays unfinished forever, no job's end goes unannounced to its tenant's webhook
// endpoints, and nothing is kept past its retention.
import { lte, sql } from "drizzle-orm";
import type { Config, Env } from "../../config.ts";
import { database, type Db } from "../../db/client.ts";
import {
  deleteJobs,
  findExpiredJobs,
  findExpiredKeptRecords,
  findExpiredUploads,
  findLeftoverMentions,
  findStrandedJobs,
  findStuckJobs,
  findUnconfirmedJobs,
  getJobById,
  markObjectsDeleted,
  type KeptRecords,
  purgeKeptRecords,
  purgeMentions,
} from "../../db/queries/jobs.ts";
import { idempotencyKeys } from "../../db/schema.ts";
import { findUnannouncedJobs, purgeDeliveries, takeOverdueDeliveries } from "../../db/queries/webhooks.ts";
import { findAbandonedFetches, finishFetch } from "../../db/queries/feeds.ts";
import { pausedByFailures } from "../../model/feeds.ts";
import { announceJob } from "./announce.ts";
import { auditCounters } from "./counter-audit.ts";
import { stuckReason, unconfirmedReason } from "./failure-reasons.ts";
import { storedKeys } from "./inflated-copy.ts";
import { finishJob, firstMessage } from "./lifecycle.ts";
import { jobObjectKey } from "./upload.ts";
import { expireSessions } from "./upload-session.ts";

// Bounded work per run: the cron comes back in a few minutes for the rest.
const BATCH = 90; // ids per statement, under D1's 100 bound parameters
const MAX_PER_RUN = 900;
// A failed replace-mode dry run of a million rows leaves a million SKU keys, small rows of one table: 20 runs.
const MENTIONS_PER_STATEMENT = 5000;
const MENTIONS_PER_RUN = 50_000;
// An import of a million changed rows keeps a million revisions (or failed records): 10 runs. A job is deleted once they
// are gone.
const KEPT_RECORDS_PER_STATEMENT = 5000;
const KEPT_RECORDS_PER_RUN = 100_000;
// A queued job with nothing ahead of it that has not started this long after it came first (its heartbeat) is sent its
// message again: the one that should have started it was lost. A second message for a job that did start does nothing.
const STRANDED_AFTER_MS = 2 * 60_000;
// A job whose state was not announced this long after it last moved lost its announce (it is made right after the
// state change); a pending webhook delivery this long past its due time lost its message (the queue's own delays are
// shorter than a delivery's recorded one only by the time a message waits in the queue).
const ANNOUNCE_LOST_AFTER_MS = 2 * 60_000;
const DELIVERY_LOST_AFTER_MS = 10 * 60_000;
// A feed fetch still running this long after its timeout would have ended it was cut off with the Worker.
const FETCH_ABANDONED_AFTER_TIMEOUT_MS = 5 * 60_000;
const CUT_OFF_REASON = "The fetch was cut off before it ended (the Worker running it stopped); nothing was imported from it.";
// Tenants whose status counters are compared with a recount per run (see counter-audit.ts).
const COUNTER_CHECKS_PER_RUN = 20;

export interface SweepReport {
  strandedStarted: number;
  stuckFailed: number;
  unconfirmedFailed: number;
  mentionsPurged: number;
  failedRecordsPurged: number;
  revisionsPurged: number;
  uploadsDeleted: number;
  jobsDeleted: number;
  idempotencyKeysDeleted: number;
  uploadSessionsExpired: number;
  countersChecked: number;
  countersRepaired: number;
  jobsAnnounced: number;
  deliveriesResent: number;
  deliveriesPurged: number;
  feedFetchesAbandoned: number;
}

function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function failStuckJobs(env: Env, db: Db, config: Config, now: number): Promise<number> {
  const stuck = await findStuckJobs(db, now - config.stuckJobMs, MAX_PER_RUN);
  let failed = 0;
  for (const job of stuck) if (await finishJob(env, db, job, { status: "failed", reason: stuckReason(job, config.stuckJobMs / 60_000) }, { now })) failed++;
  return failed;
}

/** Replace-mode imports that waited for confirmation past CONFIRMATION_HOURS fail, with nothing archived. */
async function failUnconfirmedJobs(env: Env, db: Db, config: Config, now: number): Promise<number> {
  const unconfirmed = await findUnconfirmedJobs(db, now - config.confirmationMs, MAX_PER_RUN);
  const hours = config.confirmationMs / 3_600_000;
  let failed = 0;
  for (const job of unconfirmed) if (await finishJob(env, db, job, { status: "failed", reason: unconfirmedReason(job, hours) }, { now })) failed++;
  return failed;
}

/**
 * The SKUs that replace-mode dry runs recorded and did not purge (they failed first): at most MENTIONS_PER_RUN a run,
 * MENTIONS_PER_STATEMENT per statement.
 */
async function purgeLeftoverMentions(db: Db): Promise<number> {
  return purgeBounded(await findLeftoverMentions(db, 10), (jobId) => purgeMentions(db, jobId, MENTIONS_PER_STATEMENT), MENTIONS_PER_STATEMENT, MENTIONS_PER_RUN);
}

/**
 * The records of jobs past their retention (their failed rows are gone, a revert of them is a 410 now): at most
 * KEPT_RECORDS_PER_RUN a run.
 */
async function purgeExpiredKeptRecords(db: Db, records: KeptRecords, config: Config, now: number): Promise<number> {
  const jobIds = await findExpiredKeptRecords(db, records, now - config.jobRetentionMs, 10);
  return purgeBounded(jobIds, (jobId) => purgeKeptRecords(db, records, jobId, KEPT_RECORDS_PER_STATEMENT), KEPT_RECORDS_PER_STATEMENT, KEPT_RECORDS_PER_RUN);
}

/** Purges the jobs' rows a statement at a time (`purgeOne`: up to `perStatement` of one job's), at most `perRun` in all. */
async function purgeBounded(jobIds: string[], purgeOne: (jobId: string) => Promise<number>, perStatement: number, perRun: number): Promise<number> {
  let purged = 0;
  for (const jobId of jobIds) {
    for (;;) {
      if (purged >= perRun) return purged;
      const deleted = await purgeOne(jobId);
      purged += deleted;
      if (deleted < perStatement) break;
    }
  }
  return purged;
}

async function startStrandedJobs(env: Env, db: Db, now: number): Promise<number> {
  const stranded = await findStrandedJobs(db, now - STRANDED_AFTER_MS, MAX_PER_RUN);
  for (const part of chunks(stranded)) await env.IMPORT_QUEUE.sendBatch(part.map((job) => ({ body: firstMessage(job) })));
  return stranded.length;
}

async function deleteExpiredUploads(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await findExpiredUploads(db, now - config.uploadRetentionMs, MAX_PER_RUN);
  for (const part of chunks(expired)) {
    // With a compressed file's inflated copy, should a job's end have failed to delete it.
    await bucket.delete(part.flatMap(storedKeys));
    await markObjectsDeleted(db, part.map((j) => j.id), now);
  }
  return expired.length;
}

async function deleteExpiredJobs(db: Db, bucket: R2Bucket, config: Config, now: number): Promise<number> {
  const expired = await findExpiredJobs(db, now - config.jobRetentionMs, MAX_PER_RUN);
  for (const part of chunks(expired)) {
    const objects = part.filter((j) => j.objectDeletedAt === null).flatMap(storedKeys);
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

/** Jobs whose announce was lost are announced (deliveries made already are not made twice: see announce.ts). */
async function announceLostJobs(env: Env, db: Db, now: number): Promise<number> {
  const jobIds = await findUnannouncedJobs(db, now - ANNOUNCE_LOST_AFTER_MS, BATCH);
  for (const jobId of jobIds) await announceJob(env, db, jobId, now);
  return jobIds.length;
}

/** Pending deliveries whose message was lost get a new one. */
async function resendLostDeliveries(env: Env, db: Db, now: number): Promise<number> {
  const ids = await takeOverdueDeliveries(db, now - DELIVERY_LOST_AFTER_MS, now, BATCH);
  if (ids.length > 0) await env.WEBHOOK_QUEUE.sendBatch(ids.map((deliveryId) => ({ body: { deliveryId } })));
  return ids.length;
}

/**
 * Feed fetches the Worker's end cut off. A fetch names its job before it stores the file (src/feeds/run.ts), so what it
 * left is known: a job that was made (the fetch is recorded as having made it), or a file that never became one
 * (deleted; the fetch failed, and counts toward its feed's pause like any failed fetch).
 */
async function settleAbandonedFetches(env: Env, db: Db, config: Config, now: number): Promise<number> {
  const abandoned = await findAbandonedFetches(db, now - config.feedFetchTimeoutMs - FETCH_ABANDONED_AFTER_TIMEOUT_MS, BATCH);
  for (const fetch of abandoned) {
    const job = fetch.jobId === null ? null : await getJobById(db, fetch.jobId);
    if (!job && fetch.jobId !== null) await env.UPLOADS.delete(jobObjectKey(fetch.tenantId, fetch.jobId));
    const end = job ? { outcome: "job_created" as const, jobId: job.id, reason: null } : { outcome: "failed" as const, jobId: null, reason: CUT_OFF_REASON };
    await finishFetch(db, { ...fetch, ...end, finishedAt: now }, {
      succeeded: job !== null,
      pauseAfter: config.feedPauseAfterFailures,
      pauseReason: pausedByFailures(config.feedPauseAfterFailures, CUT_OFF_REASON),
    });
  }
  return abandoned.length;
}

export async function sweep(env: Env, config: Config, now = Date.now()): Promise<SweepReport> {
  const db = database(env.DB);
  const report: SweepReport = {
    // Stuck jobs first: one failed here releases the job behind it, which the next run finds if its message is lost.
    stuckFailed: await failStuckJobs(env, db, config, now),
    unconfirmedFailed: await failUnconfirmedJobs(env, db, config, now),
    strandedStarted: await startStrandedJobs(env, db, now),
    uploadsDeleted: await deleteExpiredUploads(db, env.UPLOADS, config, now),
    mentionsPurged: await purgeLeftoverMentions(db),
    failedRecordsPurged: await purgeExpiredKeptRecords(db, "failedRecords", config, now),
    revisionsPurged: await purgeExpiredKeptRecords(db, "revisions", config, now),
    jobsDeleted: await deleteExpiredJobs(db, env.UPLOADS, config, now),
    idempotencyKeysDeleted: await deleteExpiredIdempotencyKeys(db, now),
    // One batch of ids, and an R2 request or two for each session.
    uploadSessionsExpired: await expireSessions(env, db, now, BATCH),
    // After the deletions, so that a drift they caused shows in this run.
    ...(await auditCounters(db, COUNTER_CHECKS_PER_RUN, now)),
    jobsAnnounced: await announceLostJobs(env, db, now),
    deliveriesResent: await resendLostDeliveries(env, db, now),
    // Kept as long as the jobs they announce.
    deliveriesPurged: await purgeDeliveries(db, now - config.jobRetentionMs, MAX_PER_RUN),
    feedFetchesAbandoned: await settleAbandonedFetches(env, db, config, now),
  };
  console.log(JSON.stringify({ msg: "sweep", ...report }));
  return report;
}
