// The events a webhook endpoint subscribes to: one list, used by the request schemas, the OpenAPI document, the
// payload's `type` and the job lifecycle's announce (src/imports/jobs/announce.ts).
import type { JobKind, JobState } from "./job-states.ts";

export const webhookEventTypes = [
  "import.completed",
  "import.completed_with_errors",
  "import.failed",
  "import.canceled",
  "import.needs_confirmation",
  "revert.completed",
  "revert.completed_with_errors",
  "revert.failed",
  "revert.canceled",
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** The job states that are announced: the ends, and the wait for a client's confirmation. */
export const announcedStates = ["completed", "failed", "canceled", "needs_confirmation"] as const satisfies readonly JobState[];

/** A delivery's state: waiting for (another) attempt, delivered (a 2xx), or given up. */
export const deliveryStates = ["pending", "succeeded", "failed"] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/** The event a job in `status` announces; null for a state that is not announced. */
export function eventFor(job: { kind: JobKind; status: JobState; errorCount: number; rejectedRows: number }): WebhookEventType | null {
  const { kind, status } = job;
  if (status === "completed") return `${kind}.${job.errorCount > 0 || job.rejectedRows > 0 ? "completed_with_errors" : "completed"}`;
  if (status === "failed" || status === "canceled") return `${kind}.${status}`;
  if (status === "needs_confirmation" && kind === "import") return "import.needs_confirmation";
  return null;
}
