// An upload session: a file too large for one request, sent as numbered parts into an R2 multipart upload and then
// completed into an import job. Its states, and how a file of a given size is cut into parts: the API, the database,
// the sweeper and the upload client (scripts/upload.ts) take the rule from here.

const MiB = 1024 * 1024;

/**
 * The platform's bounds on a part. R2 takes at most 10,000 parts per multipart upload, and every part but the last
 * must be of one size, at least 5 MiB (the last may be smaller). Each part is one request to the Worker, whose body the
 * plan caps at 100 MB on Free and Pro.
 */
/** Where upload sessions are opened (the upload route points a file too large for it there). */
export const UPLOADS_PATH = "/api/v1/uploads";

export const R2_MAX_PARTS = 10_000;
export const R2_MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 100 * MiB;

/** The largest session the part rule can serve: 10,000 parts of the largest size a request may carry. */
export const PART_RULE_MAX_BYTES = R2_MAX_PARTS * MAX_PART_BYTES;

export interface PartPlan {
  /** The size of every part but the last. */
  partSize: number;
  partCount: number;
}

/**
 * How a file of `size` bytes (1 to PART_RULE_MAX_BYTES) is cut: parts of R2's minimum, 5 MiB, unless the file needs
 * larger ones to stay within 10,000 parts (then the smallest whole number of MiB that does). The smallest part keeps a
 * part that must be sent again cheap and the client's memory per part in flight small (a file of 5 GB is 1,024 parts).
 */
export function planParts(size: number): PartPlan {
  const partSize = Math.max(R2_MIN_PART_BYTES, Math.ceil(size / R2_MAX_PARTS / MiB) * MiB);
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** The exact size of part `n` (1-based) of a file of `size` bytes cut by `plan`: the part size, but for the last part. */
export function partBytes(size: number, plan: PartPlan, n: number): number {
  return n < plan.partCount ? plan.partSize : size - (plan.partCount - 1) * plan.partSize;
}

/** The numbers of the parts of `plan` that `received` lacks, in order. */
export function missingParts(plan: PartPlan, received: Iterable<number>): number[] {
  const have = new Set(received);
  const missing: number[] = [];
  for (let n = 1; n <= plan.partCount; n++) if (!have.has(n)) missing.push(n);
  return missing;
}

// ---------------------------------------------------------------------------
// States

const STATES = {
  open: "parts are being received; the session can be completed once every part is in",
  completing: "its parts are being joined into the file and its import job created",
  completed: "its import job exists (`job_id`); a repeated completion answers that job",
} as const;

export type UploadSessionState = keyof typeof STATES;
export const uploadSessionStates = Object.keys(STATES) as [UploadSessionState, ...UploadSessionState[]];

/** What a state means, as the API documents it. */
export function uploadSessionStateAbout(state: UploadSessionState): string {
  return STATES[state];
}
