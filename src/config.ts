import type { ImportMessage } from "./model/import-message.ts";
import type { WebhookMessage } from "./model/webhook-message.ts";
import { PART_RULE_MAX_BYTES, R2_MAX_PARTS, R2_MIN_PART_BYTES } from "./model/upload-session.ts";

/** Bindings and vars declared in wrangler.toml. */
export interface Env {
  DB: D1Database;
  UPLOADS: R2Bucket;
  IMPORT_QUEUE: Queue<ImportMessage>;
  WEBHOOK_QUEUE: Queue<WebhookMessage>;
  MAX_UPLOAD_BYTES?: string;
  MAX_MULTIPART_BYTES?: string;
  MAX_SESSION_BYTES?: string;
  UPLOAD_SESSION_HOURS?: string;
  MAX_INFLATED_BYTES?: string;
  INFLATE_PART_BYTES?: string;
  IMPORT_SLICE_MS?: string;
  IMPORT_SLICE_ROWS?: string;
  IMPORT_CHUNK_ROWS?: string;
  MAX_STORED_ERRORS?: string;
  STUCK_JOB_MINUTES?: string;
  UPLOAD_RETENTION_DAYS?: string;
  JOB_RETENTION_DAYS?: string;
  CONFIRMATION_HOURS?: string;
  KEEP_REVERT_DATA?: string;
  IMPORT_QUEUE_NAME?: string;
  DEAD_LETTER_QUEUE_NAME?: string;
  WEBHOOK_QUEUE_NAME?: string;
  WEBHOOK_DEAD_LETTER_QUEUE_NAME?: string;
  WEBHOOK_DISABLE_AFTER_FAILURES?: string;
  /** "true" only in local development and tests: outbound requests may go to http://localhost (src/outbound/url-guard.ts). */
  ALLOW_LOCALHOST_URLS?: string;
  /** Worker secret: the base64 of 32 bytes that seals stored secrets (src/crypto/secret-box.ts). */
  ENCRYPTION_KEY?: string;
  FEED_FETCH_TIMEOUT_SECONDS?: string;
  FEED_PAUSE_AFTER_FAILURES?: string;
  /** Workers Rate Limiting bindings ([[ratelimits]]), one per class of route (rateLimitBindings). */
  UPLOADS_RATE_LIMITER: RateLimit;
  MANAGEMENT_RATE_LIMITER: RateLimit;
  READS_RATE_LIMITER: RateLimit;
  /** `<limit>/<period>`: the [[ratelimits]] settings of each binding, which the Worker cannot read from the binding. */
  RATE_LIMIT_UPLOADS?: string;
  RATE_LIMIT_MANAGEMENT?: string;
  RATE_LIMIT_READS?: string;
}

/**
 * The classes of routes with a request budget per API key: sending files, changing things, reading. Each has its
 * binding and its var (which must say what the binding's [[ratelimits]] entry says: the headers tell clients).
 */
export const rateLimitClasses = ["uploads", "management", "reads"] as const;
export type RateLimitClass = (typeof rateLimitClasses)[number];
export const rateLimitBindings = {
  uploads: "UPLOADS_RATE_LIMITER",
  management: "MANAGEMENT_RATE_LIMITER",
  reads: "READS_RATE_LIMITER",
} as const satisfies Record<RateLimitClass, keyof Env>;
const rateLimitVars = {
  uploads: "RATE_LIMIT_UPLOADS",
  management: "RATE_LIMIT_MANAGEMENT",
  reads: "RATE_LIMIT_READS",
} as const satisfies Record<RateLimitClass, keyof Env>;
/** The documented defaults, which wrangler.toml's [[ratelimits]] entries also state. */
export const defaultRateLimits: Record<RateLimitClass, RateLimitPolicy> = {
  uploads: { limit: 300, period: 60 },
  management: { limit: 120, period: 60 },
  reads: { limit: 1200, period: 60 },
};

