// Accepting an upload: the mapping it asked for resolved → job row (pending) → file streamed into R2 → job queued +
// first message. Whatever breaks midway, the job ends `failed` with a reason and no partial object is left behind.
// An upload session's file, already in R2 when it is completed, becomes a job by the same steps but the streaming.
import { newId } from "../../auth/keys.ts";
import { type Env, readConfig } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { getJob, insertJob, insertJobOnce, type JobView, type NewJob } from "../../db/queries/jobs.ts";
import type { UploadedFile, UploadSource } from "../../model/upload-file.ts";
import type { ColumnMapping } from "../sources/column-mapping.ts";
import { type MappingResolution, resolveMapping, type ResolvedMapping } from "../sources/profiles.ts";
import type { JobOptions } from "../sources/options.ts";
import { acceptJob, finishJob, type FinishingJob } from "./lifecycle.ts";
import { loggedError } from "../../log-error.ts";
import { hex, sha256Hex } from "../../hash.ts";

export interface UploadRequest<F extends UploadedFile = UploadSource> {
  tenantId: string;
  source: F;
  options: JobOptions;
  dryRun: boolean;
  /** The saved profile or built-in preset the request named, and its own column mapping, if any (see profiles.ts). */
  columns: { profile?: string; mapping?: ColumnMapping };
  /** The job whose failed rows the file is (POST …/retry), or absent: an upload. */
  retryOf?: string;
  /** The scheduled feed whose fetch brought the file (src/feeds/run.ts), or absent. */
  feedId?: string;
}

/** Why a profile or preset named cannot read the file: no job was made. */
type Unreadable = { ok: false; failure: Extract<MappingResolution, { ok: false }>["reason"] };

export type UploadResult =
  | { ok: true; job: JobView }
  /** The file was not stored or not queued: the job failed with `reason`. */
  | { ok: false; failure: "interrupted" | "not_queued"; reason: string }
  | Unreadable;

export const INTERRUPTED_REASON =
  "The upload was interrupted before the whole file arrived (the connection closed or the storage failed); nothing was imported. Upload the file again.";
export const NOT_QUEUED_REASON = "The file was stored but the import could not be queued; nothing was imported. Upload the file again.";

/** Where a job's file is stored: under its tenant, named by the job. */
export function jobObjectKey(tenantId: string, jobId: string): string {
  return `${tenantId}/${jobId}`;
}

/** The metadata a job's file is stored with, streamed in one request or joined from parts. */
export function objectMetadata(file: UploadedFile): R2HTTPMetadata {
  return { contentType: file.contentType };
}

export async function acceptUpload(env: Env, db: Db, request: UploadRequest, now = Date.now()): Promise<UploadResult> {
  const resolved = await resolveUpload(db, request);
  if (!resolved.ok) return resolved;
  const id = newId("imp");
  const job = await insertJob(db, newJobRow(env, request, resolved, id, now));

  try {
    await storeObject(env.UPLOADS, job.objectKey, request.source);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "upload interrupted", job_id: id, ...loggedError(err) }));
    await env.UPLOADS.delete(job.objectKey).catch(() => undefined);
    await finishJob(env, db, job, { status: "failed", reason: INTERRUPTED_REASON });
    return { ok: false, failure: "interrupted", reason: INTERRUPTED_REASON };
  }
  return queueAccepted(env, db, job);
}

/**
 * The mapping the upload reads its file with. The profile is read as the upload is accepted, and the job keeps what it
 * resolved to: a later change to the profile never reaches the job.
 */
export async function resolveUpload(db: Db, request: UploadRequest<UploadedFile>): Promise<({ ok: true } & ResolvedMapping) | Unreadable> {
  const resolved = await resolveMapping(db, request.tenantId, request.source.format, request.columns);
  return resolved.ok ? resolved : { ok: false, failure: resolved.reason };
}

/**
 * An upload whose file is already stored at the job's key (an upload session's, joined from its parts) becomes the
 * job `jobId`, accepted as a direct upload is. The id was chosen before: a repeat finds the job made the first time
 * (and accepts it, if that was cut short) instead of making another.
 */
