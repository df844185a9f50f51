// The states of an import job and the moves between them. The API's status enum, the stored column, the status
// summary's counts and the SQL that guards each move all derive from this table: a new state is an entry here (and a
// migration only if a stored value changes meaning), and the compiler then shows every place that must say what the
// state does.

const STATES = {
  pending: { summary: "whose upload is in progress", next: ["queued", "failed", "canceled"] },
  queued: { summary: "stored and waiting: for the consumer, or for the tenant's jobs accepted before them", next: ["processing", "failed", "canceled"] },
  // A processing job is canceled by the consumer at its next boundary, once POST …/cancel recorded the request.
  processing: { summary: "being processed", next: ["completed", "failed", "needs_confirmation", "canceled"] },
  // A replace-mode import whose archiving would pass its max_archive: its rows are in, and it waits for its client, not
  // for the consumer (see imports/jobs/replace.ts).
  needs_confirmation: {
    summary: "whose rows are imported and whose archiving of the products the file did not mention (mode=replace) waits for POST …/confirm",
    next: ["queued", "failed", "canceled"],
    waitsForClient: true,
  },
  completed: { summary: "finished (possibly with row errors)", next: [] },
  failed: { summary: "that could not be processed as a whole", next: [] },
  canceled: { summary: "stopped by POST …/cancel (the rows committed before it stay, and are counted)", next: [] },
} as const;

export type JobState = keyof typeof STATES;
STATES satisfies Record<JobState, StateDefinition>;

interface StateDefinition {
  /** How the status summary describes jobs in this state ("Jobs …"). */
  summary: string;
  /** The states a job in this state may move to; none for a finished job. */
  next: readonly JobState[];
  /**
   * The job waits for its client, not for the consumer: the sweeper does not fail it as stuck but expires it after
   * CONFIRMATION_HOURS, and it does not hold its tenant's line (see lineStates).
   */
  waitsForClient?: true;
}
export const jobStates = Object.keys(STATES) as [JobState, ...JobState[]];

/** How the status summary describes a state's jobs. */
export function stateSummary(state: JobState): string {
  return STATES[state].summary;
}

/** The states a job may still move on from. */
export const unfinishedStates = jobStates.filter((s) => STATES[s].next.length > 0);

/** The unfinished states in which the consumer owes the job progress: a job in one that stops moving is stuck. */
export const progressingStates = unfinishedStates.filter((s) => !("waitsForClient" in STATES[s]));

/** The states of a job that finished before its end: a revert in one is resumed by the next revert of its import. */
export const stoppedStates = ["failed", "canceled"] as const satisfies readonly JobState[];

/** The states a job may move to `to` from. */
export function statesBefore(to: JobState): JobState[] {
  return jobStates.filter((s) => (STATES[s].next as readonly JobState[]).includes(to));
}

/**
 * The states in which a writing job holds its tenant's line: a later writing job starts only once no job accepted
 * before it is in one of these. A job still uploading is not accepted yet, a finished one has let go, and so has one
 * waiting for confirmation (it takes a new place in the line when it is confirmed).
 */
export const lineStates = ["queued", "processing"] as const satisfies readonly JobState[];

/** The states POST …/cancel ends at once: the consumer is not working on the job (a processing job ends at its next boundary). */
export const cancelableAtOnce = statesBefore("canceled").filter((s) => s !== "processing");

/** A state as an SQL string literal. */
export function sqlState(state: JobState): string {
  return `'${state}'`;
}

/** `status IN (…)` over the given states, as SQL text (`column` may be qualified, as in `p.status`). */
export function statusIn(states: readonly JobState[], column = "status"): string {
  return `${column} IN (${states.map(sqlState).join(", ")})`;
}

/** What a job does: import a file's rows, or revert an import (POST …/revert). */
export const jobKinds = ["import", "revert"] as const;
export type JobKind = (typeof jobKinds)[number];