/** Requests allowed per period (seconds; the binding takes 10 or 60). */
export interface RateLimitPolicy {
  limit: number;
  period: 10 | 60;
}

export interface Config {
  maxUploadBytes: number;
  maxMultipartBytes: number;
  /** The largest file an upload session takes. */
  maxSessionBytes: number;
  /** How long an upload session stays open before the sweeper aborts it. */
  uploadSessionMs: number;
  /** The largest file a compressed upload may inflate to. */
  maxInflatedBytes: number;
  /** The part size of the inflated copy's R2 multipart upload: the inflate's checkpoint interval and its buffer. */
  inflatePartBytes: number;
  importSliceMs: number;
  importSliceRows: number;
  importChunkRows: number;
  maxStoredErrors: number;
  stuckJobMs: number;
  uploadRetentionMs: number;
  jobRetentionMs: number;
  /** How long a replace-mode import waits for confirmation before the sweeper fails it (nothing archived). */
  confirmationMs: number;
  /**
   * Whether a new import keeps the previous values of the products it changes, so that it can be reverted (decided per
   * job when it is created; see import_jobs.keep_revisions).
   */
  keepRevertData: boolean;
  /** Names of the queues this Worker consumes, as wrangler.toml declares them; a batch says which queue it is from. */
  importQueueName: string;
  deadLetterQueueName: string;
  /** How long one feed fetch may take, from the request to the file's last byte stored. */
  feedFetchTimeoutMs: number;
  /** Failed fetches in a row after which a feed is paused. */
  feedPauseAfterFailures: number;
  webhookQueueName: string;
  webhookDeadLetterQueueName: string;
  /** Failed delivery attempts in a row (of any of its deliveries) after which a webhook endpoint is disabled. */
  webhookDisableAfterFailures: number;
  rateLimits: Record<RateLimitClass, RateLimitPolicy>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MIB = 1024 * 1024;
// A part is held in memory while it is inflated: bounded well below the isolate's 128 MB.
const MAX_INFLATE_PART_BYTES = 64 * MIB;

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`Configuration var ${name} must be a positive integer, got "${value}"`);
  return n;
}

function flag(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new Error(`Configuration var ${name} must be true or false, got "${value}"`);
}

/** The inflate's part size, within what R2 and the isolate's memory take, and the parts MAX_INFLATED_BYTES needs within R2's count. */
function inflatePartBytes(env: Partial<Env>, maxInflatedBytes: number): number {
  const partBytes = positiveInt(env.INFLATE_PART_BYTES, 16 * MIB, "INFLATE_PART_BYTES");
  if (partBytes < R2_MIN_PART_BYTES || partBytes > MAX_INFLATE_PART_BYTES) {
    throw new Error(`Configuration var INFLATE_PART_BYTES must be between ${R2_MIN_PART_BYTES} and ${MAX_INFLATE_PART_BYTES}, got "${partBytes}"`);
  }
  if (Math.ceil(maxInflatedBytes / partBytes) > R2_MAX_PARTS) {
    throw new Error(`MAX_INFLATED_BYTES (${maxInflatedBytes}) needs more than ${R2_MAX_PARTS} parts of INFLATE_PART_BYTES (${partBytes}), R2's limit; raise INFLATE_PART_BYTES`);
  }
  return partBytes;
}

