import { and, desc, eq, getTableColumns, inArray, isNotNull, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { shorten } from "../../text.ts";
import { importErrors, importFailedRecords, importJobs, importMentions, importRevisions, lineCondition } from "../schema.ts";
import { cancelableAtOnce, type JobState, progressingStates, sqlState, statesBefore, statusIn, stoppedStates } from "../../model/job-states.ts";
import type { ReplacePhase } from "../../model/import-mode.ts";
import { naming } from "../../log-error.ts";

export type JobRow = typeof importJobs.$inferSelect;
export type NewJob = typeof importJobs.$inferInsert;
/** A job as the API shows it: its row (without the inflate's working state), and the job of its tenant's line that it waits for. */
export type JobView = Omit<JobRow, "inflateCheckpoint"> & { waitingFor: string | null };

/**
 * The job directly ahead of a queued job in its tenant's line, or null: it is next (or a dry run, which waits for
 * nobody). One seek into the line's partial index.
 */
const waitingFor = sql<string | null>`CASE WHEN import_jobs.status = ${sql.raw(sqlState("queued"))} THEN (
  SELECT p.id FROM import_jobs AS p
  WHERE p.tenant_id = import_jobs.tenant_id AND ${sql.raw(lineCondition("p"))} AND p.line_seq < import_jobs.line_seq
  ORDER BY p.line_seq DESC LIMIT 1) END`;

/** The columns every query that shows jobs selects: not the inflate's checkpoint, tens of kilobytes while it runs. */
const { inflateCheckpoint: _inflateCheckpoint, ...shownColumns } = getTableColumns(importJobs);
export const jobViewColumns = { ...shownColumns, waitingFor };

/**
 * Whether a statement that writes one job changed it. D1's meta.changes counts every row the statement changed, the
 * status counters its triggers keep included (import_job_counters): a job updated reports 1 + its counter rows, a job
 * left alone by its guard 0.
 */
export function changedJob(result: { meta: { changes?: number } } | undefined): boolean {
  return (result?.meta.changes ?? 0) > 0;
}

/** The states a job may move to `to` from, as a drizzle condition. */
const movesTo = (to: JobState) => inArray(importJobs.status, statesBefore(to));

export async function insertJob(db: Db, job: NewJob): Promise<JobRow> {
  const [row] = await db.insert(importJobs).values(job).returning();
  if (!row) throw new Error("job insert returned nothing");
  return row;
}

/** Inserts the job unless a job with its id exists; null then. */
export async function insertJobOnce(db: Db, job: NewJob): Promise<JobRow | null> {
  const [row] = await db.insert(importJobs).values(job).onConflictDoNothing({ target: importJobs.id }).returning();
  return row ?? null;
}

/** Inserts a revert job unless its import has a revert already (the unique index on revert_of); null then. */
export async function insertRevertJob(db: Db, job: NewJob): Promise<JobRow | null> {
  const [row] = await db.insert(importJobs).values(job).onConflictDoNothing().returning();
  return row ?? null;
}

/**
 * Where an import's reverts stand: its standing revert (one at most, the partial unique index), or else the furthest
 * a stopped one came (the cursor a new revert resumes from; "" when none). One seek into import_jobs_reverts.
 */
export async function findReverts(db: Db, importId: string): Promise<{ standing: string | null; resumeFrom: string }> {
  const stopped = sql.raw(statusIn(stoppedStates));
  const [row] = await db
    .select({ id: importJobs.id, stopped: sql<number>`${stopped}`, cursor: importJobs.revertCursor })
    .from(importJobs)
    .where(and(eq(importJobs.revertOf, importId), isNotNull(importJobs.revertOf), eq(importJobs.dryRun, false)))
    .orderBy(sql`${stopped}`, desc(importJobs.revertCursor))
    .limit(1);
  if (!row) return { standing: null, resumeFrom: "" };
  return row.stopped ? { standing: null, resumeFrom: row.cursor } : { standing: row.id, resumeFrom: "" };
}

export async function getJob(db: Db, tenantId: string, jobId: string): Promise<JobView | null> {
  const [row] = await db
    .select(jobViewColumns)
    .from(importJobs)
    .where(and(eq(importJobs.tenantId, tenantId), eq(importJobs.id, jobId)))
    .limit(1);
  return row ?? null;
}

/** The job without tenant scoping: for the queue consumer, whose messages come from our own producer. */
export async function getJobById(db: Db, jobId: string): Promise<JobRow | null> {
  const [row] = await db.select().from(importJobs).where(eq(importJobs.id, jobId)).limit(1);
  return row ?? null;
}

export function listJobs(
  db: Db,
  tenantId: string,
  filter: { limit: number; status?: JobState; before?: readonly [number, string] },
): Promise<JobView[]> {
  const conditions: (SQL | undefined)[] = [eq(importJobs.tenantId, tenantId)];
  if (filter.status) conditions.push(eq(importJobs.status, filter.status));
  if (filter.before) {
    const [createdAt, id] = filter.before;
    conditions.push(or(lt(importJobs.createdAt, createdAt), and(eq(importJobs.createdAt, createdAt), lt(importJobs.id, id))));
  }
  return db
    .select(jobViewColumns)
    .from(importJobs)
    .where(and(...conditions))
    .orderBy(desc(importJobs.createdAt), desc(importJobs.id))
    .limit(filter.limit + 1);
}

/**
 * Longest failure reason stored. Reasons are bounded where they are written (a header error lists a few names, each
 * cut); this is the last guard, so no reason can make the job JSON large.
 */
export const MAX_FAILURE_REASON_LENGTH = 1000;

/** What a job's end must clean up besides its row: its file, and an inflated copy or the inflate's upload. */
export type FinishedFiles = Pick<JobRow, "objectKey" | "contentEncoding" | "inflateCheckpoint">;

/** A job that ended, with its files as they were when it ended. */
export type EndedJob = Pick<JobRow, "id" | "tenantId"> & FinishedFiles;

const endedColumns = {
  id: importJobs.id,
  tenantId: importJobs.tenantId,
  objectKey: importJobs.objectKey,
  contentEncoding: importJobs.contentEncoding,
  inflateCheckpoint: importJobs.inflateCheckpoint,
};

const noCancelRequested = isNull(importJobs.cancelRequestedAt);

/**
 * Moves a job that has not finished to `failed`; returns the job with its files as they were when it failed, or null
 * if it had already finished, or a cancel was requested (it ends canceled then, see markCanceled).
 */
export async function failJob(db: Db, jobId: string, reason: string, now: number): Promise<EndedJob | null> {
  const [row] = await db
    .update(importJobs)
    .set({ status: "failed", failureReason: shorten(reason, MAX_FAILURE_REASON_LENGTH), finishedAt: now, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), movesTo("failed"), noCancelRequested))
    .returning(endedColumns);
  return row ?? null;
}

