// Why a job stopped midway, as its failure_reason tells the client: what happened, then what its processed rows left
// behind and what to do next.

interface StoppedJob {
  status: string;
  processedRows: number;
  dryRun: boolean;
}

function whatWasKept(job: StoppedJob): string {
  if (job.dryRun) return "This was a dry run, so nothing was imported; upload the file again to check it.";
  if (job.processedRows === 0) return "Nothing was imported; upload the file again.";
  const n = job.processedRows;
  return `The ${n} row${n === 1 ? "" : "s"} counted as processed ${n === 1 ? "was" : "were"} imported; upload the file again to import the rest.`;
}

/** The dead-letter consumer's reason: every delivery of the job's slice failed. */
export function retriesExhaustedReason(job: StoppedJob & { failedAttempts: number }): string {
  const attempts = Math.max(job.failedAttempts, 1);
  return `Processing failed after ${attempts} attempt${attempts === 1 ? "" : "s"}. ${whatWasKept(job)}`;
}

/** The sweeper's reason for a job that showed no progress for `minutes`. */
export function stuckReason(job: StoppedJob, minutes: number): string {
  return job.status === "pending"
    ? "The upload never completed; nothing was imported. Upload the file again."
    : `The import made no progress for ${minutes} minutes and was stopped. ${whatWasKept(job)}`;
}

/** The reason for a job whose row source could not read back the state it saved (see UnreadableSourceState). */
export function unreadableStateReason(job: StoppedJob): string {
  return `The import could not resume where it stopped: what it saved of how to read the file could not be read back. ${whatWasKept(job)}`;
}

/** The job's file is no longer stored (deleted while the job ran). */
export const FILE_GONE = "The uploaded file is no longer stored, so the import cannot continue. Upload the file again.";

// A compressed file is inflated before its first row is read: when that fails, nothing was imported.
const GZIP_ADVICE = "Nothing was imported; check the file (gzip -t) and upload it again.";

/** The file was sent gzip-compressed but is not gzip, or is damaged; `byte` is where, in the file as sent. */
export function gzipFormatReason(problem: string, byte: number): string {
  return `The file was sent gzip-compressed, but at byte ${byte} of the compressed file ${problem}. ${GZIP_ADVICE}`;
}

/** The compressed data takes far more bytes than it inflates to: see MAX_INPUT_PER_PART in inflate.ts. */
export function gzipSparseReason(byte: number): string {
  return `The file was sent gzip-compressed, but up to byte ${byte} of the compressed file its data inflates to far fewer bytes than it takes, which no compressor writes. ${GZIP_ADVICE}`;
}

/** The file inflates past MAX_INFLATED_BYTES: a decompression bomb, or a catalog larger than a job takes. */
export function inflatedTooLargeReason(maxBytes: number): string {
  return `The file inflates to more than ${maxBytes} bytes, the most a compressed upload may inflate to (MAX_INFLATED_BYTES); the inflate stopped there. Nothing was imported; split the catalog into smaller files.`;
}

/** The sweeper's reason for a replace-mode import that waited for confirmation for `hours`. */
export function unconfirmedReason(job: { processedRows: number; wouldArchive: number | null }, hours: number): string {
  const n = job.wouldArchive ?? 0;
  return (
    `Archiving was not confirmed within ${hours} hour${hours === 1 ? "" : "s"}: the ${n} product${n === 1 ? "" : "s"} the file did not mention ` +
    `${n === 1 ? "was" : "were"} not archived. The file's rows were imported (${job.processedRows} processed). Upload the file again to repeat the sync.`
  );
}
