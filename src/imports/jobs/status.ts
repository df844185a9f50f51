// The import status summary as clients see it: its schema (documented in OpenAPI), its body and its ETag.
import { z } from "zod";
import { DURATION_SAMPLE_JOBS, type recentJobsQuery, type StatusGroup, type StatusRollups, summarize } from "../../db/queries/import-status.ts";
import { jobResponseSchema, toJobJson } from "./job.ts";
import { type JobState, jobStates, stateSummary } from "../../model/job-states.ts";
import { sha256Hex } from "../../hash.ts";

const count = (what: string) => z.int().min(0).describe(`Jobs ${what}.`);
const stateCounts = Object.fromEntries(jobStates.map((state) => [state, count(stateSummary(state))])) as Record<JobState, ReturnType<typeof count>>;

export const statusSchema = z
  .object({
    total: z.int().min(0).describe("All of the caller's jobs within retention (JOB_RETENTION_DAYS)."),
    ...stateCounts,
    errors: z.int().min(0).describe("Sum of error_count over all jobs."),
    warnings: z.int().min(0).describe("Sum of warning_count over all jobs."),
    avg_duration_ms: z.int().min(0).nullable().describe("Mean finished_at − started_at over completed jobs; null when there are none."),
    processed_rows: z.int().min(0).describe("Sum of processed_rows over all jobs: the data rows the caller's imports have read."),
    duration_p50_ms: z
      .int()
      .min(0)
      .nullable()
      .describe(`Median finished_at − started_at of the ${DURATION_SAMPLE_JOBS} most recently finished completed jobs (fewer when there are fewer); null when there are none.`),
    duration_p95_ms: z
      .int()
      .min(0)
      .nullable()
      .describe(`95th percentile (nearest rank) of the same durations as duration_p50_ms; null when there are none.`),
    oldest_queued_at: z.iso
      .datetime()
      .nullable()
      .describe("queued_at of the longest-waiting job in state `queued` (ISO 8601 UTC); null when none is queued. A growing age means imports back up."),
    oldest_queued_age_ms: z
      .int()
      .min(0)
      .nullable()
      .describe("How long that job has been queued when the summary was answered, in milliseconds; null when none is queued. Not covered by the ETag (a 304 still means only the age moved: compute it from oldest_queued_at)."),
    last_jobs: z.array(jobResponseSchema).describe("The newest jobs, newest first (created_at, then id)."),
  })
  .meta({ id: "ImportStatus" });

type Recent = Awaited<ReturnType<typeof recentJobsQuery>>;

/**
 * The summary's JSON body and its weak ETag: a hash of the body without oldest_queued_age_ms, the one field that moves
 * with the clock alone, so that polling a backlog that does not change still answers 304.
 */
export async function statusBody(groups: readonly StatusGroup[], rollups: StatusRollups, recent: Recent, now: number): Promise<{ body: string; etag: string }> {
  const summary = summarize(groups);
  const body = {
    total: summary.total,
    ...summary.counts,
    errors: summary.errors,
    warnings: summary.warnings,
    avg_duration_ms: summary.avgDurationMs,
    processed_rows: summary.processedRows,
    duration_p50_ms: rollups.durationP50Ms,
    duration_p95_ms: rollups.durationP95Ms,
    oldest_queued_at: rollups.oldestQueuedAt === null ? null : new Date(rollups.oldestQueuedAt).toISOString(),
    oldest_queued_age_ms: rollups.oldestQueuedAt === null ? null : Math.max(0, now - rollups.oldestQueuedAt),
    last_jobs: recent.map(toJobJson),
  } satisfies z.output<typeof statusSchema>;
  const { oldest_queued_age_ms: _age, ...validated } = body;
  return { body: JSON.stringify(body), etag: `W/"${(await sha256Hex(JSON.stringify(validated))).slice(0, 32)}"` };
}