/**
 * processing → canceled, for a job whose cancel was requested: its guarded writes stopped at the request, so its rows
 * and counts stand as the last commit before it left them. Null if it is not processing or no cancel was requested.
 */
export async function markCanceled(db: Db, jobId: string, now: number): Promise<EndedJob | null> {
  const [row] = await db
    .update(importJobs)
    .set({ status: "canceled", canceledAt: now, finishedAt: now, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), eq(importJobs.status, "processing"), isNotNull(importJobs.cancelRequestedAt)))
    .returning(endedColumns);
  return row ?? null;
}

/** What POST …/cancel did to a job (see requestCancel). */
export interface CancelRequest {
  /** The job as the API shows it after the request. */
  job: JobView;
  /** The job ended here (it was pending, queued or waiting for confirmation), with its files as they were. */
  canceled: EndedJob | null;
  /** The job ended here was first in its tenant's line (or became first meanwhile): the next job is to be started. */
  freedLine: boolean;
}

/**
 * POST …/cancel in one transaction: a job the consumer is not working on ends canceled at once; a processing job gets
 * its cancel request recorded (every guarded write of it checks for one; the consumer ends it at its next boundary).
 * A finished job is left as it is. Null if the tenant has no such job.
 */
export async function requestCancel(db: Db, tenantId: string, jobId: string, now: number): Promise<CancelRequest | null> {
  const job = and(eq(importJobs.tenantId, tenantId), eq(importJobs.id, jobId));
  const [before, [canceled], , [after]] = await naming(
    "cancel job",
    db.batch([
      db.select({ status: importJobs.status }).from(importJobs).where(job),
      db
        .update(importJobs)
        .set({ status: "canceled", cancelRequestedAt: now, canceledAt: now, finishedAt: now, heartbeatAt: now })
        .where(and(job, inArray(importJobs.status, cancelableAtOnce)))
        .returning(endedColumns),
      db
        .update(importJobs)
        .set({ cancelRequestedAt: sql`coalesce(${importJobs.cancelRequestedAt}, ${now})` })
        .where(and(job, eq(importJobs.status, "processing"))),
      db
        .select({ view: jobViewColumns, nothingAhead: sql<number>`${sql.raw(NOTHING_AHEAD)}` })
        .from(importJobs)
        .where(job),
    ]),
  );
  if (!after) return null;
  const wasInLine = before[0]?.status === "queued" && after.view.lineSeq !== null;
  return { job: after.view, canceled: canceled ?? null, freedLine: canceled !== undefined && wasInLine && after.nothingAhead === 1 };
}

