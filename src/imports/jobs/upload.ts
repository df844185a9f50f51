// Accepting an upload: job row (pending) → file streamed into R2 → job queued + first message.
// Whatever breaks midway, the job ends `failed` with a reason and no partial object is left behind.
import { z } from "zod";
import { newId } from "../../auth/keys.ts";
import type { Env } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { insertJob, type JobRow, type JobView } from "../../db/queries/jobs.ts";
import type { ColumnMapping } from "../sources/column-mapping.ts";
import type { Charset } from "../read/encoding.ts";
import type { ImportFormat } from "../../model/formats.ts";
import type { JobOptions } from "./job.ts";
import { acceptJob, finishJob } from "./lifecycle.ts";
import type { PresetName } from "../sources/presets/index.ts";
import { loggedError } from "../../log-error.ts";
import { hex, sha256Hex } from "../../hash.ts";


// ---------------------------------------------------------------------------
// File names: shown on every job, so bounded and free of characters that rewrite what a reader sees.

/** The longest file name a job keeps, in characters (code points). */
export const FILE_NAME_MAX_LENGTH = 255;
// C0 and C1 controls and DEL (line breaks, tabs, escapes), the Unicode line and paragraph separators, and the
// bidirectional marks and controls that can disguise an extension.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;
const FILE_NAME_RULE = `at most ${FILE_NAME_MAX_LENGTH} characters without control characters (line breaks, tabs, bidirectional controls)`;

function isTooLong(name: string): boolean {
  // Code points never outnumber UTF-16 units, so short names skip the count; a long one is counted only up to the cap.
  return name.length > FILE_NAME_MAX_LENGTH && firstCodePoints(name, FILE_NAME_MAX_LENGTH + 1).length > FILE_NAME_MAX_LENGTH;
}

/** The first `count` code points of `text`, never splitting a surrogate pair; reads at most 2 × count UTF-16 units. */
function firstCodePoints(text: string, count: number): string[] {
  return Array.from(text.slice(0, 2 * count)).slice(0, count);
}

/** The file-name rule for a name the client gives explicitly (the `filename` query parameter); zod counts code points. */
export const fileNameSchema = z
  .string()
  .min(1, { error: "must not be empty", abort: true })
  .max(FILE_NAME_MAX_LENGTH, { error: `must be ${FILE_NAME_RULE}`, abort: true })
  .refine((name) => name.search(CONTROL_CHARACTERS) === -1, { error: `must be ${FILE_NAME_RULE}` });

/**
 * The same rule applied to the name a browser or curl put on a multipart file part, which the client did not type:
 * control characters are removed and a long name is cut, keeping its extension. Null when nothing is left.
 */
export function cleanFileName(name: string): string | null {
  const clean = name.replace(CONTROL_CHARACTERS, "");
  if (clean === "") return null;
  if (!isTooLong(clean)) return clean;
  const extension = /\.[^.]{1,16}$/.exec(clean.slice(-17))?.[0] ?? "";
  const stem = firstCodePoints(clean.slice(0, clean.length - extension.length), FILE_NAME_MAX_LENGTH - Array.from(extension).length);
  return stem.join("") + extension;
}

export interface UploadSource {
  format: ImportFormat;
  contentType: string;
  /** The charset its Content-Type declared (see encoding.ts), or null. */
  charset: Charset | null;
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
  /** The saved profile or built-in preset the request named, if any. */
  profile: string | null;
  /** The column mapping resolved at upload (the profile's with the request's over it); the job keeps it. */
  mapping: ColumnMapping | null;
  /** The built-in preset the request named, if any. */
  preset: PresetName | null;
}

export type UploadResult =
  | { ok: true; job: JobView }
  | { ok: false; job: JobRow | null; failure: "interrupted" | "not_queued"; reason: string };

export const INTERRUPTED_REASON =
  "The upload was interrupted before the whole file arrived (the connection closed or the storage failed); nothing was imported. Upload the file again.";
export const NOT_QUEUED_REASON = "The file was stored but the import could not be queued; nothing was imported. Upload the file again.";

export async function acceptUpload(env: Env, db: Db, request: UploadRequest, now = Date.now()): Promise<UploadResult> {
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
    dryRun: request.dryRun,
    options: JSON.stringify(request.options),
    profile: request.profile,
    mapping: request.mapping === null ? null : JSON.stringify(request.mapping),
    preset: request.preset,
    createdAt: now,
    heartbeatAt: now,
  });

  try {
    await storeObject(env.UPLOADS, objectKey, request.source);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "upload interrupted", job_id: id, ...loggedError(err) }));
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
    await finishJob(env, db, job, { status: "failed", reason: INTERRUPTED_REASON });
    return { ok: false, job: null, failure: "interrupted", reason: INTERRUPTED_REASON };
  }

  let queued: JobView | null;
  try {
    queued = await acceptJob(env, db, id);
    if (!queued) throw new Error("job left the pending state during upload");
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "enqueue failed", job_id: id, ...loggedError(err) }));
    await finishJob(env, db, job, { status: "failed", reason: NOT_QUEUED_REASON });
    await env.UPLOADS.delete(objectKey).catch(() => undefined);
    return { ok: false, job: null, failure: "not_queued", reason: NOT_QUEUED_REASON };
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
