// What a delivery's body says about a job: small (no file name, no mapping, no notes: the job's own URL has them all).
import { z } from "zod";
import type { JobRow } from "../db/queries/jobs.ts";
import { jobPath } from "../imports/jobs/job.ts";
import { jobKinds, jobStates } from "../model/job-states.ts";
import { webhookEventTypes, type WebhookEventType } from "../model/webhook-events.ts";
import { shorten } from "../text.ts";

/** A body larger than this is a bug: every field is a number, an id or bounded text. */
export const MAX_PAYLOAD_BYTES = 20 * 1024;
const MAX_REASON_LENGTH = 1000;

const count = z.int().min(0);

export const webhookPayloadSchema = z
  .object({
    type: z.enum(webhookEventTypes),
    timestamp: z.string().describe("When the event happened (the job's state change), ISO 8601 UTC."),
    data: z.object({
      id: z.string().describe("The job's id."),
      kind: z.enum(jobKinds),
      status: z.enum(jobStates),
      revert_of: z.string().nullable(),
      dry_run: z.boolean(),
      counters: z.object({
        total_rows: count.nullable(),
        processed_rows: count,
        created: count,
        updated: count,
        unchanged: count,
        rejected_rows: count,
        skipped_rows: count,
        failed_rows: count,
        error_count: count,
        warning_count: count,
        would_archive: count.nullable(),
        archived: count,
        reverted: count,
        kept: count,
      }),
      failure_reason: z.string().nullable().describe(`Why a failed job failed, at most ${MAX_REASON_LENGTH} characters.`),
      links: z.object({ self: z.string(), errors: z.string(), failed_rows: z.string().nullable() }).describe("Paths on this API: GET them with a key."),
    }),
  })
  .meta({ id: "WebhookEvent", description: "The JSON body of every webhook delivery." });
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

export function webhookPayload(type: WebhookEventType, job: JobRow): WebhookPayload {
  const at = job.finishedAt ?? job.heartbeatAt;
  return {
    type,
    timestamp: new Date(at).toISOString(),
    data: {
      id: job.id,
      kind: job.kind,
      status: job.status,
      revert_of: job.revertOf,
      dry_run: job.dryRun,
      counters: {
        total_rows: job.totalRows,
        processed_rows: job.processedRows,
        created: job.created,
        updated: job.updated,
        unchanged: job.unchanged,
        rejected_rows: job.rejectedRows,
        skipped_rows: job.skippedRows,
        failed_rows: job.failedRecords,
        error_count: job.errorCount,
        warning_count: job.warningCount,
        would_archive: job.wouldArchive,
        archived: job.archived,
        reverted: job.reverted,
        kept: job.kept,
      },
      failure_reason: job.failureReason === null ? null : shorten(job.failureReason, MAX_REASON_LENGTH),
      links: { self: jobPath(job.id), errors: `${jobPath(job.id)}/errors`, failed_rows: job.kind === "revert" ? null : `${jobPath(job.id)}/failed-rows` },
    },
  };
}