/**
 * Stores the inflate's next checkpoint, once: only while the job is processing with no cancel requested, not inflated yet, and still at the
 * checkpoint `from` (null: the inflate has not started; else its upload id and how many parts it had stored), so an
 * invocation that lost a race to another stops.
 */
export async function saveInflateCheckpoint(
  db: Db,
  jobId: string,
  from: { uploadId: string; parts: number } | null,
  checkpoint: string,
  now: number,
): Promise<boolean> {
  const at =
    from === null
      ? isNull(importJobs.inflateCheckpoint)
      : sql`json_extract(${importJobs.inflateCheckpoint}, '$.uploadId') = ${from.uploadId} AND json_array_length(${importJobs.inflateCheckpoint}, '$.etags') = ${from.parts}`;
  const rows = await db
    .update(importJobs)
    .set({ inflateCheckpoint: checkpoint, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), eq(importJobs.status, "processing"), noCancelRequested, isNull(importJobs.inflatedBytes), at))
    .returning({ id: importJobs.id });
  return rows.length > 0;
}

/** The inflate is done: the copy's size is stored and the checkpoint dropped. Returns the job, or null if it lost a race. */
export async function finishInflate(db: Db, jobId: string, uploadId: string, inflatedBytes: number, now: number): Promise<JobRow | null> {
  const [row] = await db
    .update(importJobs)
    .set({ inflatedBytes, inflateCheckpoint: null, heartbeatAt: now })
    .where(
      and(
        eq(importJobs.id, jobId),
        eq(importJobs.status, "processing"),
        noCancelRequested,
        isNull(importJobs.inflatedBytes),
        sql`json_extract(${importJobs.inflateCheckpoint}, '$.uploadId') = ${uploadId}`,
      ),
    )
    .returning();
  return row ?? null;
}

/**
 * pending → queued: the upload is stored and the job accepted. A writing job takes the next place in its tenant's
 * line in the same statement, so acceptance order is the order D1 applied these updates. Returns the job as the
 * API shows it (with the job it waits for), or null if it had left `pending`.
 */
export async function markQueued(db: Db, jobId: string, now: number): Promise<JobView | null> {
  const lineSeq = sql`CASE WHEN ${importJobs.dryRun} THEN NULL ELSE ${NEXT_LINE_SEQ} END`;
  const [, [row]] = await naming(
    "accept job",
    db.batch([
      db.update(importJobs).set({ status: "queued", queuedAt: now, heartbeatAt: now, lineSeq }).where(and(eq(importJobs.id, jobId), movesTo("queued"))),
      db.select(jobViewColumns).from(importJobs).where(and(eq(importJobs.id, jobId), eq(importJobs.status, "queued"))),
    ]),
  );
  return row ?? null;
}

const ARCHIVING: ReplacePhase = "archiving";

