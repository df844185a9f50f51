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

/** The sweeper's reason for a replace-mode import that waited for confirmation for `hours`. */
export function unconfirmedReason(job: { processedRows: number; wouldArchive: number | null }, hours: number): string {
  const n = job.wouldArchive ?? 0;
  return (
    `Archiving was not confirmed within ${hours} hour${hours === 1 ? "" : "s"}: the ${n} product${n === 1 ? "" : "s"} the file did not mention ` +
    `${n === 1 ? "was" : "were"} not archived. The file's rows were imported (${job.processedRows} processed). Upload the file again to repeat the sync.`
  );
}
