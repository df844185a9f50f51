// Helpers for driving the import queue consumer directly and deterministically: jobs are created without a
// queue message (so the automatic consumer never sees them), continuation messages are captured by a fake
// queue instead of being delivered, and D1 can be wrapped to inject failures between batches.
import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { newId } from "../src/auth/keys.ts";
import { type Env, readConfig } from "../src/config.ts";
import { database } from "../src/db/client.ts";
import { insertJob } from "../src/db/queries/jobs.ts";
import type { Charset } from "../src/model/charsets.ts";
import type { ImportMessage } from "../src/model/import-message.ts";
import worker from "../src/index.ts";
import { accepted, type Job } from "./imports-helpers.ts";

// The queue names wrangler.toml gives the Worker, as the queue entry reads them.
export const { importQueueName: IMPORT_QUEUE_NAME, deadLetterQueueName: DEAD_LETTER_QUEUE_NAME } = readConfig(env);

export interface QueuedJobOptions {
  format?: "csv" | "ndjson";
  dryRun?: boolean;
  currency?: string;
  delimiter?: "," | ";" | "\t" | null;
  blankCells?: "clear" | "keep";
  charset?: Charset | null;
  /** Replace mode, and its max_archive (see import-mode.ts). */
  mode?: "upsert" | "replace";
  maxArchive?: string;
}

const bytesOf = (body: string | Uint8Array) => (typeof body === "string" ? new TextEncoder().encode(body) : body);

/** A job in state `queued` with its file in R2, exactly as an upload leaves it, but without a queue message. */
export async function createQueuedJob(tenantId: string, body: string | Uint8Array, options: QueuedJobOptions = {}): Promise<string> {
  const bytes = bytesOf(body);
  const id = newId("imp");
  const objectKey = `${tenantId}/${id}`;
  const now = Date.now();
  await env.UPLOADS.put(objectKey, bytes);
  await insertJob(database(env.DB), {
    id,
    tenantId,
    status: "queued",
    format: options.format ?? "csv",
    fileName: null,
    objectKey,
    sizeBytes: bytes.byteLength,
    dryRun: options.dryRun ?? false,
    options: JSON.stringify({
      currency: options.currency ?? "USD",
      delimiter: options.delimiter ?? null,
      blankCells: options.blankCells ?? "clear",
      charset: options.charset ?? null,
      ...(options.mode && { mode: options.mode }),
      ...(options.maxArchive && { maxArchive: options.maxArchive }),
    }),
    createdAt: now,
    queuedAt: now,
    heartbeatAt: now,
  });
  return id;
}

export interface ConsumerEnv {
  env: Env;
  /** Continuation messages the consumer sent, in order. */
  sent: ImportMessage[];
  /** The delay each of them was sent with (undefined: none). */
  delays: (number | undefined)[];
}

/**
 * An Env for calling the worker's queue handler: real D1 and R2 (or a wrapped D1), a recording fake queue,
 * and budget vars (IMPORT_CHUNK_ROWS, IMPORT_SLICE_ROWS, …) as given.
 */
export function consumerEnv(vars: Partial<Record<keyof Env, string>> = {}, db: D1Database = env.DB): ConsumerEnv {
  const [sent, delays]: [ImportMessage[], (number | undefined)[]] = [[], []];
  const queue = {
    send: async (message: ImportMessage, options?: QueueSendOptions) => {
      sent.push(message);
      delays.push(options?.delaySeconds);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<ImportMessage>>) => {
      for (const m of messages) {
        sent.push(m.body);
        delays.push(m.delaySeconds);
      }
    },
  } as unknown as Queue<ImportMessage>;
  return { env: { ...env, DB: db, IMPORT_QUEUE: queue, ...vars } as Env, sent, delays };
}

/**
 * Sends a request to the Worker with the consumer's recording queue: an upload is accepted exactly as through the API,
 * and its first message waits in `consumer.sent` instead of being delivered, for runJob with the consumer's budget.
 */
export async function requestHeld(consumer: ConsumerEnv, path: string, init: RequestInit & { key: string }): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${init.key}`);
  return worker.fetch(new Request(`https://api.test${path}`, { ...init, headers }), { ...env, IMPORT_QUEUE: consumer.env.IMPORT_QUEUE }, createExecutionContext());
}

let messageSeq = 0;

type LogLine = Record<string, unknown>;