/** The place after the last job of the updated job's tenant's line. */
const NEXT_LINE_SEQ = sql`(
  SELECT coalesce(max(p.line_seq), 0) + 1 FROM import_jobs AS p WHERE p.tenant_id = import_jobs.tenant_id AND ${sql.raw(lineCondition("p"))})`;

/**
 * needs_confirmation → queued: a confirmed job takes the next place in its tenant's line, behind every job accepted
 * before the confirmation, in the same statement (as markQueued). Returns the job as the API shows it, and whether this
 * call moved it (false: it was not waiting for confirmation); null if the tenant has no such job.
 */
export async function markConfirmed(db: Db, tenantId: string, jobId: string, now: number): Promise<{ moved: boolean; job: JobView } | null> {
  const job = and(eq(importJobs.tenantId, tenantId), eq(importJobs.id, jobId));
  const [moved, [row]] = await naming(
    "confirm job",
    db.batch([
      db
        .update(importJobs)
        .set({ status: "queued", confirmedAt: now, heartbeatAt: now, lineSeq: NEXT_LINE_SEQ })
        .where(and(job, eq(importJobs.status, "needs_confirmation"))),
      db.select(jobViewColumns).from(importJobs).where(job),
    ]),
  );
  return row ? { moved: changedJob(moved), job: row } : null;
}

/** No job of the tenant's line is ahead of this one (a dry run, outside the line, never waits). */
const NOTHING_AHEAD = `(import_jobs.line_seq IS NULL OR NOT EXISTS (
  SELECT 1 FROM import_jobs AS p
  WHERE p.tenant_id = import_jobs.tenant_id AND ${lineCondition("p")} AND p.line_seq < import_jobs.line_seq))`;

/**
 * queued → processing, once, and only when no job of its tenant accepted before it is still in the line; returns null
 * if it waits, or another invocation already started it. A writing job's first start takes its write sequence and
 * decides whether it stamps every product its file names (see import_jobs.write_seq and stamp_mentions); a confirmed
 * replace-mode job starting again keeps both, and its first start time.
 */
export async function startJob(db: Db, jobId: string, now: number): Promise<JobRow | null> {
  const firstStart = sql`${importJobs.startedAt} IS NULL`;
  const largestSeq = sql`(SELECT max(w.write_seq) FROM import_jobs AS w WHERE w.tenant_id = import_jobs.tenant_id AND w.write_seq IS NOT NULL)`;
  // A replace-mode import of the tenant will archive after this job: it waits for confirmation, or was confirmed and
  // waits in the line behind this job.
  const archivesLater = sql`EXISTS (SELECT 1 FROM import_jobs AS c WHERE c.tenant_id = import_jobs.tenant_id
    AND ${sql.raw(statusIn(["needs_confirmation", "queued"], "c.status"))} AND c.replace_phase = ${sql.raw(`'${ARCHIVING}'`)})`;
  const [row] = await db
    .update(importJobs)
    .set({
      status: "processing",
      startedAt: sql`coalesce(${importJobs.startedAt}, ${now})`,
      heartbeatAt: now,
      writeSeq: sql`CASE WHEN ${importJobs.dryRun} THEN NULL ELSE coalesce(${importJobs.writeSeq}, max(${now}, coalesce(${largestSeq}, 0) + 1)) END`,
      stampMentions: sql`CASE WHEN ${firstStart} THEN ${archivesLater} ELSE ${importJobs.stampMentions} END`,
    })
    .where(and(eq(importJobs.id, jobId), movesTo("processing"), sql.raw(NOTHING_AHEAD)))
    .returning();
  return row ?? null;
}

/**
 * The first job of the tenant's line, if it is still queued, with its heartbeat renewed: the job to start now that
 * the one before it has finished. Null when the line is empty or its head is already running.
 */
export async function renewLineHead(db: Db, tenantId: string, now: number): Promise<Pick<JobRow, "id" | "checkpointByte"> | null> {
  const head = sql`(SELECT p.id FROM import_jobs AS p WHERE p.tenant_id = ${tenantId} AND ${sql.raw(lineCondition("p"))} ORDER BY p.line_seq LIMIT 1)`;
  const [row] = await db
    .update(importJobs)
    .set({ heartbeatAt: now })
    .where(and(sql`${importJobs.id} = ${head}`, eq(importJobs.status, "queued")))
    .returning({ id: importJobs.id, checkpointByte: importJobs.checkpointByte });
  return row ?? null;
}

