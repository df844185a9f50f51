// A feed's fetch: the URL requested through the outbound guard (conditional on the last file's ETag and Last-Modified),
// and a changed file streamed into R2 and made a job by the upload's own acceptance (acceptStoredUpload), with the
// feed's options: the same job JSON (plus feed_id), the same order of application. Each fetch is recorded, whatever
// its outcome; failures in a row pause the feed.
import { newId } from "../auth/keys.ts";
import { type Config, type Env, readConfig } from "../config.ts";
import { MissingEncryptionKeyError } from "../crypto/secret-box.ts";
import { database, type Db } from "../db/client.ts";
import { claimSlot, type FeedFetchRow, type FeedRow, findDueFeeds, finishFetch, insertFetchOnce, purgeOldFetches, recordFetchJob, runningFetch } from "../db/queries/feeds.ts";
import { sha256Hex } from "../hash.ts";
import { acceptStoredUpload, jobObjectKey, objectMetadata, resolveUpload } from "../imports/jobs/upload.ts";
import { loggedError } from "../log-error.ts";
import { shorten } from "../text.ts";
import { type Charset, charsetOf } from "../model/charsets.ts";
import { contentEncodingOf } from "../model/content-encodings.ts";
import { type FetchTrigger, pausedByFailures } from "../model/feeds.ts";
import { formatMediaType, formatOfFileName, formatOfMediaType, type ImportFormat } from "../model/formats.ts";
import { cleanFileName, type UploadedFile } from "../model/upload-file.ts";
import { OutboundBodyError, outboundFetch } from "../outbound/fetch.ts";
import { outboundPolicy } from "../outbound/url-guard.ts";
import { credentialHeaders } from "./credentials.ts";
import { feedImport, scheduleOf, type StoredUploadOptions } from "./feed.ts";
import { nextRunAt } from "./schedule.ts";
import { storeStream } from "./store.ts";

/** Due feeds taken per round of a cron run, oldest slot first. */
export const FEEDS_PER_RUN = 10;
/** A cron run starts new rounds for this long (a round may then take up to FEED_FETCH_TIMEOUT_SECONDS more). */
const ROUNDS_MS = 3 * 60_000;
/** And at most this many rounds. */
const MAX_ROUNDS = 20;
/** Fetches a feed's history keeps; older ones are deleted as new ones are recorded. */
export const FETCHES_KEPT = 100;
/** The longest `reason` a fetch records. */
const MAX_REASON_LENGTH = 1000;
/** Fetches of one cron run at a time: each may hold a part of a streamed file in memory. */
const FETCHES_AT_ONCE = 3;
/** The longest a server may take to start answering (within the fetch's whole timeout). */
const HEADERS_TIMEOUT_MS = 30_000;
const GZIP_MEDIA_TYPES = ["application/gzip", "application/x-gzip"];
const GZIP_EXTENSION = /\.gz$/i;

type Outcome =
  | { outcome: "job_created"; httpStatus: number; bytes: number; jobId: string; etag: string | null; lastModified: string | null }
  | { outcome: "unchanged"; httpStatus: number }
  | { outcome: "failed"; httpStatus: number | null; bytes?: number; jobId?: string; reason: string };

/**
 * The cron's part: the due feeds, oldest slot first, each claimed by this run alone and fetched, a round of
 * FEEDS_PER_RUN at a time, while the run has time for another round (the next cron run takes the rest). Returns how
 * many were fetched.
 */
export async function runDueFeeds(env: Env, config: Config, now = Date.now()): Promise<number> {
  const db = database(env.DB);
  let fetched = 0;
  for (let round = 0; round < MAX_ROUNDS && Date.now() - now < ROUNDS_MS; round++) {
    // A claimed feed's slot has moved past `now`: a round never finds a feed of an earlier round again.
    const due = await findDueFeeds(db, now, FEEDS_PER_RUN);
    if (due.length === 0) break;
    fetched += await fetchRound(env, db, config, due, now);
  }
  return fetched;
}

