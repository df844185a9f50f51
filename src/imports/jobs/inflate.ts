// The first phase of a job whose file was sent compressed: the file is inflated once, before its first row is read,
// into a plain copy that the import reads as it reads any file (ranged windows from any checkpoint). Inflating from
// the start of the compressed file in every slice instead would make an import's work quadratic in its size.
//
// The copy is an R2 multipart upload: R2 stores a stream only of a known length, and the inflated length is known at
// the end. The decoder (read/gzip.ts) fills one part at a time (INFLATE_PART_BYTES); each part is uploaded, then the
// checkpoint is committed: the upload's id, the parts' etags and where the decoder resumes. A slice inflates parts
// while the invocation's budget lasts (at least one part), so a file of any size inflates across invocations, each
// resuming where the last stopped; a crash costs at most the part being filled. When the job finishes, the copy (or
// the unfinished upload) is deleted (inflated-copy.ts, from lifecycle.ts); the file as sent is kept like any upload.
import { concatBytes } from "../../bytes.ts";
import type { Config, Env } from "../../config.ts";
import { database } from "../../db/client.ts";
import { finishInflate, type JobRow, saveInflateCheckpoint } from "../../db/queries/jobs.ts";
import { formatMediaType } from "../../model/formats.ts";
import { GzipDecoder, GzipFormatError } from "../read/gzip.ts";
import { ObjectGoneError, RangedObjectReader } from "../read/object-reader.ts";
import { FILE_GONE, gzipFormatReason, gzipSparseReason, inflatedTooLargeReason } from "./failure-reasons.ts";
import { type InflateCheckpoint, inflatedKey } from "./inflated-copy.ts";

/** Compressed bytes handed to the decoder at a time (R2 bodies arrive in small pieces, 4 KiB locally). */
const PUSH_BYTES = 64 * 1024;
/**
 * The event loop gets a turn at least once per this many bytes inflated (a few milliseconds of work), as a slice gives
 * it one per 256 KiB parsed: a whole part decoded at once could keep other requests waiting for a tenth of a second.
 */
const TURN_BYTES = 1024 * 1024;
/**
 * The most compressed bytes one part may take, in parts: what bounds the work before a checkpoint. Stored blocks
 * (incompressible data) take about one byte per byte; only data no compressor makes (runs of empty blocks) takes more.
 */
const MAX_INPUT_PER_PART = 16;

export type InflateOutcome =
  /** The copy is complete: the job, with its inflated size, is ready to import. */
  | { kind: "inflated"; job: JobRow }
  /** The budget is spent: a later invocation resumes from the checkpoint. */
  | { kind: "continue" }
  | { kind: "failed"; reason: string }
  /** Another invocation got there first, or the job is no longer processing. */
  | { kind: "skipped"; reason: string };

