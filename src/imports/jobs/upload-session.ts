// Upload sessions: a file too large for one request (up to MAX_SESSION_BYTES) is sent as numbered parts into an R2
// multipart upload, which the session's row in D1 follows (R2 lists a multipart upload's parts to nobody). Completing
// the session joins the parts into the job's file and makes the job as a direct upload would (upload.ts); the sweeper
// aborts a session that expires first, its R2 multipart upload included.
import { newId } from "../../auth/keys.ts";
import type { Config, Env } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { getJob, type JobView } from "../../db/queries/jobs.ts";
import {
  claimCompletion,
  deleteOpenSession,
  deleteSessions,
  findExpiredSessions,
  getSession,
  insertSession,
  listParts,
  markCompleted,
  type PartRow,
  recordPart,
  releaseCompletion,
  type SessionRow,
} from "../../db/queries/upload-sessions.ts";
import { sha256Hex } from "../../hash.ts";
import { loggedError } from "../../log-error.ts";
import { formatMediaType } from "../../model/formats.ts";
import type { UploadedFile } from "../../model/upload-file.ts";
import { missingParts, partBytes, planParts } from "../../model/upload-session.ts";
import { acceptStoredUpload, jobObjectKey, objectMetadata, resolveUpload, type UploadRequest, type UploadResult } from "./upload.ts";

/** Sessions a tenant may have open at once (not yet completed into jobs): each holds an R2 multipart upload. */
export const MAX_OPEN_SESSIONS = 100;
/**
 * A completion claimed this long ago was lost with its request (joining even 10,000 parts takes seconds), and another
 * request may take it over.
 */
const COMPLETION_LEASE_MS = 5 * 60_000;

export type OpenedSession = { ok: true; session: SessionRow } | { ok: false; failure: "limit_reached" };

/** Opens a session for `file` (its size at most MAX_SESSION_BYTES, checked by the caller): an R2 multipart upload at the job's key. */
export async function openSession(env: Env, db: Db, config: Config, tenantId: string, file: UploadedFile & { fileName: string }, now = Date.now()): Promise<OpenedSession> {
  const plan = planParts(file.size);
  // The job's id is chosen now, so that the file is stored where a direct upload's would be and completing the session
  // twice finds the one job.
  const jobId = newId("imp");
  const objectKey = jobObjectKey(tenantId, jobId);
  const multipart = await env.UPLOADS.createMultipartUpload(objectKey, { httpMetadata: objectMetadata(file) });
  const session = await insertSession(
    db,
    {
      id: newId("ups"),
      tenantId,
      status: "open",
      jobId,
      objectKey,
      r2UploadId: multipart.uploadId,
      format: file.format,
      fileName: file.fileName,
      charset: file.charset,
      contentEncoding: file.contentEncoding,
      sizeBytes: file.size,
      partSize: plan.partSize,
      partCount: plan.partCount,
      createdAt: now,
      expiresAt: now + config.uploadSessionMs,
    },
    MAX_OPEN_SESSIONS,
  );
  if (session) return { ok: true, session };
  await multipart.abort().catch(() => undefined);
  return { ok: false, failure: "limit_reached" };
}

/** The tenant's session while it can be used: null when there is none, or it has expired (the sweeper removes it soon). */
export async function findSession(db: Db, tenantId: string, id: string, now = Date.now()): Promise<SessionRow | null> {
  const session = await getSession(db, tenantId, id);
  return session && session.expiresAt > now ? session : null;
}

export function sessionParts(db: Db, session: SessionRow): Promise<PartRow[]> {
  return listParts(db, session.id);
}

/** The size part `n` of the session must have. */
export function expectedPartBytes(session: SessionRow, n: number): number {
  return partBytes(session.sizeBytes, session, n);
}

export type PartResult = { ok: true; part: PartRow } | { ok: false; failure: "interrupted" | "not_open" };