/** Collects the JSON lines written to console.warn and console.error until `restore()`. */
function captureWarnings() {
  const lines: LogLine[] = [];
  const original = { warn: console.warn, error: console.error };
  const collect = (...args: unknown[]) => {
    try {
      lines.push(JSON.parse(String(args[0])) as LogLine);
    } catch {
      original.error(...args);
    }
  };
  console.warn = collect;
  console.error = collect;
  return {
    lines,
    restore: () => Object.assign(console, original),
    print: (line: LogLine) => original.error(JSON.stringify(line)),
  };
}

export interface Delivery {
  result: QueueResult;
  messageId: string;
  /** Retry warnings of jobs the invocation started after the message's own job finished (they get a message of their own). */
  laterJobRetries: LogLine[];
}

/** Delivers one message to the worker's queue handler and returns the ack/retry outcome. */
export async function deliver(
  testEnv: Env,
  body: unknown,
  options: { attempts?: number; id?: string; queue?: string } = {},
): Promise<Delivery> {
  const messageId = options.id ?? `msg-${++messageSeq}`;
  const batch = createMessageBatch(options.queue ?? IMPORT_QUEUE_NAME, [{ id: messageId, timestamp: new Date(), attempts: options.attempts ?? 1, body }]);
  // getQueueResult() reports which messages were retried but drops the retry options: record them here.
  const retryOptions = new Map<string, QueueRetryOptions | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (opts?: QueueRetryOptions) => {
      retryOptions.set(message.id, opts);
      retry(opts);
    };
  }
  const ctx = createExecutionContext();
  const logs = captureWarnings();
  try {
    // The handler takes no ExecutionContext; getQueueResult() still wants one to wait on.
    await worker.queue(batch as MessageBatch<ImportMessage>, testEnv);
  } finally {
    logs.restore();
  }
  const result = await getQueueResult(batch, ctx);
  for (const retried of result.retryMessages) retried.delaySeconds ??= retryOptions.get(retried.msgId)?.delaySeconds;
  // The consumer's expected warnings are asserted here, once for every test, instead of being printed.
  const retryLines = logs.lines.filter((l) => l.msg === "import slice failed, retrying");
  const ownRetries = retryLines.filter((l) => l.job_id === (body as Partial<ImportMessage> | null)?.jobId);
  expect(ownRetries).toHaveLength(result.retryMessages.length);
  for (const line of ownRetries) expect(line).toMatchObject({ level: "warn", attempts: options.attempts ?? 1, error_class: expect.any(String) });
  const dropped = logs.lines.filter((l) => l.msg === "malformed import message dropped");
  expect(dropped.map((l) => l.message_id)).toEqual(dropped.length > 0 ? [messageId] : []);
  for (const line of logs.lines) if (line !== undefined && !retryLines.includes(line) && !dropped.includes(line)) logs.print(line);
  return { result, messageId, laterJobRetries: retryLines.filter((l) => !ownRetries.includes(l)) };
}

/**
 * Runs a job to its end the way the queue would: the first message, then every continuation it sent.
 * Returns the messages delivered (the first included). Throws if a delivery is not acked.
 */
export async function runJob(consumer: ConsumerEnv, jobId: string, maxDeliveries = 100): Promise<ImportMessage[]> {
  const delivered: ImportMessage[] = [];
  const pending: ImportMessage[] = [{ jobId, checkpointByte: 0 }];
  while (pending.length > 0) {
    if (delivered.length >= maxDeliveries) throw new Error(`job ${jobId} still sending continuations after ${maxDeliveries} deliveries`);
    const message = pending.shift()!;
    const before = consumer.sent.length;
    const { result, messageId } = await deliver(consumer.env, message);
    if (!result.explicitAcks.includes(messageId)) throw new Error(`message ${JSON.stringify(message)} was not acked: ${JSON.stringify(result)}`);
    delivered.push(message);
    pending.push(...consumer.sent.slice(before));
  }
  return delivered;
}

export interface JobRecord {
  id: string;
  status: string;
  cursor_byte: number;
  cursor_line: number;
  total_rows: number | null;
  processed_rows: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected_rows: number;
  skipped_rows: number;
  error_count: number;
  ignored_columns: string;
  ignored_columns_omitted: number;
  failure_reason: string | null;
  failed_attempts: number;
  /** The row source's own state (JSON; a CSV's header mapping, delimiter, preset and carried cells). */
  source_state: string | null;
  encoding: string | null;
  notes: string;
  started_at: number | null;
  finished_at: number | null;
  heartbeat_at: number;
  object_key: string;
  object_deleted_at: number | null;
}