async function fetchRound(env: Env, db: Db, config: Config, due: FeedRow[], now: number): Promise<number> {
  // Settled one by one: a feed whose fetch could not even be recorded (D1 failing) does not stop the others.
  const fetched = await settledAtMost(FETCHES_AT_ONCE, due, async (feed) => {
    const slot = feed.nextRunAt;
    // The slot moves on before anything is sent: a second run (or a retried one) finds it claimed.
    if (!(await claimSlot(db, feed.id, slot, nextRunAt(scheduleOf(feed), slot, now), now))) return false;
    const started = await startFetch(db, feed, "schedule", await scheduledFetchId(feed.id, slot), now);
    if (!started) return false;
    await fetchFeed(env, db, config, feed, started);
    return true;
  });
  for (const [i, result] of fetched.entries()) {
    if (result.status === "rejected") console.error(JSON.stringify({ level: "error", msg: "feed run failed", feed_id: due[i]!.id, ...loggedError(result.reason) }));
  }
  return fetched.filter((result) => result.status === "fulfilled" && result.value).length;
}

/**
 * POST …/run: a fetch now, outside the schedule (which it leaves alone); `running` with the fetch under way when the
 * feed is being fetched already.
 */
export async function runFeedNow(env: Env, db: Db, feed: FeedRow, now = Date.now()): Promise<{ ran: FeedFetchRow } | { running: FeedFetchRow | null }> {
  const started = await startFetch(db, feed, "manual", newId("fch"), now);
  if (!started) return { running: await runningFetch(db, feed.id) };
  return { ran: await fetchFeed(env, db, readConfig(env), feed, started) };
}

/** One id per feed and due slot: however many runs reach the slot, one fetch row is inserted. */
async function scheduledFetchId(feedId: string, slot: number): Promise<string> {
  return `fch_${(await sha256Hex(`${feedId}@${slot}`)).slice(0, 26)}`;
}

async function startFetch(db: Db, feed: FeedRow, trigger: FetchTrigger, id: string, now: number): Promise<FeedFetchRow | null> {
  const row: FeedFetchRow = {
    id,
    feedId: feed.id,
    tenantId: feed.tenantId,
    trigger,
    outcome: "running",
    httpStatus: null,
    bytes: null,
    jobId: null,
    reason: null,
    startedAt: now,
    finishedAt: null,
  };
  return (await insertFetchOnce(db, row)) ? row : null;
}

async function fetchFeed(env: Env, db: Db, config: Config, feed: FeedRow, started: FeedFetchRow): Promise<FeedFetchRow> {
  let result: Outcome;
  try {
    result = await fetchOnce(env, db, config, feed, started.id);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "feed fetch failed", feed_id: feed.id, fetch_id: started.id, ...loggedError(err) }));
    result = { outcome: "failed", httpStatus: null, reason: "The fetch failed on our side; it will be tried again at the next scheduled time." };
  }
  const finished: FeedFetchRow = {
    ...started,
    outcome: result.outcome,
    httpStatus: result.httpStatus,
    bytes: "bytes" in result ? (result.bytes ?? null) : null,
    jobId: "jobId" in result ? (result.jobId ?? null) : null,
    // Bounded: a reason can quote what the server sent (its status text, its Content-Type).
    reason: "reason" in result ? shorten(result.reason, MAX_REASON_LENGTH) : null,
    finishedAt: Date.now(),
  };
  const row = await finishFetch(db, finished, {
    succeeded: result.outcome !== "failed",
    ...(result.outcome === "job_created" ? { etag: result.etag, lastModified: result.lastModified } : {}),
    pauseAfter: config.feedPauseAfterFailures,
    pauseReason:
      result.outcome === "failed" ? pausedByFailures(config.feedPauseAfterFailures, finished.reason ?? "") : "",
  });
  await purgeOldFetches(db, feed.id, FETCHES_KEPT);
  console.log(JSON.stringify({ msg: "feed fetch", feed_id: feed.id, fetch_id: row.id, trigger: row.trigger, outcome: row.outcome, http_status: row.httpStatus, job_id: row.jobId }));
  return row;
}

