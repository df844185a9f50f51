// The upload client's workings (scripts/upload.ts is its command line): an upload session opened or resumed, its
// missing parts sent a few at a time with retries, completed into an import job, and the job followed to its end.
// Files, compression and the terminal are the command's; everything here takes what it needs as arguments, so the
// rules (which parts to send, which saved session to resume, when to retry) are tested on their own (test/node).
import { formatMediaType, formatOfFileName, type ImportFormat } from "../../src/model/formats.ts";
import { type JobState, progressingStates } from "../../src/model/job-states.ts";
import { partBytes, type UploadSessionState } from "../../src/model/upload-session.ts";

/** What the client reads of an upload session (the API's UploadSession). */
export interface Session {
  id: string;
  status: UploadSessionState;
  size: number;
  part_size: number;
  part_count: number;
  parts: { number: number; size: number; etag: string }[];
  job_id: string | null;
  expires_at: string;
}

/** What the client reads of an import job (the API's ImportJob). */
export interface Job {
  id: string;
  status: JobState;
  waiting_for: string | null;
  processed_rows: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected_rows: number;
  skipped_rows: number;
  error_count: number;
  warning_count: number;
  failure_reason: string | null;
  duration_ms: number | null;
  would_archive: number | null;
}

// ---------------------------------------------------------------------------
// Parts

/** The bytes of part `n`: [start, end) of the file as the session cuts it. */
export function partRange(session: Pick<Session, "size" | "part_size" | "part_count">, n: number): { start: number; end: number } {
  const start = (n - 1) * session.part_size;
  return { start, end: start + partBytes(session.size, { partSize: session.part_size, partCount: session.part_count }, n) };
}

/** The parts the session still needs, in order: those it has not received whole. */
export function partsToSend(session: Pick<Session, "size" | "part_size" | "part_count" | "parts">): number[] {
  const received = new Map(session.parts.map((p) => [p.number, p.size]));
  const needed: number[] = [];
  for (let n = 1; n <= session.part_count; n++) {
    const { start, end } = partRange(session, n);
    if (received.get(n) !== end - start) needed.push(n);
  }
  return needed;
}

// ---------------------------------------------------------------------------
// Resuming

/** What the command keeps beside the file while it uploads it, to resume an interrupted upload. */
export interface ResumeState {
  url: string;
  /** The file as it was when the session opened: another size or modification time is another file. */
  file: { size: number; mtimeMs: number };
  gzip: boolean;
  sessionId: string;
  /** Where the compressed copy is kept, with --gzip (the session's size is the copy's). */
  compressedPath: string | null;
}

/**
 * The session to resume, if the saved state is this upload's: the same API, the same file unchanged, and the same
 * choice of compression. Null: open a new session.
 */
export function resumableSession(saved: ResumeState | null, current: Omit<ResumeState, "sessionId" | "compressedPath">): string | null {
  if (!saved) return null;
  const same = saved.url === current.url && saved.gzip === current.gzip && saved.file.size === current.file.size && saved.file.mtimeMs === current.file.mtimeMs;
  return same ? saved.sessionId : null;
}

/** Reads a saved state; null for none, or one this version cannot read (a new session is opened then). */
export function parseResumeState(text: string | null): ResumeState | null {
  if (text === null) return null;
  try {
    const state = JSON.parse(text) as Partial<ResumeState>;
    const valid =
      typeof state.url === "string" &&
      typeof state.sessionId === "string" &&
      typeof state.gzip === "boolean" &&
      typeof state.file?.size === "number" &&
      typeof state.file.mtimeMs === "number" &&
      (state.compressedPath === null || typeof state.compressedPath === "string");
    return valid ? (state as ResumeState) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Requests and retries

/** Attempts per request: the first and five retries, over about half a minute of backoff. */
export const MAX_ATTEMPTS = 6;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

/** Statuses worth another attempt: the server or the way to it was briefly unable, or asks to wait. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * How long to wait before attempt `attempt + 1` (attempt counts from 1): exponential backoff with full jitter, capped,
 * or what the server's Retry-After says when it says seconds.
 */
export function retryDelay(attempt: number, retryAfter: string | null, random: () => number = Math.random): number {
  if (retryAfter !== null && /^\d+$/.test(retryAfter)) return Math.min(Number(retryAfter) * 1000, MAX_DELAY_MS);
  return Math.round(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt));
}

/** A response that is an error: its status and, when the API sent one, the problem's detail. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: { type?: string; detail?: string; [member: string]: unknown } | null;

  // Fields assigned by hand: Node runs this file by stripping its types, which leaves no parameter properties.
  constructor(status: number, problem: ApiError["problem"], what: string) {
    super(`${what}: ${status}${problem?.detail ? ` ${problem.detail}` : ""}`);
    this.status = status;
    this.problem = problem;
  }
}

export interface ApiOptions {
  url: string;
  key: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Told of each retry, to say so. */
  onRetry?: (what: string, attempt: number, reason: string, delayMs: number) => void;
}

export type Api = <T>(method: string, path: string, init?: { body?: Uint8Array<ArrayBuffer> | string; headers?: Record<string, string>; what?: string }) => Promise<{ status: number; body: T }>;