/** One more failed delivery of the job's current slice (the dead-letter consumer reports how many there were). */
export async function countFailedAttempt(db: Db, jobId: string): Promise<void> {
  await db
    .update(importJobs)
    .set({ failedAttempts: sql`${importJobs.failedAttempts} + 1` })
    .where(eq(importJobs.id, jobId));
}

/**
 * Unfinished jobs whose last sign of progress is older than `heartbeatBefore`. A job waiting for the jobs ahead of it
 * in its tenant's line is not stuck: it makes progress when they do (its heartbeat is renewed when it comes first); nor
 * is one waiting for its client (see findUnconfirmedJobs).
 */
export function findStuckJobs(db: Db, heartbeatBefore: number, limit: number) {
  return db
    .select({
      id: importJobs.id,
      tenantId: importJobs.tenantId,
      status: importJobs.status,
      processedRows: importJobs.processedRows,
      dryRun: importJobs.dryRun,
      objectKey: importJobs.objectKey,
      contentEncoding: importJobs.contentEncoding,
    })
    .from(importJobs)
    .where(and(inArray(importJobs.status, progressingStates), lt(importJobs.heartbeatAt, heartbeatBefore), sql.raw(NOTHING_AHEAD)))
    .limit(limit);
}

/** Jobs that have waited for confirmation since before `since` (they entered the state with their last heartbeat). */
export function findUnconfirmedJobs(db: Db, since: number, limit: number) {
  return db
    .select({
      id: importJobs.id,
      tenantId: importJobs.tenantId,
      processedRows: importJobs.processedRows,
      wouldArchive: importJobs.wouldArchive,
      objectKey: importJobs.objectKey,
      contentEncoding: importJobs.contentEncoding,
    })
    .from(importJobs)
    .where(and(eq(importJobs.status, "needs_confirmation"), lt(importJobs.heartbeatAt, since)))
    .limit(limit);
}

/** Queued jobs with nothing ahead of them whose heartbeat is older than `heartbeatBefore`: their message may be lost. */
export function findStrandedJobs(db: Db, heartbeatBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, checkpointByte: importJobs.checkpointByte })
    .from(importJobs)
    .where(and(eq(importJobs.status, "queued"), lt(importJobs.heartbeatAt, heartbeatBefore), sql.raw(NOTHING_AHEAD)))
    .limit(limit);
}

/** Jobs finished at or before `finishedBefore` whose uploaded file is still stored. */
export function findExpiredUploads(db: Db, finishedBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey, contentEncoding: importJobs.contentEncoding })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, finishedBefore), isNull(importJobs.objectDeletedAt)))
    .limit(limit);
}

export async function markObjectsDeleted(db: Db, jobIds: string[], now: number): Promise<void> {
  await db.update(importJobs).set({ objectDeletedAt: now }).where(inArray(importJobs.id, jobIds));
}

/**
 * Jobs finished at or before `finishedBefore`, with their file if it is still stored. A job whose recorded SKUs or kept
 * records are not purged yet waits for the purge (see purgeMentions, purgeKeptRecords), so deleting a job never deletes
 * an unbounded number of rows.
 */
export function findExpiredJobs(db: Db, finishedBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey, contentEncoding: importJobs.contentEncoding, objectDeletedAt: importJobs.objectDeletedAt })
    .from(importJobs)
    .where(
      and(
        isNotNull(importJobs.finishedAt),
        lte(importJobs.finishedAt, finishedBefore),
        sql`NOT EXISTS (SELECT 1 FROM import_mentions AS m WHERE m.job_id = import_jobs.id)`,
        ...Object.values(keptRecords).map(({ table, jobId }) => sql`NOT EXISTS (SELECT 1 FROM ${table} WHERE ${jobId} = import_jobs.id)`),
      ),
    )
    .limit(limit);
}

/**
 * Finished jobs (or jobs gone) that still have SKUs recorded (a replace-mode dry run that failed before it purged
 * them): a skip scan over the distinct job ids of import_mentions, one seek each, so the jobs still running cost nothing.
 */
