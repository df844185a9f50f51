import { and, desc, eq, inArray, isNotNull, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { shorten } from "../../text.ts";
import { importErrors, importJobs, type JobStatus, unfinishedJobStatuses } from "../schema.ts";
import { naming } from "../../log-error.ts";

export type JobRow = typeof importJobs.$inferSelect;
export type NewJob = typeof importJobs.$inferInsert;

export async function insertJob(db: Db, job: NewJob): Promise<JobRow> {
  const [row] = await db.insert(importJobs).values(job).returning();
  if (!row) throw new Error("job insert returned nothing");
  return row;
}

export async function getJob(db: Db, tenantId: string, jobId: string): Promise<JobRow | null> {
  const [row] = await db
    .select()
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
  filter: { limit: number; status?: JobStatus; before?: readonly [number, string] },
): Promise<JobRow[]> {
  const conditions: (SQL | undefined)[] = [eq(importJobs.tenantId, tenantId)];
  if (filter.status) conditions.push(eq(importJobs.status, filter.status));
  if (filter.before) {
    const [createdAt, id] = filter.before;
    conditions.push(or(lt(importJobs.createdAt, createdAt), and(eq(importJobs.createdAt, createdAt), lt(importJobs.id, id))));
  }
  return db
    .select()
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

/** Moves a job that has not finished to `failed`; returns false if it had already finished. */
export async function failJob(db: Db, jobId: string, reason: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .update(importJobs)
    .set({ status: "failed", failureReason: shorten(reason, MAX_FAILURE_REASON_LENGTH), finishedAt: now, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), inArray(importJobs.status, unfinishedJobStatuses)))
    .returning({ id: importJobs.id });
  return rows.length > 0;
}

export async function markQueued(db: Db, jobId: string, now = Date.now()): Promise<JobRow | null> {
  const [row] = await db
    .update(importJobs)
    .set({ status: "queued", queuedAt: now, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), eq(importJobs.status, "pending")))
    .returning();
  return row ?? null;
}

/** queued → processing, once; returns null if another invocation already started it. */
export async function startJob(db: Db, jobId: string, now = Date.now()): Promise<JobRow | null> {
  const [row] = await db
    .update(importJobs)
    .set({ status: "processing", startedAt: now, heartbeatAt: now })
    .where(and(eq(importJobs.id, jobId), eq(importJobs.status, "queued")))
    .returning();
  return row ?? null;
}

/** One more failed delivery of the job's current slice (the dead-letter consumer reports how many there were). */
export async function countFailedAttempt(db: Db, jobId: string): Promise<void> {
  await db
    .update(importJobs)
    .set({ failedAttempts: sql`${importJobs.failedAttempts} + 1` })
    .where(eq(importJobs.id, jobId));
}

/** Unfinished jobs whose last sign of progress is older than `heartbeatBefore`. */
export function findStuckJobs(db: Db, heartbeatBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, status: importJobs.status, processedRows: importJobs.processedRows, dryRun: importJobs.dryRun })
    .from(importJobs)
    .where(and(inArray(importJobs.status, unfinishedJobStatuses), lt(importJobs.heartbeatAt, heartbeatBefore)))
    .limit(limit);
}

/** Jobs finished at or before `finishedBefore` whose uploaded file is still stored. */
export function findExpiredUploads(db: Db, finishedBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, finishedBefore), isNull(importJobs.objectDeletedAt)))
    .limit(limit);
}

export async function markObjectsDeleted(db: Db, jobIds: string[], now: number): Promise<void> {
  await db.update(importJobs).set({ objectDeletedAt: now }).where(inArray(importJobs.id, jobIds));
}

/** Jobs finished at or before `finishedBefore`, with their file if it is still stored. */
export function findExpiredJobs(db: Db, finishedBefore: number, limit: number) {
  return db
    .select({ id: importJobs.id, objectKey: importJobs.objectKey, objectDeletedAt: importJobs.objectDeletedAt })
    .from(importJobs)
    .where(and(isNotNull(importJobs.finishedAt), lte(importJobs.finishedAt, finishedBefore)))
    .limit(limit);
}

/** Deletes jobs and their row errors in one transaction. */
export async function deleteJobs(db: Db, jobIds: string[]): Promise<void> {
  await naming("delete jobs", db.batch([db.delete(importErrors).where(inArray(importErrors.jobId, jobIds)), db.delete(importJobs).where(inArray(importJobs.id, jobIds))]));
}