/** Requests to the API with its key, each retried on a network error or a retryable status; an error status throws ApiError. */
export function api({ url, key, fetch: send = fetch, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), onRetry }: ApiOptions): Api {
  const base = url.replace(/\/+$/, "");
  return async (method, path, init = {}) => {
    const what = init.what ?? `${method} ${path}`;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await send(`${base}${path}`, { method, body: init.body, headers: { authorization: `Bearer ${key}`, ...init.headers } });
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
        const delay = retryDelay(attempt, null);
        onRetry?.(what, attempt, (err as Error).message, delay);
        await sleep(delay);
        continue;
      }
      const text = await response.text();
      if (response.ok) return { status: response.status, body: (text ? JSON.parse(text) : null) as never };
      if (!isRetryable(response.status) || attempt >= MAX_ATTEMPTS) throw new ApiError(response.status, problemOf(text), what);
      const delay = retryDelay(attempt, response.headers.get("retry-after"));
      onRetry?.(what, attempt, `${response.status}`, delay);
      await sleep(delay);
    }
  };
}

function problemOf(text: string): ApiError["problem"] {
  try {
    return JSON.parse(text) as ApiError["problem"];
  } catch {
    return null;
  }
}

/** Runs `work` on every item, at most `concurrency` at once; the first failure stops new work and is thrown once the running work ends. */
export async function runBounded<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

// ---------------------------------------------------------------------------
// The session's steps

/** The media type a file is sent as, from its name (without a compression extension); null for one the API does not take. */
export function mediaTypeOf(fileName: string): string | null {
  const format: ImportFormat | undefined = formatOfFileName(fileName.replace(/\.gz$/i, ""));
  return format ? formatMediaType(format) : null;
}

export const UPLOADS = "/api/v1/uploads";

export function openSession(call: Api, file: { size: number; filename: string; contentType: string; gzip: boolean }): Promise<Session> {
  const body = { size: file.size, filename: file.filename, content_type: file.contentType, ...(file.gzip ? { content_encoding: "gzip" } : {}) };
  return call<Session>("POST", UPLOADS, { body: JSON.stringify(body), headers: { "content-type": "application/json" }, what: "opening the upload session" }).then((r) => r.body);
}

/** The session, or null when the API no longer has it (aborted, or expired). */
export async function findSession(call: Api, id: string): Promise<Session | null> {
  try {
    return (await call<Session>("GET", `${UPLOADS}/${encodeURIComponent(id)}`, { what: "reading the upload session" })).body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Sends the parts the session needs, `concurrency` at a time; `sent` is told of each part's bytes once it is in. */
export async function sendParts(
  call: Api,
  session: Session,
  readPart: (start: number, end: number) => Promise<Uint8Array<ArrayBuffer>>,
  { concurrency, sent }: { concurrency: number; sent: (bytes: number) => void },
): Promise<void> {
  await runBounded(partsToSend(session), concurrency, async (n) => {
    const { start, end } = partRange(session, n);
    const bytes = await readPart(start, end);
    await call("PUT", `${UPLOADS}/${session.id}/parts/${n}`, { body: bytes, headers: { "content-type": "application/octet-stream" }, what: `sending part ${n}` });
    sent(bytes.byteLength);
  });
}

/**
 * Completes the session into its job. The key makes a retry after a lost answer safe; a session completed before answers
 * its job all the same.
 */
export async function completeSession(call: Api, session: Session, options: Record<string, string>): Promise<Job> {
  const query = new URLSearchParams(options).toString();
  const { body } = await call<Job>("POST", `${UPLOADS}/${session.id}/complete${query ? `?${query}` : ""}`, {
    headers: { "idempotency-key": `upload-client-${session.id}` },
    what: "completing the upload session",
  });
  return body;
}

// ---------------------------------------------------------------------------
// Following the job

/** Whether the job is still the consumer's to move on; otherwise it ended, or waits for its client (a confirmation). */
export function stillMoving(job: Pick<Job, "status">): boolean {
  return progressingStates.includes(job.status);
}

/** The rate between two readings of a job, in rows per second; null before there are two, or while nothing was processed. */
export function rowsPerSecond(first: { rows: number; at: number } | null, now: { rows: number; at: number }): number | null {
  if (!first || now.at <= first.at || now.rows <= first.rows) return null;
  return ((now.rows - first.rows) * 1000) / (now.at - first.at);
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** The one line that says where the job stands. */
export function progressLine(job: Job, rate: number | null): string {
  const counts = `${int(job.processed_rows)} rows processed, ${rate === null ? "–" : int(rate)} rows/s, ${int(job.error_count)} errors`;
  switch (job.status) {
    case "pending":
    case "queued":
      return `${job.id} ${job.status}${job.waiting_for ? `, waiting for ${job.waiting_for}` : ""}`;
    case "processing":
      return `${job.id} processing: ${counts}`;
    case "completed":
      return (
        `${job.id} completed: ${int(job.processed_rows)} rows (${int(job.created)} created, ${int(job.updated)} updated, ${int(job.unchanged)} unchanged, ` +
        `${int(job.rejected_rows)} rejected, ${int(job.skipped_rows)} skipped), ${int(job.error_count)} errors, ${int(job.warning_count)} warnings` +
        (job.duration_ms === null ? "" : `, ${(job.duration_ms / 1000).toFixed(1)} s`)
      );
    case "failed":
      return `${job.id} failed after ${int(job.processed_rows)} rows: ${job.failure_reason ?? "no reason given"}`;
    case "canceled":
      return `${job.id} canceled after ${int(job.processed_rows)} rows (the rows committed before the cancel stay)`;
    case "needs_confirmation":
      return `${job.id} needs confirmation: its rows are in, and archiving would set ${int(job.would_archive ?? 0)} products the file did not mention to archived; POST /api/v1/products/import/${job.id}/confirm to go on`;
  }
}