export async function jobRecord(jobId: string): Promise<JobRecord> {
  const row = await env.DB.prepare("SELECT * FROM import_jobs WHERE id = ?").bind(jobId).first<JobRecord>();
  if (!row) throw new Error(`no job ${jobId}`);
  return row;
}

/** The counters and outcome of a job: what two runs of the same file must agree on. */
export async function jobCounters(jobId: string) {
  const j = await jobRecord(jobId);
  return {
    status: j.status,
    total_rows: j.total_rows,
    processed_rows: j.processed_rows,
    created: j.created,
    updated: j.updated,
    unchanged: j.unchanged,
    rejected_rows: j.rejected_rows,
    skipped_rows: j.skipped_rows,
    error_count: j.error_count,
    ignored_columns: JSON.parse(j.ignored_columns) as string[],
    ignored_columns_omitted: j.ignored_columns_omitted,
    failure_reason: j.failure_reason,
  };
}

export interface ProductRecord {
  tenant_id: string;
  sku_key: string;
  sku: string;
  name: string;
  description: string | null;
  price_minor: number;
  currency: string;
  stock: number;
  status: string;
  brand: string | null;
  category: string | null;
  barcode: string | null;
  image_url: string | null;
  tags: string;
  variant_group: string | null;
  options: string;
  keep_mask: number;
  /** The write sequence of the import that wrote (or, see import_jobs.stamp_mentions, named) it last. */
  seen_seq: number | null;
  created_at: number;
  updated_at: number;
}

/** Every product of a tenant, in SKU order. */
export async function productRecords(tenantId: string): Promise<ProductRecord[]> {
  const { results } = await env.DB.prepare("SELECT * FROM products WHERE tenant_id = ? ORDER BY sku_key").bind(tenantId).all<ProductRecord>();
  return results;
}

/**
 * A tenant's products without timestamps and the import's bookkeeping (keep mask, write sequence), to compare two
 * imports of the same file into different tenants.
 */
export async function productContents(tenantId: string) {
  return (await productRecords(tenantId)).map(({ tenant_id: _t, created_at: _c, updated_at: _u, keep_mask: _k, seen_seq: _s, ...rest }) => rest);
}

export interface StoredError {
  seq: number;
  line: number;
  column: string | null;
  code: string;
  message: string;
  value: string | null;
}

export async function storedErrors(jobId: string): Promise<StoredError[]> {
  const { results } = await env.DB.prepare('SELECT seq, line, "column", code, message, value FROM import_errors WHERE job_id = ? ORDER BY seq')
    .bind(jobId)
    .all<StoredError>();
  return results;
}

/**
 * D1 whose `batch()` throws on the given calls (1-based), delegating everything else (prepare, exec, …) to the real
 * database: `before` the batch runs (a failure between two committed batches), or `after` it committed (the Worker dies
 * with the reply lost).
 */
export function failingBatches(db: D1Database, failOn: readonly number[], when: "before" | "after" = "before"): { db: D1Database; batchCalls: () => number } {
  let calls = 0;
  const batch = async (statements: D1PreparedStatement[]) => {
    calls++;
    if (when === "before" && failOn.includes(calls)) throw new Error(`injected D1 failure on batch ${calls}`);
    const results = await db.batch(statements);
    if (when === "after" && failOn.includes(calls)) throw new Error(`injected lost reply after batch ${calls}`);
    return results;
  };
  return { db: overriding(db, { batch: batch as D1Database["batch"] }), batchCalls: () => calls };
}

/** `n` CSV data rows A-01…, valid, for tests that need several chunks. */
export function csvRows(n: number, header = "sku,name,price,stock\n"): string {
  let text = header;
  for (let i = 1; i <= n; i++) text += `A-${String(i).padStart(2, "0")},Product ${i},${i}.50,${i}\n`;
  return text;
}

export interface ImportSnapshot {
  jobId: string;
  counters: Awaited<ReturnType<typeof jobCounters>>;
  products: Awaited<ReturnType<typeof productContents>>;
  errors: Omit<StoredError, "seq">[];
}

