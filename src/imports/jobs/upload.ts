// Accepting an upload: the mapping it asked for resolved → job row (pending) → file streamed into R2 → job queued +
// first message. Whatever breaks midway, the job ends `failed` with a reason and no partial object is left behind.
import { newId } from "../../auth/keys.ts";
import type { Env } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { insertJob, type JobView } from "../../db/queries/jobs.ts";
import type { UploadSource } from "../../model/upload-file.ts";
import type { ColumnMapping } from "../sources/column-mapping.ts";
import { type MappingResolution, resolveMapping } from "../sources/profiles.ts";
import type { JobOptions } from "../sources/options.ts";
import { acceptJob, finishJob } from "./lifecycle.ts";
import { loggedError } from "../../log-error.ts";
import { hex, sha256Hex } from "../../hash.ts";

export interface UploadRequest {
  tenantId: string;
  source: UploadSource;
  options: JobOptions;
  dryRun: boolean;
  /** The saved profile or built-in preset the request named, and its own column mapping, if any (see profiles.ts). */
  columns: { profile?: string; mapping?: ColumnMapping };
}

export type UploadResult =
  | { ok: true; job: JobView }
  /** The file was not stored or not queued: the job failed with `reason`. */
  | { ok: false; failure: "interrupted" | "not_queued"; reason: string }
  /** The profile or preset named cannot read the file: no job was made. */
  | { ok: false; failure: Extract<MappingResolution, { ok: false }>["reason"] };

export const INTERRUPTED_REASON =
  "The upload was interrupted before the whole file arrived (the connection closed or the storage failed); nothing was imported. Upload the file again.";
export const NOT_QUEUED_REASON = "The file was stored but the import could not be queued; nothing was imported. Upload the file again.";

export async function acceptUpload(env: Env, db: Db, request: UploadRequest, now = Date.now()): Promise<UploadResult> {
  // The profile is read as the upload is accepted, and the job keeps what it resolved to: a later change to the
  // profile never reaches the job.
  const resolved = await resolveMapping(db, request.tenantId, request.source.format, request.columns);
  if (!resolved.ok) return { ok: false, failure: resolved.reason };
  const id = newId("imp");
  const objectKey = `${request.tenantId}/${id}`;
  const job = await insertJob(db, {
    id,
    tenantId: request.tenantId,
    status: "pending",
    format: request.source.format,
    fileName: request.source.fileName,
    objectKey,
    sizeBytes: request.source.size,
    contentEncoding: request.source.contentEncoding,
    dryRun: request.dryRun,
    options: JSON.stringify(request.options),
    profile: resolved.profile,
    mapping: resolved.mapping === null ? null : JSON.stringify(resolved.mapping),
    preset: resolved.preset,
    createdAt: now,
    heartbeatAt: now,
  });

  try {
    await storeObject(env.UPLOADS, objectKey, request.source);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "upload interrupted", job_id: id, ...loggedError(err) }));
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
    await finishJob(env, db, job, { status: "failed", reason: INTERRUPTED_REASON });
    return { ok: false, failure: "interrupted", reason: INTERRUPTED_REASON };
  }

  let queued: JobView | null;
  try {
    queued = await acceptJob(env, db, id);
    if (!queued) throw new Error("job left the pending state during upload");
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "enqueue failed", job_id: id, ...loggedError(err) }));
    await finishJob(env, db, job, { status: "failed", reason: NOT_QUEUED_REASON });
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
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
  const httpMetadata = { contentType: source.contentType };
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