/**
 * Streams part `n` (`size` bytes, already checked against expectedPartBytes) into the session's multipart upload and
 * records it; a part sent again replaces the earlier copy. `not_open` when the session stopped taking parts meanwhile.
 */
export async function putPart(env: Env, db: Db, session: SessionRow, n: number, size: number, body: ReadableStream<Uint8Array>, now = Date.now()): Promise<PartResult> {
  let etag: string;
  try {
    // R2 needs the length up front; FixedLengthStream also rejects a body shorter or longer than declared.
    const fixed = new FixedLengthStream(size);
    const piped = body.pipeTo(fixed.writable);
    const uploaded = env.UPLOADS.resumeMultipartUpload(session.objectKey, session.r2UploadId).uploadPart(n, fixed.readable);
    const [pipe, part] = await Promise.allSettled([piped, uploaded]);
    if (pipe.status === "rejected") throw pipe.reason;
    if (part.status === "rejected") throw part.reason;
    etag = part.value.etag;
  } catch (err) {
    // An aborted or completed multipart upload takes no more parts; otherwise the body broke off.
    if (!(await findSession(db, session.tenantId, session.id))) return { ok: false, failure: "not_open" };
    console.warn(JSON.stringify({ level: "warn", msg: "upload part interrupted", session_id: session.id, part: n, ...loggedError(err) }));
    return { ok: false, failure: "interrupted" };
  }
  const part = { partNumber: n, size, etag };
  return (await recordPart(db, session.id, part, now)) ? { ok: true, part } : { ok: false, failure: "not_open" };
}

/** What the completion asks for: the import options of a direct upload. */
export type Completion = Omit<UploadRequest<UploadedFile>, "tenantId" | "source">;

export type CompletionResult =
  /** The job was made now (202), or by an earlier completion asking the same (200). */
  | { ok: true; job: JobView; first: boolean }
  | { ok: false; failure: "incomplete"; missing: number[] }
  /** Another request is completing the session this moment. */
  | { ok: false; failure: "in_progress" }
  /** An earlier completion asked for other options: its job is `jobId`. */
  | { ok: false; failure: "completed_otherwise"; jobId: string }
  | Exclude<UploadResult, { ok: true }>;

/**
 * Completes the session into its import job: every part must be in; the parts are joined into the job's file and the
 * job is made and accepted as a direct upload's (same job, same place in its tenant's line). Completing again answers
 * the same job.
 */
export async function completeSession(env: Env, db: Db, session: SessionRow, completion: Completion, now = Date.now()): Promise<CompletionResult> {
  const digest = await sha256Hex(JSON.stringify(completion));
  if (session.status === "completed") return completedBefore(db, session, digest);
  const parts = await listParts(db, session.id);
  const missing = missingParts(session, parts.map((p) => p.partNumber));
  if (missing.length > 0) return { ok: false, failure: "incomplete", missing };

  const request: UploadRequest<UploadedFile> = { tenantId: session.tenantId, source: sessionFile(session), ...completion };
  // A profile that cannot read the file is refused before anything changes: the session stays open.
  const resolved = await resolveUpload(db, request);
  if (!resolved.ok) return resolved;
  const claimed = await claimCompletion(db, session, digest, now, now - COMPLETION_LEASE_MS);
  if (!claimed) {
    const current = await getSession(db, session.tenantId, session.id);
    return current?.status === "completed" ? completedBefore(db, current, digest) : { ok: false, failure: "in_progress" };
  }
  try {
    await joinParts(env, claimed, parts);
    const result = await acceptStoredUpload(env, db, request, resolved, claimed.jobId, now);
    // A job exists now, whether it could be queued or not.
    await markCompleted(db, claimed.id);
    return result.ok ? { ...result, first: true } : result;
  } catch (err) {
    await releaseCompletion(db, claimed.id).catch(() => undefined);
    throw err;
  }
}