const failed = (reason: string, httpStatus: number | null = null): Outcome => ({ outcome: "failed", httpStatus, reason });

async function fetchOnce(env: Env, db: Db, config: Config, feed: FeedRow, fetchId: string): Promise<Outcome> {
  let credentials: Awaited<ReturnType<typeof credentialHeaders>>;
  try {
    credentials = await credentialHeaders(env, feed.id, feed.sealedCredentials);
  } catch (err) {
    if (err instanceof MissingEncryptionKeyError) return failed("The feed's credentials cannot be read: the deployment's ENCRYPTION_KEY is not set.");
    throw err;
  }
  const headers: Record<string, string> = { ...credentials.headers, "accept-encoding": "gzip" };
  if (feed.etag) headers["if-none-match"] = feed.etag;
  if (feed.lastModified) headers["if-modified-since"] = feed.lastModified;
  const fetched = await outboundFetch(
    feed.url,
    { headers, sensitiveHeaders: credentials.sensitive, keepEncoded: true },
    outboundPolicy(env),
    { headersTimeoutMs: Math.min(HEADERS_TIMEOUT_MS, config.feedFetchTimeoutMs), totalTimeoutMs: config.feedFetchTimeoutMs, maxBytes: config.maxUploadBytes },
  );
  if (fetched.kind === "refused") return failed(`URL refused: ${fetched.reason}.`);
  if (fetched.kind === "failed") {
    if (fetched.reason === "timeout") return failed(`Timed out: ${fetched.detail} (FEED_FETCH_TIMEOUT_SECONDS).`);
    if (fetched.reason === "too_many_redirects") return failed(`Too many redirects: ${fetched.detail}.`);
    return failed(`Network error: ${fetched.detail}.`);
  }
  const { response, url } = fetched;
  const status = response.status;
  if (status === 304) return { outcome: "unchanged", httpStatus: status };
  if (status !== 200) {
    await response.body?.cancel();
    return failed(`The server answered HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}.`, status);
  }
  const file = fileOf(feed, response, url);
  if (!file.ok) {
    await response.body?.cancel();
    return failed(file.reason, status);
  }
  const made = feedImport(JSON.parse(feed.uploadOptions) as StoredUploadOptions, file.file.charset);
  // The size is known once the file is stored.
  const source: UploadedFile = { ...file.file, fileName: made.fileName ?? file.file.fileName, size: 0 };
  const request = { tenantId: feed.tenantId, source, options: made.options, dryRun: false, columns: made.columns, feedId: feed.id };
  const resolved = await resolveUpload(db, request);
  if (!resolved.ok) {
    await response.body?.cancel();
    return failed(unreadableReason(resolved.failure, made.columns.profile, source.format), status);
  }
  const length = contentLength(response);
  if (length !== null && length > config.maxUploadBytes) {
    await response.body?.cancel();
    return failed(`The file is larger than MAX_UPLOAD_BYTES (${config.maxUploadBytes} bytes): its Content-Length is ${length}.`, status);
  }
  if (length === 0 || response.body === null) return failed("The server sent an empty file.", status);

  const jobId = newId("imp");
  const key = jobObjectKey(feed.tenantId, jobId);
  // Named on the fetch before anything is stored: a fetch the Worker's end cuts off from here on is settled by the
  // sweeper from its job (made, or not: then its file is deleted), never left with a file nobody owns.
  await recordFetchJob(db, fetchId, jobId);
  let bytes: number;
  try {
    bytes = await storeStream(env.UPLOADS, key, response.body, length, objectMetadata(source));
  } catch (err) {
    if (err instanceof OutboundBodyError) {
      return failed(
        err.reason === "too_large"
          ? `The file is larger than MAX_UPLOAD_BYTES (${config.maxUploadBytes} bytes); nothing was imported.`
          : `Timed out while the file was read: ${err.message} (FEED_FETCH_TIMEOUT_SECONDS); nothing was imported.`,
        status,
      );
    }
    return failed(`The connection broke before the whole file arrived; nothing was imported (${err instanceof Error ? err.message : String(err)}).`, status);
  }
  if (bytes === 0) {
    await env.UPLOADS.delete(key);
    return failed("The server sent an empty file.", status);
  }
  const accepted = await acceptStoredUpload(env, db, { ...request, source: { ...source, size: bytes } }, resolved, jobId);
  if (!accepted.ok) return { outcome: "failed", httpStatus: status, bytes, jobId, reason: "reason" in accepted ? accepted.reason : "The file could not be made a job." };
  return { outcome: "job_created", httpStatus: status, bytes, jobId, etag: response.headers.get("etag"), lastModified: response.headers.get("last-modified") };
}

