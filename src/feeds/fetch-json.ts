// A feed's fetch as its history shows it.
import { z } from "zod";
import type { FeedFetchRow } from "../db/queries/feeds.ts";
import { jobPath } from "../imports/jobs/job.ts";
import { fetchOutcomes, fetchTriggers } from "../model/feeds.ts";

export const feedFetchSchema = z
  .object({
    id: z.string(),
    feed_id: z.string(),
    trigger: z.enum(fetchTriggers).describe("`schedule`: the cron fetched the feed when due; `manual`: POST …/run."),
    outcome: z
      .enum(fetchOutcomes)
      .describe(
        "`job_created`: the file changed and became the job `job_id`; `unchanged`: the server answered 304 Not Modified to the last file's ETag / Last-Modified, no job; " +
          "`failed`: no file was imported (`reason` says why); `running`: not finished (a fetch cut short by the Worker's end stays so).",
      ),
    http_status: z.int().nullable().describe("The status the server answered (after redirects); null when no answer came (refused URL, timeout, network)."),
    bytes: z.int().min(0).nullable().describe("The file's size as sent (compressed, for a gzip file), once stored; null when no file was stored."),
    job_id: z.string().nullable().describe("The import job the file became; null when none was made."),
    job: z.string().nullable().describe("The job's URL, or null."),
    reason: z.string().nullable().describe("Why the fetch failed: a refused URL or redirect target, a timeout, a file too large, an HTTP status, a network error."),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "FeedFetch" });

export function toFetchJson(row: FeedFetchRow): z.output<typeof feedFetchSchema> {
  return {
    id: row.id,
    feed_id: row.feedId,
    trigger: row.trigger,
    outcome: row.outcome,
    http_status: row.httpStatus,
    bytes: row.bytes,
    job_id: row.jobId,
    job: row.jobId === null ? null : jobPath(row.jobId),
    reason: row.reason,
    started_at: new Date(row.startedAt).toISOString(),
    finished_at: row.finishedAt === null ? null : new Date(row.finishedAt).toISOString(),
  };
}
