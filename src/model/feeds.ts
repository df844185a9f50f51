// The states and kinds of scheduled feeds and their fetches: the one list the schema, the API's enums and the code share.

export const feedStates = ["active", "paused"] as const;
export type FeedState = (typeof feedStates)[number];

/** Credentials a feed sends: HTTP basic, or one header of the tenant's choosing. */
export const credentialTypes = ["basic", "header"] as const;
export type CredentialType = (typeof credentialTypes)[number];

export const fetchTriggers = ["schedule", "manual"] as const;
export type FetchTrigger = (typeof fetchTriggers)[number];

/** `running` until the fetch ends; one cut short by the Worker's end is failed by the sweeper (sweeper.ts). */
export const fetchOutcomes = ["running", "job_created", "unchanged", "failed"] as const;
export type FetchOutcome = (typeof fetchOutcomes)[number];

/** Why a feed was paused by its failures: `failures` fetches failed in a row, the last for `lastReason`. */
export function pausedByFailures(failures: number, lastReason: string): string {
  return `Paused after ${failures} failed fetches in a row; the last: ${lastReason}`;
}