/** Typed limits and budgets from [vars]; the defaults here are the documented ones. */
export function readConfig(env: Partial<Env>): Config {
  const maxInflatedBytes = positiveInt(env.MAX_INFLATED_BYTES, 10 * 1024 * MIB, "MAX_INFLATED_BYTES");
  return {
    maxUploadBytes: positiveInt(env.MAX_UPLOAD_BYTES, 100 * 1024 * 1024, "MAX_UPLOAD_BYTES"),
    maxMultipartBytes: positiveInt(env.MAX_MULTIPART_BYTES, 10 * 1024 * 1024, "MAX_MULTIPART_BYTES"),
    maxSessionBytes: maxSessionBytes(env.MAX_SESSION_BYTES),
    uploadSessionMs: positiveInt(env.UPLOAD_SESSION_HOURS, 24, "UPLOAD_SESSION_HOURS") * HOUR,
    maxInflatedBytes,
    inflatePartBytes: inflatePartBytes(env, maxInflatedBytes),
    importSliceMs: positiveInt(env.IMPORT_SLICE_MS, 20_000, "IMPORT_SLICE_MS"),
    importSliceRows: positiveInt(env.IMPORT_SLICE_ROWS, 250_000, "IMPORT_SLICE_ROWS"),
    // D1 caps a bound value at 2 MB; rows travel as one JSON parameter per chunk.
    importChunkRows: Math.min(positiveInt(env.IMPORT_CHUNK_ROWS, 2000, "IMPORT_CHUNK_ROWS"), 5000),
    maxStoredErrors: positiveInt(env.MAX_STORED_ERRORS, 1000, "MAX_STORED_ERRORS"),
    stuckJobMs: positiveInt(env.STUCK_JOB_MINUTES, 30, "STUCK_JOB_MINUTES") * MINUTE,
    uploadRetentionMs: positiveInt(env.UPLOAD_RETENTION_DAYS, 7, "UPLOAD_RETENTION_DAYS") * DAY,
    jobRetentionMs: positiveInt(env.JOB_RETENTION_DAYS, 30, "JOB_RETENTION_DAYS") * DAY,
    confirmationMs: positiveInt(env.CONFIRMATION_HOURS, 24, "CONFIRMATION_HOURS") * HOUR,
    keepRevertData: flag(env.KEEP_REVERT_DATA, true, "KEEP_REVERT_DATA"),
    importQueueName: env.IMPORT_QUEUE_NAME || "product-imports",
    deadLetterQueueName: env.DEAD_LETTER_QUEUE_NAME || "product-imports-dlq",
    feedFetchTimeoutMs: positiveInt(env.FEED_FETCH_TIMEOUT_SECONDS, 120, "FEED_FETCH_TIMEOUT_SECONDS") * 1000,
    feedPauseAfterFailures: positiveInt(env.FEED_PAUSE_AFTER_FAILURES, 5, "FEED_PAUSE_AFTER_FAILURES"),
    webhookQueueName: env.WEBHOOK_QUEUE_NAME || "webhook-deliveries",
    webhookDeadLetterQueueName: env.WEBHOOK_DEAD_LETTER_QUEUE_NAME || "webhook-deliveries-dlq",
    webhookDisableAfterFailures: positiveInt(env.WEBHOOK_DISABLE_AFTER_FAILURES, 50, "WEBHOOK_DISABLE_AFTER_FAILURES"),
    rateLimits: Object.fromEntries(
      rateLimitClasses.map((cls) => [cls, rateLimitPolicy(env[rateLimitVars[cls]], defaultRateLimits[cls], rateLimitVars[cls])]),
    ) as Record<RateLimitClass, RateLimitPolicy>,
  };
}

function rateLimitPolicy(value: string | undefined, fallback: RateLimitPolicy, name: string): RateLimitPolicy {
  if (value === undefined || value === "") return fallback;
  const match = /^(\d+)\/(10|60)$/.exec(value);
  const limit = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(limit) || limit <= 0) {
    throw new Error(`Configuration var ${name} must be <limit>/<period> with a positive limit and a period of 10 or 60 seconds, got "${value}"`);
  }
  return { limit, period: Number(match[2]) as 10 | 60 };
}

/** A session's file is cut into at most R2's 10,000 parts of at most one request's body each; a larger limit could not be served. */
function maxSessionBytes(value: string | undefined): number {
  const bytes = positiveInt(value, 5 * 1024 ** 3, "MAX_SESSION_BYTES");
  if (bytes > PART_RULE_MAX_BYTES) throw new Error(`Configuration var MAX_SESSION_BYTES must be at most ${PART_RULE_MAX_BYTES} (10,000 parts of 100 MiB), got "${value}"`);
  return bytes;
}