function contentLength(response: Response): number | null {
  const header = response.headers.get("content-length");
  return header !== null && /^\d+$/.test(header) ? Number(header) : null;
}

/**
 * What the response's headers say of the file, as an upload's say of its body: the format (given by the feed, else by
 * the Content-Type, else by the URL's extension), the charset and the compression (Content-Encoding: gzip, or a gzip file).
 */
function fileOf(feed: FeedRow, response: Response, url: URL): { ok: true; file: Omit<UploadedFile, "size"> } | { ok: false; reason: string } {
  const encoding = contentEncodingOf(response.headers.get("content-encoding"));
  if (!encoding.ok) return { ok: false, reason: `The server sent the file with Content-Encoding "${encoding.given}"; only gzip is read.` };
  const [rawType = "", ...params] = (response.headers.get("content-type") ?? "").split(";");
  const type = rawType.trim().toLowerCase();
  const label = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith("charset="))?.slice("charset=".length).replace(/^"|"$/g, "") ?? null;
  const lastSegment = decodedSegment(url.pathname.split("/").pop() ?? "");
  const gzipFile = GZIP_MEDIA_TYPES.includes(type) || (GZIP_EXTENSION.test(lastSegment) && encoding.encoding === null);
  const format: ImportFormat | undefined =
    (feed.format as ImportFormat | null) ?? formatOfMediaType(type) ?? formatOfFileName(gzipFile ? lastSegment.replace(GZIP_EXTENSION, "") : lastSegment);
  if (!format) {
    return { ok: false, reason: `The file's format is unknown (Content-Type "${type || "(none)"}", URL ${url.pathname}): give the feed a \`format\`.` };
  }
  let charset: Charset | null = (feed.charset as Charset | null) ?? null;
  if (charset === null && label !== null && !gzipFile) {
    charset = charsetOf(label);
    if (charset === null) return { ok: false, reason: `The response declares charset "${label}", which is not supported: give the feed an \`encoding\`.` };
  }
  return {
    ok: true,
    file: {
      format,
      contentType: formatMediaType(format),
      charset,
      contentEncoding: encoding.encoding ?? (gzipFile ? "gzip" : null),
      fileName: lastSegment === "" ? null : cleanFileName(lastSegment),
    },
  };
}

function unreadableReason(failure: "unknown_profile" | "preset_not_csv" | "preset_with_mapping", profile: string | undefined, format: ImportFormat): string {
  switch (failure) {
    case "unknown_profile":
      return `The feed's profile "${profile}" names no saved profile (it was deleted?); nothing was imported.`;
    case "preset_not_csv":
      return `The feed's profile "${profile}" is a built-in preset, which reads CSV exports; this file is ${format.toUpperCase()}.`;
    case "preset_with_mapping":
      return `The feed's profile "${profile}" is a built-in preset, which reads the export's own columns; remove the feed's mapping.`;
  }
}

/** A path segment decoded, or as it is when its percent-encoding is broken (`%ZZ`): a file name, not a reason to fail. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Promise.allSettled over `items`, with at most `limit` of them running at a time. */
async function settledAtMost<T, R>(limit: number, items: readonly T[], run: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await run(items[i]!) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
