// A compressed file's inflated copy (made by inflate.ts): its key, which object a job's rows are read from, and its
// deletion when the job finishes. Kept apart from the inflate itself, which the job's lifecycle and the sweeper need
// not load.
import type { FinishedFiles, JobRow } from "../../db/queries/jobs.ts";
import { loggedError } from "../../log-error.ts";
import type { GzipResumePoint } from "../read/gzip.ts";

/** The key of a compressed file's inflated copy, beside the file. */
export function inflatedKey(objectKey: string): string {
  return `${objectKey}.inflated`;
}

type FileOfJob = Pick<JobRow, "objectKey" | "sizeBytes" | "contentEncoding" | "inflatedBytes">;

/** Whether the job's file must be inflated before its rows are read. */
export function needsInflate(job: FileOfJob): boolean {
  return job.contentEncoding !== null && job.inflatedBytes === null;
}

/** The object the import reads and its size: a compressed file's inflated copy, else the file itself. */
export function importedFile(job: FileOfJob): { key: string; size: number } {
  if (job.contentEncoding === null) return { key: job.objectKey, size: job.sizeBytes };
  if (job.inflatedBytes === null) throw new Error("the file is read before it was inflated");
  return { key: inflatedKey(job.objectKey), size: job.inflatedBytes };
}

/** The R2 objects a job's file may leave behind: the file as sent, and a compressed file's inflated copy. */
export function storedKeys(job: Pick<JobRow, "objectKey" | "contentEncoding">): string[] {
  return job.contentEncoding === null ? [job.objectKey] : [job.objectKey, inflatedKey(job.objectKey)];
}

/** The inflate's checkpoint, stored as the job's inflate_checkpoint (JSON). */
export interface InflateCheckpoint {
  uploadId: string;
  /** The part size the upload was started with: every part but the last has it (R2's rule), whatever the config says later. */
  partBytes: number;
  /** The parts uploaded, in order: part n's etag at n − 1. */
  etags: string[];
  /** Where the decoder resumes, at the end of the last part; null before the first. */
  resume: GzipResumePoint | null;
}

/**
 * Deletes what a finished job's inflate left: the copy (unless `keepCopy`: the job's failed rows are read from it), and
 * the upload of an inflate that stopped midway (its parts).
 * A failure is logged, not thrown: the job has finished, the sweeper deletes the copy with the file, and R2 aborts
 * an upload left incomplete after a week (the default rule of a new bucket).
 */
export async function discardInflated(bucket: R2Bucket, job: FinishedFiles & { id: string }, { keepCopy = false } = {}): Promise<void> {
  if (job.contentEncoding === null) return;
  const key = inflatedKey(job.objectKey);
  const uploadId = job.inflateCheckpoint === null ? null : (JSON.parse(job.inflateCheckpoint) as InflateCheckpoint).uploadId;
  const [deleted, aborted] = await Promise.allSettled([
    keepCopy ? null : bucket.delete(key),
    uploadId === null ? null : bucket.resumeMultipartUpload(key, uploadId).abort(),
  ]);
  for (const result of [deleted, aborted]) {
    if (result.status === "rejected") {
      console.warn(JSON.stringify({ level: "warn", msg: "inflated copy not deleted; the sweeper deletes it", job_id: job.id, ...loggedError(result.reason) }));
    }
  }
}
