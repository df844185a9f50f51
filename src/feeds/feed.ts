// A feed as the API takes it and shows it. Its import options are the upload's own (imports/jobs/upload-options.ts
// uploadQuery), under the same names and in the same text form: kept as given and read by the upload's schema at every
// fetch, so that a feed's job is made from exactly what an upload with those options makes.
import { z } from "zod";
import { MAX_OUTBOUND_URL_LENGTH } from "../outbound/url-guard.ts";
import { jobOptionsOf, uploadQuery } from "../imports/jobs/upload-options.ts";
import { optionsJson, jobOptionsSchema } from "../imports/jobs/job.ts";
import { columnMappingSchema, type ColumnMapping } from "../imports/sources/column-mapping.ts";
import type { JobOptions } from "../imports/sources/options.ts";
import { type Charset, charsets } from "../model/charsets.ts";
import { feedStates } from "../model/feeds.ts";
import { type ImportFormat, importFormats, formatMediaTypes } from "../model/formats.ts";
import type { FeedRow } from "../db/queries/feeds.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { credentialsSchema, credentialsShownSchema, shownCredentials } from "./credentials.ts";
import { dailyAtSchema, everyMinutesSchema, type Schedule } from "./schedule.ts";

/** Feeds a tenant keeps at most: each is fetched by the shared cron, so they are bounded like everything a client makes. */
export const MAX_FEEDS = 25;
export const FEED_NAME_MAX_LENGTH = 200;

/** The upload's options a feed takes: all but `dry_run` (a feed imports). */
export const feedUploadOptions = uploadQuery.omit({ dry_run: true });
type UploadOptionName = keyof typeof feedUploadOptions.shape;
export const uploadOptionNames = Object.keys(feedUploadOptions.shape) as UploadOptionName[];
/** The upload options as given, in their text form (the query's). */
export type StoredUploadOptions = Partial<Record<UploadOptionName, string>>;

const feedFields = {
  url: z
    .string()
    .max(MAX_OUTBOUND_URL_LENGTH)
    .describe(
      "The feed's URL: https only, no credentials in it, no private, loopback, link-local or internal address or name (a refused URL is a 422 `url-refused`). " +
        "Redirects are followed (at most 3), each target checked the same way.",
    ),
  name: z.string().min(1).max(FEED_NAME_MAX_LENGTH).regex(/^\P{Cc}*$/u, { error: "must not contain control characters" }).describe("A label for the feed."),
  every_minutes: everyMinutesSchema,
  daily_at: dailyAtSchema,
  credentials: credentialsSchema,
  format: z
    .enum(importFormats)
    .describe(`The file's format; default: from the response's Content-Type (${formatMediaTypes.join(" or ")}), else from the URL's extension.`),
  encoding: z
    .enum(charsets)
    .describe("The charset the file is in, as an upload's Content-Type charset declares it; default: the response's Content-Type charset, else detected as for an upload."),
};

const oneSchedule = (input: { every_minutes?: unknown; daily_at?: unknown }, ctx: z.RefinementCtx) => {
  if ((input.every_minutes === undefined) === (input.daily_at === undefined)) {
    ctx.addIssue({ code: "custom", path: ["every_minutes"], message: "give exactly one of every_minutes and daily_at" });
  }
};

export const feedInputSchema = z
  .object({
    ...feedUploadOptions.shape,
    ...feedFields,
    name: feedFields.name.optional(),
    every_minutes: feedFields.every_minutes.optional(),
    daily_at: feedFields.daily_at.optional(),
    credentials: feedFields.credentials.optional(),
    format: feedFields.format.optional(),
    encoding: feedFields.encoding.optional(),
  })
  .strict()
  .superRefine(oneSchedule)
  .describe(
    "The feed: `url`, its schedule (`every_minutes` or `daily_at`), optional `credentials`, and the import options of an upload under their upload names, " +
      "as the upload's query parameters take them (strings: `mapping` is JSON text, `max_archive` a count or percentage).",
  );

const nullable = <S extends z.ZodType>(schema: S) => schema.nullable().optional();

export const feedPatchSchema = z
  .object({
    ...Object.fromEntries(uploadOptionNames.map((name) => [name, nullable(feedUploadOptions.shape[name])])),
    url: feedFields.url.optional(),
    name: nullable(feedFields.name),
    every_minutes: feedFields.every_minutes.optional(),
    daily_at: feedFields.daily_at.optional(),
    credentials: nullable(feedFields.credentials),
    format: nullable(feedFields.format),
    encoding: nullable(feedFields.encoding),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.every_minutes !== undefined && input.daily_at !== undefined) {
      ctx.addIssue({ code: "custom", path: ["every_minutes"], message: "give at most one of every_minutes and daily_at" });
    }
  })
  .describe(
    "The fields to change; the others stay. A schedule given (`every_minutes` or `daily_at`) replaces the schedule. `null` removes `name`, `credentials`, " +
      "`format`, `encoding` or an import option (back to the upload's default). A new URL forgets the last file's ETag and Last-Modified.",
  );