export async function findLeftoverMentions(db: Db, limit: number): Promise<string[]> {
  const rows = await db.all<{ job_id: string }>(sql`WITH RECURSIVE ids(job_id) AS (
      SELECT min(job_id) FROM import_mentions
      UNION ALL SELECT (SELECT min(m.job_id) FROM import_mentions AS m WHERE m.job_id > ids.job_id) FROM ids WHERE ids.job_id IS NOT NULL LIMIT 1000)
    SELECT ids.job_id FROM ids LEFT JOIN import_jobs AS j ON j.id = ids.job_id
    WHERE ids.job_id IS NOT NULL AND (j.id IS NULL OR j.finished_at IS NOT NULL) LIMIT ${limit}`);
  return rows.map((r) => r.job_id);
}

/** Deletes up to `limit` of a job's recorded SKUs; returns how many it deleted. */
export async function purgeMentions(db: Db, jobId: string, limit: number): Promise<number> {
  const some = db.select({ skuKey: importMentions.skuKey }).from(importMentions).where(eq(importMentions.jobId, jobId)).limit(limit);
  const result = await db.run(sql`DELETE FROM ${importMentions} WHERE ${importMentions.jobId} = ${jobId} AND ${importMentions.skuKey} IN ${some}`);
  return result.meta.changes ?? 0;
}

/**
 * Links a job to the retry made from its failed rows: one more retry, and the latest. A repeat for the same retry
 * (an accept cut short and run again) counts it once.
 */
export async function linkRetry(db: Db, tenantId: string, jobId: string, retryId: string): Promise<void> {
  await db
    .update(importJobs)
    .set({ retryCount: sql`${importJobs.retryCount} + 1`, latestRetry: retryId })
    .where(and(eq(importJobs.tenantId, tenantId), eq(importJobs.id, jobId), sql`${importJobs.latestRetry} IS NOT ${retryId}`));
}

/** How many failed records the job has (0 for a job that is gone). */
export async function countFailedRecords(db: Db, jobId: string): Promise<number> {
  const [row] = await db.select({ failedRecords: importJobs.failedRecords }).from(importJobs).where(eq(importJobs.id, jobId)).limit(1);
  return row?.failedRecords ?? 0;
}

/**
 * The rows a job keeps past its end, many per job (its failed records, the revisions its revert reads): the sweeper
 * deletes them in bounded passes before it deletes the job.
 */
const keptRecords = {
  failedRecords: { table: importFailedRecords, jobId: importFailedRecords.jobId, key: importFailedRecords.byteStart },
  revisions: { table: importRevisions, jobId: importRevisions.jobId, key: importRevisions.skuKey },
};
export type KeptRecords = keyof typeof keptRecords;

/** Jobs finished at or before `finishedBefore` that still keep such records: their retention is over. */
export async function findExpiredKeptRecords(db: Db, records: KeptRecords, finishedBefore: number, limit: number): Promise<string[]> {
  const { table, jobId } = keptRecords[records];
  const rows = await db
    .select({ id: importJobs.id })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, finishedBefore), sql`EXISTS (SELECT 1 FROM ${table} WHERE ${jobId} = import_jobs.id)`))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Deletes up to `limit` of a job's records, in primary-key order; returns how many it deleted. */
export async function purgeKeptRecords(db: Db, records: KeptRecords, id: string, limit: number): Promise<number> {
  const { table, jobId, key } = keptRecords[records];
  const result = await db.run(
    sql`DELETE FROM ${table} WHERE ${jobId} = ${id} AND ${key} IN (SELECT ${key} FROM ${table} WHERE ${jobId} = ${id} ORDER BY ${key} LIMIT ${limit})`,
  );
  return result.meta.changes ?? 0;
}

/** Deletes jobs and their row errors in one transaction. */
export async function deleteJobs(db: Db, jobIds: string[]): Promise<void> {
  await naming("delete jobs", db.batch([db.delete(importErrors).where(inArray(importErrors.jobId, jobIds)), db.delete(importJobs).where(inArray(importJobs.id, jobIds))]));
}
