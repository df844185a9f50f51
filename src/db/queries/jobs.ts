import { and, desc, eq, inArray, lt, or, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { shorten } from "../../text.ts";
import { importJobs, type JobStatus } from "../schema.ts";

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

const nonTerminal: JobStatus[] = ["pending", "queued", "processing"];

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
    .where(and(eq(importJobs.id, jobId), inArray(importJobs.status, nonTerminal)))
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