export async function acceptStoredUpload(
  env: Env,
  db: Db,
  request: UploadRequest<UploadedFile>,
  resolved: ResolvedMapping,
  jobId: string,
  now = Date.now(),
): Promise<UploadResult> {
  const inserted = await insertJobOnce(db, newJobRow(env, request, resolved, jobId, now));
  if (inserted) return queueAccepted(env, db, inserted);
  const existing = await getJob(db, request.tenantId, jobId);
  if (!existing) throw new Error(`job ${jobId} was neither inserted nor found`);
  return existing.status === "pending" ? queueAccepted(env, db, existing) : { ok: true, job: existing };
}

/** The job row an upload makes, pending until its file is stored: the one place an upload's request becomes a job. */
function newJobRow(env: Env, request: UploadRequest<UploadedFile>, resolved: ResolvedMapping, id: string, now: number): NewJob {
  return {
    id,
    tenantId: request.tenantId,
    status: "pending",
    format: request.source.format,
    fileName: request.source.fileName,
    objectKey: jobObjectKey(request.tenantId, id),
    sizeBytes: request.source.size,
    contentEncoding: request.source.contentEncoding,
    dryRun: request.dryRun,
    // A dry run writes no product, so it has nothing to revert.
    keepRevisions: readConfig(env).keepRevertData && !request.dryRun,
    options: JSON.stringify(request.options),
    profile: resolved.profile,
    mapping: resolved.mapping === null ? null : JSON.stringify(resolved.mapping),
    preset: resolved.preset,
    retryOf: request.retryOf ?? null,
    feedId: request.feedId ?? null,
    createdAt: now,
    heartbeatAt: now,
  };
}

/** pending → queued with its first message; a job that cannot be queued fails, and its file is deleted. */
async function queueAccepted(env: Env, db: Db, job: FinishingJob): Promise<UploadResult> {
  let queued: JobView | null;
  try {
    queued = await acceptJob(env, db, job.id);
    if (!queued) {
      // Canceled while its file was on its way (POST …/cancel): the upload answers with the canceled job.
      const left = await getJob(db, job.tenantId, job.id);
      if (left?.status === "canceled") return { ok: true, job: left };
      throw new Error("job left the pending state during upload");
    }
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "enqueue failed", job_id: job.id, ...loggedError(err) }));
    await finishJob(env, db, job, { status: "failed", reason: NOT_QUEUED_REASON });
    await env.UPLOADS.delete(job.objectKey).catch(() => undefined);
    return { ok: false, failure: "not_queued", reason: NOT_QUEUED_REASON };
  }
  return { ok: true, job: queued };
}

// ---------------------------------------------------------------------------
// Content hashes: an Idempotency-Key repeat is replayed only when its file has the same bytes.

/**
 * The source with its bytes hashed (SHA-256) on their way to storage, keeping the stream's backpressure; `contentHash`
 * resolves once the whole body has passed, so it is read after the upload was stored.
 */
export function hashingSource(source: UploadSource): { source: UploadSource; contentHash: () => Promise<string> } {
  const { body } = source;
  if (body instanceof Blob) return { source, contentHash: () => hashBlob(body) };
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  const hashed = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await writer.write(chunk);
        controller.enqueue(chunk);
      },
      flush: () => writer.close(),
    }),
  );
  return { source: { ...source, body: hashed }, contentHash: async () => hex(await digest.digest) };
}

/** A buffered (multipart) file's hash. */
async function hashBlob(body: Blob): Promise<string> {
  return sha256Hex(await body.arrayBuffer());
}

/** Reads the whole upload only to hash it; null when the body ended before (or ran past) its declared size. */
export async function hashUpload(source: UploadSource): Promise<string | null> {
  const { body } = source;
  if (body instanceof Blob) return hashBlob(body);
  const digest = new crypto.DigestStream("SHA-256");
  try {
    await body.pipeTo(digest);
  } catch {
    return null;
  }
  return Number(digest.bytesWritten) === source.size ? hex(await digest.digest) : null;
}

async function storeObject(bucket: R2Bucket, key: string, source: UploadSource): Promise<void> {
  const httpMetadata = objectMetadata(source);
  if (source.body instanceof Blob) {
    await bucket.put(key, source.body, { httpMetadata });
    return;
  }
  // R2 needs the length up front; FixedLengthStream also rejects a body shorter or longer than declared.
  const fixed = new FixedLengthStream(source.size);
  const piped = source.body.pipeTo(fixed.writable);
  const stored = bucket.put(key, fixed.readable, { httpMetadata });
  const [pipe, put] = await Promise.allSettled([piped, stored]);
  if (pipe.status === "rejected") throw pipe.reason;
  if (put.status === "rejected") throw put.reason;
}
