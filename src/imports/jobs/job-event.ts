// What a delivery's body says about a job: small (no file name, no mapping, no notes: the job's own URL has them all).
import { z } from "zod";
import type { JobRow } from "../../db/queries/jobs.ts";
import { jobResponseSchema, toJobJson } from "./job.ts";
import { webhookEventTypes, type WebhookEventType } from "../../model/webhook-events.ts";

/** A body larger than this is a bug: every field is a number, an id or bounded text. */
export const MAX_PAYLOAD_BYTES = 20 * 1024;

/** The job's counts an event carries, named and described as in the job JSON (GET …/{job_id}). */
const countFields = {
  total_rows: true,
  processed_rows: true,
  created: true,
  updated: true,
  unchanged: true,
  rejected_rows: true,
  skipped_rows: true,
  failed_rows: true,
  error_count: true,
  warning_count: true,
  would_archive: true,
  archived: true,
  reverted: true,
  kept: true,
} as const;

export const webhookPayloadSchema = z
  .object({
    type: z.enum(webhookEventTypes),
    timestamp: z.string().describe("When the event happened (the job's state change), ISO 8601 UTC."),
    data: jobResponseSchema.pick({ id: true, kind: true, status: true, revert_of: true, dry_run: true, failure_reason: true, links: true }).extend({
      counters: jobResponseSchema.pick(countFields),
    }),
  })
  .meta({ id: "WebhookEvent", description: "The JSON body of every webhook delivery." });
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

export function webhookPayload(type: WebhookEventType, job: JobRow): WebhookPayload {
  const json = toJobJson({ ...job, waitingFor: null });
  const counters = Object.fromEntries(Object.keys(countFields).map((name) => [name, json[name as keyof typeof countFields]]));
  return {
    type,
    timestamp: new Date(job.finishedAt ?? job.heartbeatAt).toISOString(),
    data: {
      id: json.id,
      kind: json.kind,
      status: json.status,
      revert_of: json.revert_of,
      dry_run: json.dry_run,
      counters: counters as WebhookPayload["data"]["counters"],
      failure_reason: json.failure_reason,
      links: json.links,
    },
  };
}
