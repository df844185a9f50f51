import { and, asc, eq, exists, gt, inArray, lte, not, or, sql } from "drizzle-orm";
import { naming } from "../../log-error.ts";
import type { UploadSessionState } from "../../model/upload-session.ts";
import type { Db } from "../client.ts";
import { importJobs, uploadParts, uploadSessions } from "../schema.ts";

export type SessionRow = typeof uploadSessions.$inferSelect;
export type NewSession = typeof uploadSessions.$inferInsert;
export type PartRow = Pick<typeof uploadParts.$inferSelect, "partNumber" | "size" | "etag">;

/** The states of a session that is not yet a job: what a tenant's limit on sessions counts. */
const unfinished: UploadSessionState[] = ["open", "completing"];

const own = (tenantId: string, id: string) => and(eq(uploadSessions.tenantId, tenantId), eq(uploadSessions.id, id));

/**
 * Inserts the session unless its tenant already has `maxOpen` sessions that are not jobs yet; one statement, so two
 * concurrent openings cannot both pass the count. Null when the limit is reached.
 */
export async function insertSession(db: Db, session: NewSession & { status: "open" }, maxOpen: number): Promise<SessionRow | null> {
  const open = db
    .select({ n: sql<number>`count(*)` })
    .from(uploadSessions)
    .where(and(eq(uploadSessions.tenantId, session.tenantId), inArray(uploadSessions.status, unfinished)));
  const [row] = await db
    .insert(uploadSessions)
    .select(
      sql`SELECT ${session.id}, ${session.tenantId}, ${session.status}, ${session.jobId}, ${session.objectKey}, ${session.r2UploadId},
                 ${session.format}, ${session.fileName}, ${session.charset ?? null}, ${session.contentEncoding ?? null}, ${session.sizeBytes},
                 ${session.partSize}, ${session.partCount}, NULL, NULL, ${session.createdAt}, ${session.expiresAt}
          WHERE ${open} < ${maxOpen}`,
    )
    .returning();
  return row ?? null;
}

/** The tenant's session, whatever its state; an expired one the sweeper has not removed yet included. */
export async function getSession(db: Db, tenantId: string, id: string): Promise<SessionRow | null> {
  const [row] = await db.select().from(uploadSessions).where(own(tenantId, id)).limit(1);
  return row ?? null;
}

/** The parts a session has received, by number. */
export function listParts(db: Db, sessionId: string): Promise<PartRow[]> {
  return db
    .select({ partNumber: uploadParts.partNumber, size: uploadParts.size, etag: uploadParts.etag })
    .from(uploadParts)
    .where(eq(uploadParts.sessionId, sessionId))
    .orderBy(asc(uploadParts.partNumber));
}

/**
 * Records a part R2 has received, replacing an earlier copy of it (the last one sent wins, as in R2), while its session
 * is open and has not expired. False when it no longer is: the part is not recorded.
 */
export async function recordPart(db: Db, sessionId: string, part: PartRow, now: number): Promise<boolean> {
  const open = db
    .select({ one: sql`1` })
    .from(uploadSessions)
    .where(and(eq(uploadSessions.id, sessionId), eq(uploadSessions.status, "open"), gt(uploadSessions.expiresAt, now)));
  const rows = await db
    .insert(uploadParts)
    .select(sql`SELECT ${sessionId}, ${part.partNumber}, ${part.size}, ${part.etag}, ${now} WHERE EXISTS ${open}`)
    .onConflictDoUpdate({
      target: [uploadParts.sessionId, uploadParts.partNumber],
      set: { size: sql`excluded.size`, etag: sql`excluded.etag`, uploadedAt: sql`excluded.uploaded_at` },
    })
    .returning({ partNumber: uploadParts.partNumber });
  return rows.length === 1;
}

/**
 * open → completing, for the one request that completes the session; a claim older than `staleBefore` was lost with
 * its request and is taken over. Null when another request holds the claim, or the session is completed or expired.
 */
export async function claimCompletion(
  db: Db,
  session: Pick<SessionRow, "tenantId" | "id">,
  digest: string,
  now: number,
  staleBefore: number,
): Promise<SessionRow | null> {
  const claimable = or(eq(uploadSessions.status, "open"), and(eq(uploadSessions.status, "completing"), lte(uploadSessions.claimedAt, staleBefore)));
  const [row] = await db
    .update(uploadSessions)
    .set({ status: "completing", completionDigest: digest, claimedAt: now })
    .where(and(own(session.tenantId, session.id), claimable, gt(uploadSessions.expiresAt, now)))
    .returning();
  return row ?? null;
}

/** completing → open: the completion failed before the session became a job, and may be tried again. */
export async function releaseCompletion(db: Db, sessionId: string): Promise<void> {
  await db
    .update(uploadSessions)
    .set({ status: "open", completionDigest: null, claimedAt: null })
    .where(and(eq(uploadSessions.id, sessionId), eq(uploadSessions.status, "completing")));
}

/** completing → completed: its job exists. */
export async function markCompleted(db: Db, sessionId: string): Promise<void> {
  await db.update(uploadSessions).set({ status: "completed", claimedAt: null }).where(eq(uploadSessions.id, sessionId));
}

/** Deletes an open session and its parts; false when it is not open (being completed or completed) or gone. */
export async function deleteOpenSession(db: Db, tenantId: string, id: string): Promise<boolean> {
  const [deleted] = await naming(
    "delete upload session",
    db.batch([
      db
        .delete(uploadSessions)
        .where(and(own(tenantId, id), eq(uploadSessions.status, "open")))
        .returning({ id: uploadSessions.id }),
      // Only once the session is gone: a session that is not open keeps its parts.
      db.delete(uploadParts).where(and(eq(uploadParts.sessionId, id), not(exists(db.select({ one: sql`1` }).from(uploadSessions).where(eq(uploadSessions.id, id)))))),
    ]),
  );
  return deleted.length === 1;
}

/**
 * Sessions past their expiry, but none whose completion was claimed after `staleBefore` (it may be joining the parts
 * this moment); `hasJob` says whether the job it was completed into exists, which then owns the stored file.
 */
export function findExpiredSessions(db: Db, now: number, staleBefore: number, limit: number) {
  const beingCompleted = sql`(${uploadSessions.status} = ${"completing" satisfies UploadSessionState} AND ${uploadSessions.claimedAt} > ${staleBefore})`;
  return db
    .select({
      id: uploadSessions.id,
      objectKey: uploadSessions.objectKey,
      r2UploadId: uploadSessions.r2UploadId,
      expiresAt: uploadSessions.expiresAt,
      hasJob: sql<number>`EXISTS (SELECT 1 FROM ${importJobs} WHERE ${importJobs.id} = ${uploadSessions.jobId})`.mapWith(Boolean),
    })
    .from(uploadSessions)
    .where(and(lte(uploadSessions.expiresAt, now), not(beingCompleted)))
    .limit(limit);
}

/** Deletes sessions and their parts in one transaction. */
export async function deleteSessions(db: Db, ids: string[]): Promise<void> {
  await naming("delete upload sessions", db.batch([db.delete(uploadParts).where(inArray(uploadParts.sessionId, ids)), db.delete(uploadSessions).where(inArray(uploadSessions.id, ids))]));
}