/** A completed session's job, for a completion that asks what the first asked. */
async function completedBefore(db: Db, session: SessionRow, digest: string): Promise<CompletionResult> {
  const job = await getJob(db, session.tenantId, session.jobId);
  // The job may have been deleted after JOB_RETENTION_DAYS; the session expires long before.
  if (!job || session.completionDigest !== digest) return { ok: false, failure: "completed_otherwise", jobId: session.jobId };
  return { ok: true, job, first: false };
}

/** The file the session's parts make, as the job is made from it. */
function sessionFile(session: SessionRow): UploadedFile {
  return {
    format: session.format,
    contentType: formatMediaType(session.format),
    charset: session.charset,
    contentEncoding: session.contentEncoding,
    fileName: session.fileName,
    size: session.sizeBytes,
  };
}

/**
 * Completes the R2 multipart upload. A completion that was cut short after R2 had joined the parts finds the object
 * stored instead of the upload.
 */
async function joinParts(env: Env, session: SessionRow, parts: PartRow[]): Promise<void> {
  const multipart = env.UPLOADS.resumeMultipartUpload(session.objectKey, session.r2UploadId);
  try {
    await multipart.complete(parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
  } catch (err) {
    const stored = await env.UPLOADS.head(session.objectKey);
    if (stored?.size !== session.sizeBytes) throw err;
  }
}

export type AbortResult = { ok: true } | { ok: false; failure: "in_progress" | "completed" | "gone" };

/** Aborts an open session: its R2 multipart upload (the parts with it), then its rows. */
export async function abortSession(env: Env, db: Db, session: SessionRow): Promise<AbortResult> {
  if (session.status !== "open") return { ok: false, failure: session.status === "completed" ? "completed" : "in_progress" };
  await env.UPLOADS.resumeMultipartUpload(session.objectKey, session.r2UploadId).abort();
  if (await deleteOpenSession(db, session.tenantId, session.id)) return { ok: true };
  // A completion claimed the session since it was read (and will fail on the aborted upload), or it is gone.
  const current = await getSession(db, session.tenantId, session.id);
  return { ok: false, failure: current === null ? "gone" : current.status === "completed" ? "completed" : "in_progress" };
}

/**
 * An expired session whose multipart upload cannot be aborted is tried again on the sweeper's next runs, until R2's
 * default lifecycle rule for a bucket (incomplete multipart uploads are aborted seven days after they began) has
 * surely done it.
 */
const ABORT_RETRY_MS = 7 * 24 * 60 * 60_000;

/**
 * The sweeper's part: expired sessions go, at most `limit` per run (one R2 request each). One that did not become a
 * job has its multipart upload aborted, and any object a cut-short completion had joined deleted; a job's file stays.
 */
export async function expireSessions(env: Env, db: Db, now: number, limit: number): Promise<number> {
  const expired = await findExpiredSessions(db, now, now - COMPLETION_LEASE_MS, limit);
  const gone: typeof expired = [];
  for (const session of expired) {
    if (session.hasJob || (await abortMultipart(env, session)) || session.expiresAt <= now - ABORT_RETRY_MS) gone.push(session);
  }
  const orphans = gone.filter((s) => !s.hasJob).map((s) => s.objectKey);
  if (orphans.length > 0) await env.UPLOADS.delete(orphans);
  if (gone.length > 0) await deleteSessions(db, gone.map((s) => s.id));
  return gone.length;
}

/** Aborts the session's multipart upload; also true when there is none to abort because R2 had joined its parts. */
async function abortMultipart(env: Env, session: Pick<SessionRow, "id" | "objectKey" | "r2UploadId">): Promise<boolean> {
  try {
    await env.UPLOADS.resumeMultipartUpload(session.objectKey, session.r2UploadId).abort();
    return true;
  } catch (err) {
    if (await env.UPLOADS.head(session.objectKey)) return true;
    console.warn(JSON.stringify({ level: "warn", msg: "upload session not aborted; the sweeper tries again", session_id: session.id, ...loggedError(err) }));
    return false;
  }
}
