// Accepting an upload: job row (pending) → file streamed into R2 → job queued + first message.
// Whatever breaks midway, the job ends `failed` with a reason and no partial object is left behind.
import { newId } from "../auth/keys.ts";
import type { Env } from "../config.ts";
import type { Db } from "../db/client.ts";
import { failJob, insertJob, markQueued, type JobRow } from "../db/queries/jobs.ts";
import type { JobOptions } from "./job.ts";
import { loggedError } from "../log-error.ts";

export type ImportFormat = "csv" | "ndjson";

export interface UploadSource {
  format: ImportFormat;
  contentType: string;
  fileName: string | null;
  size: number;
  /** A stream of exactly `size` bytes, or an already buffered file (multipart). */
  body: ReadableStream<Uint8Array> | Blob;
}

export interface UploadRequest {
  tenantId: string;
  source: UploadSource;
  options: JobOptions;
  dryRun: boolean;
}

export type UploadResult =
  | { ok: true; job: JobRow }
  | { ok: false; job: JobRow | null; failure: "interrupted" | "not_queued"; reason: string };

export const INTERRUPTED_REASON =
  "The upload was interrupted before the whole file arrived (the connection closed or the storage failed); nothing was imported. Upload the file again.";
export const NOT_QUEUED_REASON = "The file was stored but the import could not be queued; nothing was imported. Upload the file again.";

export async function acceptUpload(env: Env, db: Db, request: UploadRequest, now = Date.now()): Promise<UploadResult> {
  const id = newId("imp");
  const objectKey = `${request.tenantId}/${id}`;
  await insertJob(db, {
    id,
    tenantId: request.tenantId,
    status: "pending",
    format: request.source.format,
    fileName: request.source.fileName,
    objectKey,
    sizeBytes: request.source.size,
    dryRun: request.dryRun,
    options: JSON.stringify(request.options),
    createdAt: now,
    heartbeatAt: now,
  });

  try {
    await storeObject(env.UPLOADS, objectKey, request.source);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "upload interrupted", job_id: id, ...loggedError(err) }));
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
    await failJob(db, id, INTERRUPTED_REASON);
    return { ok: false, job: null, failure: "interrupted", reason: INTERRUPTED_REASON };
  }

  const queued = await markQueued(db, id);
  try {
    if (!queued) throw new Error("job left the pending state during upload");
    await env.IMPORT_QUEUE.send({ jobId: id, cursorByte: 0 });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "enqueue failed", job_id: id, ...loggedError(err) }));
    await failJob(db, id, NOT_QUEUED_REASON);
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
    return { ok: false, job: null, failure: "not_queued", reason: NOT_QUEUED_REASON };
  }
  return { ok: true, job: queued };
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