/** What an import left behind: counters, products (without timestamps) and row errors. */
export async function snapshot(tenantId: string, jobId: string): Promise<ImportSnapshot> {
  return {
    jobId,
    counters: await jobCounters(jobId),
    products: await productContents(tenantId),
    errors: (await storedErrors(jobId)).map(({ seq: _s, ...e }) => e),
  };
}

/** Imports a file into the tenant through the consumer in one go (default budgets: one slice, one chunk). */
export async function importDirect(tenantId: string, body: string | Uint8Array, options: QueuedJobOptions & { vars?: Partial<Record<keyof Env, string>> } = {}) {
  const jobId = await createQueuedJob(tenantId, body, options);
  const consumer = consumerEnv(options.vars ?? {});
  const delivered = await runJob(consumer, jobId);
  return { jobId, delivered, snapshot: await snapshot(tenantId, jobId) };
}

/** Wraps a binding so that one method is replaced, delegating everything else to the real binding. */
export function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(real, prop) {
      if (Object.hasOwn(overrides, prop)) return (overrides as Record<PropertyKey, unknown>)[prop];
      const value = Reflect.get(real, prop, real) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
  });
}

/** R2 whose object bodies arrive in small pieces with a pause before each, like a slow network read. */
export function tricklingUploads(bucket: R2Bucket, pieceBytes: number, pauseMs: number): R2Bucket {
  return overriding(bucket, {
    get: (async (key: string, options?: R2GetOptions) => {
      const object = await bucket.get(key, options);
      if (!object) return null;
      const bytes = new Uint8Array(await object.arrayBuffer());
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, pauseMs));
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(at, at + pieceBytes));
          at += pieceBytes;
        },
      });
      return { ...object, body } as unknown as R2ObjectBody;
    }) as R2Bucket["get"],
  });
}

/** Uploads through the API with the consumer's recording queue: the job runs only when the test delivers its messages. */
export async function uploadHeld(consumer: ConsumerEnv, key: string, body: string | Uint8Array, query = "", headers: Record<string, string> = {}): Promise<Job> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const res = await requestHeld(consumer, `/api/v1/products/import${query}`, {
    method: "POST",
    key,
    body: bytes,
    headers: { "content-type": "text/csv", "content-length": String(bytes.byteLength), ...headers },
  });
  return accepted(res);
}

/** Takes the messages sent so far (the queue's backlog) out of the recording queue. */
export function backlog(consumer: ConsumerEnv): ImportMessage[] {
  consumer.delays.splice(0);
  return consumer.sent.splice(0);
}

/** Delivers one message, which must be acked; returns the messages it sent. */
export async function deliverAcked(consumer: ConsumerEnv, message: ImportMessage): Promise<ImportMessage[]> {
  const { result, messageId } = await deliver(consumer.env, message);
  expect(result.explicitAcks).toContain(messageId);
  return backlog(consumer);
}

/** Delivers the backlog and whatever it sends, first in first out, until the queue is empty; returns the deliveries. */
export async function drain(consumer: ConsumerEnv, first: ImportMessage[] = backlog(consumer)): Promise<ImportMessage[]> {
  const delivered: ImportMessage[] = [];
  for (const pending = [...first]; pending.length > 0; ) {
    if (delivered.length > 200) throw new Error("the queue never emptied");
    const message = pending.shift()!;
    delivered.push(message);
    pending.push(...(await deliverAcked(consumer, message)));
  }
  return delivered;
}

/**
 * Runs the job as the queue would: each message first to `flaky`, and when it asks for a retry, redelivered to
 * `healthy` (the job resumes from its last committed checkpoint). Returns how many deliveries were retried.
 */
export async function runRedelivering(flaky: ConsumerEnv, healthy: ConsumerEnv, jobId: string): Promise<number> {
  const pending: ImportMessage[] = [{ jobId, checkpointByte: 0 }];
  let retried = 0;
  while (pending.length > 0) {
    const message = pending.shift()!;
    for (let attempts = 1; ; attempts++) {
      const consumer = attempts === 1 ? flaky : healthy;
      const before = consumer.sent.length;
      const { result, messageId } = await deliver(consumer.env, message, { attempts });
      if (result.explicitAcks.includes(messageId)) {
        pending.push(...consumer.sent.slice(before));
        break;
      }
      retried++;
      expect(attempts).toBeLessThan(3);
    }
  }
  return retried;
}