/** The upload options the JSON gave (validated already), as given: a null (a patch's removal) as null. */
export function givenUploadOptions(json: unknown): Partial<Record<UploadOptionName, string | null>> {
  const body = json as Record<string, unknown>;
  return Object.fromEntries(uploadOptionNames.filter((name) => Object.hasOwn(body, name)).map((name) => [name, body[name] as string | null]));
}

export interface FeedImport {
  options: JobOptions;
  columns: { profile?: string; mapping?: ColumnMapping };
  fileName: string | undefined;
}

/**
 * What a feed's jobs are made with: its stored options read by the upload's schema, as an upload's query is. A problem
 * naming the body's fields when they do not go together (checked when a feed is created or changed).
 */
export function feedImport(stored: StoredUploadOptions, charset: Charset | null): FeedImport {
  const parsed = feedUploadOptions.safeParse(stored);
  if (!parsed.success) {
    throw problems.validation(parsed.error.issues.map((issue) => ({ location: "body", name: issue.path.map(String).join(".") || "(body)", message: issue.message })));
  }
  const query = parsed.data;
  let options: JobOptions;
  try {
    options = jobOptionsOf(query, charset);
  } catch (err) {
    if (err instanceof ProblemError && err.problem.errors) throw problems.validation(err.problem.errors.map((e) => ({ ...e, location: "body" })));
    throw err;
  }
  return { options, columns: { profile: query.profile, mapping: query.mapping }, fileName: query.filename };
}

export function scheduleOf(feed: Pick<FeedRow, "everyMinutes" | "dailyAt">): Schedule {
  return feed.everyMinutes !== null ? { everyMinutes: feed.everyMinutes, dailyAt: null } : { everyMinutes: null, dailyAt: feed.dailyAt ?? "00:00" };
}

const iso = (ms: number) => new Date(ms).toISOString();

export const feedSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    url: z.string(),
    every_minutes: z.int().nullable().describe("The interval in minutes, or null for a daily feed."),
    daily_at: z.string().nullable().describe('The daily UTC time "HH:MM", or null for an interval.'),
    format: z.enum(importFormats).nullable().describe("The format given, or null: from each response's Content-Type or the URL's extension."),
    encoding: z.enum(charsets).nullable().describe("The charset given, or null: from each response's Content-Type, else detected."),
    file_name: z.string().nullable().describe("The `filename` given for the jobs, or null: the last segment of the URL's path."),
    options: jobOptionsSchema.describe("The options the feed's jobs are made with, as a job shows them."),
    profile: z.string().nullable().describe("The saved profile or built-in preset the jobs read the file with (`profile`), or null."),
    mapping: z.union([columnMappingSchema, z.null()]).describe("The feed's own column mapping (`mapping`), or null."),
    credentials: credentialsShownSchema,
    status: z.enum(feedStates).describe("`active`: fetched on its schedule; `paused`: not (POST …/resume). POST …/run fetches either now."),
    paused_reason: z.string().nullable().describe("Why the feed is paused: by POST …/pause, or after too many failed fetches in a row (the last one's reason); null while active."),
    consecutive_failures: z.int().min(0).describe("Failed fetches in a row; FEED_PAUSE_AFTER_FAILURES of them pause the feed (a deployment setting)."),
    next_run_at: z.iso.datetime().nullable().describe("When the next scheduled fetch is due (at the first cron run from then on); null while paused."),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    links: z.object({ self: z.string(), fetches: z.string(), run: z.string() }),
  })
  .meta({ id: "Feed" });

export type FeedJson = z.output<typeof feedSchema>;

export function feedPath(id: string): string {
  return `/api/v1/feeds/${id}`;
}

export function toFeedJson(feed: FeedRow): FeedJson {
  const stored = JSON.parse(feed.uploadOptions) as StoredUploadOptions;
  const charset = (feed.charset as Charset | null) ?? null;
  const made = feedImport(stored, charset);
  return {
    id: feed.id,
    name: feed.name,
    url: feed.url,
    every_minutes: feed.everyMinutes,
    daily_at: feed.dailyAt,
    format: feed.format as ImportFormat | null,
    encoding: charset,
    file_name: made.fileName ?? null,
    options: optionsJson(made.options),
    profile: made.columns.profile ?? null,
    mapping: made.columns.mapping ?? null,
    credentials: shownCredentials(feed),
    status: feed.status,
    paused_reason: feed.pausedReason,
    consecutive_failures: feed.consecutiveFailures,
    next_run_at: feed.status === "active" ? iso(feed.nextRunAt) : null,
    created_at: iso(feed.createdAt),
    updated_at: iso(feed.updatedAt),
    links: { self: feedPath(feed.id), fetches: `${feedPath(feed.id)}/fetches`, run: `${feedPath(feed.id)}/run` },
  };
}
