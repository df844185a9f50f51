// POST …/retry: a new job from the failed rows of a finished one. The failed-rows file (failed-rows-file.ts) is streamed
// into R2 as the new job's upload, in parts, so it never sits whole in memory; the job is then accepted as a stored
// upload is (upload.ts), with the original's options or the ones the request gives, always in upsert mode (the file is
// a part of a catalog, never the whole of it). The two jobs are linked both ways: retry_of, and retries on the original.
import { newId } from "../../auth/keys.ts";
import type { Config, Env } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { type JobView, linkRetry } from "../../db/queries/jobs.ts";
import type { BlankCells, OnInvalid } from "../../catalog/product.ts";
import type { CsvDelimiter } from "../read/csv.ts";
import { storedMapping } from "../sources/column-mapping.ts";
import type { JobOptions } from "../sources/options.ts";
import { isPresetName } from "../sources/presets/index.ts";
import { failedRowsFile } from "./failed-rows-file.ts";
import { acceptStoredUpload, jobObjectKey, type UploadResult } from "./upload.ts";

/** What the request may change of the original's options. */
export interface RetryOptions {
  currency?: string;
  delimiter?: CsvDelimiter | null;
  blankCells?: BlankCells;
  onInvalid?: OnInvalid;
  dryRun?: boolean;
}

export type Retry =
  | { kind: "accepted"; job: JobView }
  | { kind: "not_finished" }
  | { kind: "gone" }
  | { kind: "no_file" }
  /** The job has no failed rows: nothing to retry. */
  | { kind: "nothing" }
  /** The failed rows are more than MAX_UPLOAD_BYTES: nothing was stored. */
  | { kind: "too_large"; maxBytes: number }
  /** The new job could not be accepted: it failed. */
  | { kind: "refused"; result: Extract<UploadResult, { ok: false }> };

export async function retryJob(env: Env, db: Db, config: Config, original: JobView, asked: RetryOptions, now = Date.now()): Promise<Retry> {
  const file = await failedRowsFile(env.UPLOADS, db, original);
  if (file.kind !== "file") return file;
  if (original.failedRecords === 0) {
    await file.body.cancel();
    return { kind: "nothing" };
  }
  const id = newId("imp");
  const key = jobObjectKey(original.tenantId, id);
  const contentType = file.contentType;
  const size = await storeInParts(env.UPLOADS, key, file.body, { contentType, partBytes: config.inflatePartBytes, maxBytes: config.maxUploadBytes });
  if (size === null) return { kind: "too_large", maxBytes: config.maxUploadBytes };

  const options = retryOptions(JSON.parse(original.options) as JobOptions, asked);
  const format = original.format;
  const profile = original.profile;
  const result = await acceptStoredUpload(
    env,
    db,
    {
      tenantId: original.tenantId,
      source: { format, contentType, charset: options.charset ?? null, contentEncoding: null, fileName: file.fileName, size },
      options,
      dryRun: asked.dryRun ?? original.dryRun,
      columns: {},
      retryOf: original.id,
    },
    // Read as the original was: its profile's mapping as it resolved then (a later change to the profile does not reach it).
    { profile, mapping: storedMapping(original), preset: profile !== null && isPresetName(profile) ? profile : null },
    id,
    now,
  );
  if (!result.ok) return { kind: "refused", result };
  await linkRetry(db, original.tenantId, original.id, result.job.id);
  return { kind: "accepted", job: result.job };
}

/** The original's options with the request's over them, in upsert mode. */
function retryOptions(original: JobOptions, asked: RetryOptions): JobOptions {
  const { mode: _mode, maxArchive: _maxArchive, ...kept } = original;
  return {
    ...kept,
    currency: asked.currency ?? kept.currency,
    delimiter: asked.delimiter !== undefined ? asked.delimiter : kept.delimiter,
    blankCells: asked.blankCells ?? kept.blankCells,
    onInvalid: asked.onInvalid ?? kept.onInvalid,
    mode: "upsert",
  };
}

/**
 * Streams `body` into R2 at `key`: in one put when it fits one part, else as a multipart upload of `partBytes` parts
 * (R2 wants every part but the last the same size). Returns its size, or null (and stores nothing) past `maxBytes`.
 */
async function storeInParts(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  { contentType, partBytes, maxBytes }: { contentType: string; partBytes: number; maxBytes: number },
): Promise<number | null> {
  const reader = body.getReader();
  let part = new Uint8Array(partBytes);
  let filled = 0;
  let size = 0;
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      let chunk = next.value;
      size += chunk.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        await upload?.abort().catch(() => undefined);
        return null;
      }
      while (chunk.byteLength > 0) {
        const taken = Math.min(chunk.byteLength, partBytes - filled);
        part.set(chunk.subarray(0, taken), filled);
        filled += taken;
        chunk = chunk.subarray(taken);
        if (filled === partBytes) {
          upload ??= await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
          parts.push(await upload.uploadPart(parts.length + 1, part));
          part = new Uint8Array(partBytes);
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, part.subarray(0, filled), { httpMetadata: { contentType } });
      return size;
    }
    if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
    await upload.complete(parts);
    return size;
  } catch (err) {
    await upload?.abort().catch(() => undefined);
    throw err;
  }
}