/** Inflates the job's file from its checkpoint, a part at a time, while the invocation's budget lasts. */
export async function inflateSlice(env: Env, config: Config, job: JobRow, budget: { spent(): boolean }): Promise<InflateOutcome> {
  const db = database(env.DB);
  const bucket = env.UPLOADS;
  const key = inflatedKey(job.objectKey);
  const started = Date.now();
  let checkpoint = job.inflateCheckpoint === null ? null : (JSON.parse(job.inflateCheckpoint) as InflateCheckpoint);
  if (checkpoint === null) {
    const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType: formatMediaType(job.format) } });
    checkpoint = { uploadId: upload.uploadId, partBytes: config.inflatePartBytes, etags: [], resume: null };
    if (!(await saveInflateCheckpoint(db, job.id, null, JSON.stringify(checkpoint), Date.now()))) {
      await upload.abort().catch(() => undefined);
      return { kind: "skipped", reason: "another invocation started the inflate" };
    }
  }
  const upload = bucket.resumeMultipartUpload(key, checkpoint.uploadId);
  const decoder = new GzipDecoder(checkpoint.partBytes, checkpoint.resume, checkpoint.etags.length);
  const reader = new RangedObjectReader(bucket, job.objectKey, decoder.inputStart, job.sizeBytes);
  if (!(await reader.open())) return { kind: "failed", reason: FILE_GONE };
  let partsThisSlice = 0;
  let partInputStart = decoder.inputBytes;
  const log = (outcome: string) =>
    console.log(JSON.stringify({ msg: "inflate slice", job_id: job.id, parts: partsThisSlice, inflated_bytes: decoder.outputBytes, ms: Date.now() - started, outcome }));
  try {
    for (;;) {
      const step = decoder.run(TURN_BYTES);
      if (decoder.outputBytes > config.maxInflatedBytes) return fail(inflatedTooLargeReason(config.maxInflatedBytes));
      if (step === "pause") {
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      if (step === "input") {
        if (decoder.inputBytes - partInputStart > MAX_INPUT_PER_PART * checkpoint.partBytes) return fail(gzipSparseReason(decoder.inputBytes));
        const { bytes, last } = await readPiece(reader);
        decoder.push(bytes, last);
        continue;
      }
      if (step === "end") {
        const inflated = await completeCopy(bucket, key, upload, checkpoint, decoder.part());
        const done = await finishInflate(db, job.id, checkpoint.uploadId, inflated, Date.now());
        log(done ? "inflated" : "skipped");
        return done ? { kind: "inflated", job: done } : { kind: "skipped", reason: "another invocation finished the inflate" };
      }
      const part = await upload.uploadPart(checkpoint.etags.length + 1, decoder.part());
      decoder.nextPart();
      const next: InflateCheckpoint = { ...checkpoint, etags: [...checkpoint.etags, part.etag], resume: decoder.resumePoint() };
      const from = { uploadId: checkpoint.uploadId, parts: checkpoint.etags.length };
      if (!(await saveInflateCheckpoint(db, job.id, from, JSON.stringify(next), Date.now()))) {
        await reader.cancel().catch(() => undefined);
        log("skipped");
        return { kind: "skipped", reason: "another invocation stored the part first" };
      }
      checkpoint = next;
      partsThisSlice++;
      partInputStart = decoder.inputBytes;
      if (budget.spent()) {
        await reader.cancel().catch(() => undefined);
        log("continue");
        return { kind: "continue" };
      }
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    if (err instanceof GzipFormatError) return fail(gzipFormatReason(err.message, err.byte));
    if (err instanceof ObjectGoneError) return fail(FILE_GONE);
    throw err;
  }

  async function fail(reason: string): Promise<InflateOutcome> {
    await reader.cancel().catch(() => undefined);
    log("failed");
    return { kind: "failed", reason };
  }
}

/** The next compressed bytes, gathered to PUSH_BYTES; `last` once the file ends. */
async function readPiece(reader: RangedObjectReader): Promise<{ bytes: Uint8Array; last: boolean }> {
  const pieces: Uint8Array[] = [];
  let length = 0;
  while (length < PUSH_BYTES) {
    const next = await reader.read();
    if (next.done) return { bytes: concatBytes(pieces, length), last: true };
    pieces.push(next.value);
    length += next.value.byteLength;
  }
  return { bytes: concatBytes(pieces, length), last: false };
}

/** Uploads the last part and completes the copy; returns its size. */
async function completeCopy(bucket: R2Bucket, key: string, upload: R2MultipartUpload, checkpoint: InflateCheckpoint, lastPart: Uint8Array): Promise<number> {
  const parts: R2UploadedPart[] = checkpoint.etags.map((etag, i) => ({ partNumber: i + 1, etag }));
  const size = parts.length * checkpoint.partBytes + lastPart.byteLength;
  if (size === 0) {
    // Gzip data of nothing: an empty object, rather than an upload of no parts.
    await upload.abort();
    await bucket.put(key, new Uint8Array(0));
    return 0;
  }
  if (lastPart.byteLength > 0) parts.push(await upload.uploadPart(parts.length + 1, lastPart));
  await upload.complete(parts);
  return size;
}
