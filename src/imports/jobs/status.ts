// The import status summary as clients see it: its schema (documented in OpenAPI), its body and its ETag.
import { z } from "zod";
import { type recentJobsQuery, type StatusGroup, summarize } from "../../db/queries/import-status.ts";
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
    last_jobs: z.array(jobResponseSchema).describe("The newest jobs, newest first (created_at, then id)."),
  })
  .meta({ id: "ImportStatus" });

type Recent = Awaited<ReturnType<typeof recentJobsQuery>>;

/** The summary's JSON body and its strong ETag (a hash of exactly those bytes). */
export async function statusBody(groups: readonly StatusGroup[], recent: Recent): Promise<{ body: string; etag: string }> {
  const summary = summarize(groups);
  const body = JSON.stringify({
    total: summary.total,
    ...summary.counts,
    errors: summary.errors,
    warnings: summary.warnings,
    avg_duration_ms: summary.avgDurationMs,
    last_jobs: recent.map(toJobJson),
  } satisfies z.output<typeof statusSchema>);
  return { body, etag: `"${(await sha256Hex(body)).slice(0, 32)}"` };
}
