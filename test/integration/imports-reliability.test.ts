// The queue consumer under budgets, duplicates, failures and dead letters: chunked and resumable slices,
// exactly-once effect on at-least-once delivery, retries with backoff, permanent failures and the DLQ.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { retryDelaySeconds } from "../../src/imports/jobs/consumer.ts";
import type { ImportMessage } from "../../src/model/import-message.ts";
import {
  type ConsumerEnv,
  DEAD_LETTER_QUEUE_NAME,
  IMPORT_QUEUE_NAME,
  consumerEnv,
  createQueuedJob,
  csvRows,
  deliver,
  failingBatches,
  importDirect,
  jobRecord,
  productRecords,
  overriding,
  runJob,
  snapshot,
  storedErrors,
  tricklingUploads,
  type ImportSnapshot,
} from "../consumer-helpers.ts";
import { createTenant } from "../helpers.ts";

// Small budgets: 2 rows per D1 batch, a slice hands over once it has taken 3 rows (closing its chunk there).
const BUDGET = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" } as const;

// Ten data rows; quoted fields with line breaks straddle the chunk boundaries and several rows are invalid,
// so line numbers must survive every resume. Physical lines are noted on the right.
const TEN_ROWS = [
  "sku,name,price,description", //                1
  "A-01,One,1.00,plain", //                       2
  'A-02,Two,2.00,"multi', //                      3
  'line"', //                                     4
  "A-03,Three,abc,x", //                          5   invalid price
  '"A-04",Four,4.00,"a', //                       6
  "b", //                                         7
  'c"', //                                        8
  'A-05,Five,5.00,"x""y"', //                     9
  'A-06,Six,6.999,"q', //                         10  too many decimals
  'r"', //                                        11
  "A-07,Seven,7", //                              12  ragged
  'A-08,Eight,8.00,"', //                         13
  '"', //                                         14
  "A-09,Nine,9.00,z", //                          15
  'A-10,Ten,,"w', //                              16  price required
  'w"', //                                        17
].join("\n");

const EXPECTED_ERRORS = [
  { line: 5, column: "price", code: "invalid_price" },
  { line: 10, column: "price", code: "too_many_decimals" },
  { line: 12, column: null, code: "ragged_row" },
  { line: 16, column: "price", code: "required" },
];

/** TEN_ROWS imported undisturbed for one tenant (the expected effect), and queued as a job for another to disturb. */
async function referenceAndQueuedJob() {
  const reference = await createTenant();
  const undisturbed = await importDirect(reference.tenantId, TEN_ROWS);
  const t = await createTenant();
  const jobId = await createQueuedJob(t.tenantId, TEN_ROWS);
  return { undisturbed, t, jobId };
}

const offsetOf = (text: string, needle: string) => new TextEncoder().encode(text.slice(0, text.indexOf(needle))).byteLength;

/** Runs the job as the queue would, redelivering (attempts + 1) every message the consumer asks to retry. */
async function runWithRetries(consumer: ConsumerEnv, jobId: string, maxDeliveries = 50) {
  const pending: { body: ImportMessage; attempts: number }[] = [{ body: { jobId, checkpointByte: 0 }, attempts: 1 }];
  const retries: { body: ImportMessage; attempts: number; delaySeconds: number | undefined }[] = [];
  let deliveries = 0;
  while (pending.length > 0) {
    if (++deliveries > maxDeliveries) throw new Error("too many deliveries");
    const message = pending.shift()!;
    const before = consumer.sent.length;
    const { result, messageId } = await deliver(consumer.env, message.body, { attempts: message.attempts });
    const retry = result.retryMessages.find((m) => m.msgId === messageId);
    if (retry) {
      expect(result.explicitAcks).not.toContain(messageId);
      retries.push({ ...message, delaySeconds: retry.delaySeconds });
      pending.unshift({ body: message.body, attempts: message.attempts + 1 });
    } else {
      expect(result.explicitAcks).toContain(messageId);
      pending.push(...consumer.sent.slice(before).map((body) => ({ body, attempts: 1 })));
    }
  }
  return retries;
}

describe("chunked, resumable processing", () => {
  it("splits a 10-row file into several slices that each resume exactly where the last commit ended", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    expect(undisturbed.delivered).toHaveLength(1); // default budgets: one slice
    const consumer = consumerEnv(BUDGET);
    expect((await jobRecord(jobId)).status).toBe("queued");

    const checkpoints: { cursor_byte: number; cursor_line: number; status: string; processed_rows: number }[] = [];
    let message: ImportMessage | undefined = { jobId, checkpointByte: 0 };
    while (message) {
      const sentBefore = consumer.sent.length;
      const { result, messageId } = await deliver(consumer.env, message);
      expect(result.explicitAcks).toEqual([messageId]);
      expect(result.retryMessages).toEqual([]);
      const job = await jobRecord(jobId);
      checkpoints.push({ cursor_byte: job.cursor_byte, cursor_line: job.cursor_line, status: job.status, processed_rows: job.processed_rows });
      const continuations = consumer.sent.slice(sentBefore);
      expect(continuations.length).toBeLessThanOrEqual(1);
      message = continuations[0];
      if (message) {
        // The continuation names the job and exactly the checkpoint the slice committed.
        expect(message).toEqual({ jobId, checkpointByte: job.cursor_byte });
        expect(job.status).toBe("processing");
      }
      expect(checkpoints.length).toBeLessThan(10);
    }

    // Slices of 3 rows (a chunk of 2, and one of 1 closed where the budget ran out): A-01..A-03, A-04..A-06, A-07..A-09, A-10.
    expect(checkpoints).toEqual([
      { cursor_byte: offsetOf(TEN_ROWS, '"A-04"'), cursor_line: 6, status: "processing", processed_rows: 3 },
      { cursor_byte: offsetOf(TEN_ROWS, "A-07"), cursor_line: 12, status: "processing", processed_rows: 6 },
      { cursor_byte: offsetOf(TEN_ROWS, "A-10"), cursor_line: 16, status: "processing", processed_rows: 9 },
      { cursor_byte: new TextEncoder().encode(TEN_ROWS).byteLength, cursor_line: 17, status: "completed", processed_rows: 10 },
    ]);

    const chunked = await snapshot(t.tenantId, jobId);
    expectSameEffect(chunked, undisturbed.snapshot);
    expect(chunked.counters).toMatchObject({ status: "completed", total_rows: 10, processed_rows: 10, created: 6, rejected_rows: 4, error_count: 4 });
    expect(chunked.errors).toMatchObject(EXPECTED_ERRORS);
    expect(chunked.products.map((p) => [p.sku, p.description])).toEqual([
      ["A-01", "plain"],
      ["A-02", "multi\nline"],
      ["A-04", "a\nb\nc"],
      ["A-05", 'x"y'],
      ["A-08", null],
      ["A-09", "z"],
    ]);
  });

  it("keeps NDJSON line numbers and ignored keys across slices", async () => {
    const lines = [
      '{"sku":"N-1","name":"One","price":1}',
      "",
      '{"sku":"N-2","name":"Two","price":2,"colour":"red"}',
      "{not json",
      '{"sku":"N-3","name":"Three","price":"x"}',
      "",
      "",
      '["N-4"]',
      '{"sku":"N-5","name":"Five","price":5.5,"weight":3}',
      '{"sku":"N-6","name":"Six","price":6}',
      '{"sku":"N-7","name":"Seven","price":7}',
    ].join("\r\n");
    const reference = await createTenant();
    const undisturbed = await importDirect(reference.tenantId, lines, { format: "ndjson" });
    const t = await createTenant();
    const chunked = await importDirect(t.tenantId, lines, { format: "ndjson", vars: BUDGET });
    expect(chunked.delivered.length).toBeGreaterThanOrEqual(2);
    expectSameEffect(chunked.snapshot, undisturbed.snapshot);
    expect(chunked.snapshot.counters).toMatchObject({ status: "completed", processed_rows: 8, created: 5, rejected_rows: 3 });
    expect(chunked.snapshot.counters.ignored_columns.sort()).toEqual(["colour", "weight"]);
    expect(chunked.snapshot.errors.map((e) => [e.line, e.code])).toEqual([
      [4, "invalid_json"],
      [5, "invalid_price"],
      [8, "not_an_object"],
    ]);
  });

  it("finishes instead of handing over when a slice's budget runs out exactly at the end of the file", async () => {
    const t = await createTenant();
    const file = csvRows(6); // two slices of 3 rows; the second ends at the last byte
    const jobId = await createQueuedJob(t.tenantId, file);
    const consumer = consumerEnv(BUDGET);
    const delivered = await runJob(consumer, jobId);
    expect(delivered.map((m) => m.checkpointByte)).toEqual([0, offsetOf(file, "A-04")]);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", total_rows: 6, processed_rows: 6, created: 6 });
  });

  it("hands over when the slice's wall-time budget is spent", async () => {
    const reference = await createTenant();
    const undisturbed = await importDirect(reference.tenantId, TEN_ROWS);
    const t = await createTenant();
    const timed = await importDirect(t.tenantId, TEN_ROWS, { vars: { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_MS: "1" } });
    expect(timed.delivered.length).toBeGreaterThan(1);
    expectSameEffect(timed.snapshot, undisturbed.snapshot);
  });

  it("stores at most MAX_STORED_ERRORS row errors, in line order, while counting all of them across slices and retries", async () => {
    let file = "sku,name,price\n";
    for (let i = 1; i <= 10; i++) file += `E-${i},,x\n`; // two errors per row
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, file);
    const vars = { ...BUDGET, MAX_STORED_ERRORS: "5" };
    const retries = await runWithRetries(consumerEnv(vars, failingBatches(env.DB, [3]).db), jobId);
    expect(retries).toHaveLength(1);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 10, rejected_rows: 10, error_count: 20 });
    const errors = await storedErrors(jobId);
    expect(errors.map((e) => [e.seq, e.line, e.column])).toEqual([
      [0, 2, "name"],
      [1, 2, "price"],
      [2, 3, "name"],
      [3, 3, "price"],
      [4, 4, "name"],
    ]);
  });

  it("detects the delimiter from the whole header line, however the file's bytes arrive", async () => {
    for (const [delimiter, label] of [[";", "semicolon"], ["\t", "tab"]] as const) {
      const file = `${["sku", "name", "price", "description"].join(delimiter)}\n${["D-1", "One, two", "1.50", "x"].join(delimiter)}\n`;
      const t = await createTenant();
      const jobId = await createQueuedJob(t.tenantId, file);
      const consumer = consumerEnv();
      // The first read returns only a few bytes of the header.
      const slow = { ...consumer, env: { ...consumer.env, UPLOADS: tricklingUploads(env.UPLOADS, 3, 0) } };
      await runJob(slow, jobId);
      const job = await jobRecord(jobId);
      expect(job, label).toMatchObject({ status: "completed", created: 1 });
      expect(JSON.parse(job.source_state ?? "null"), label).toMatchObject({ delimiter });
      expect((await productRecords(t.tenantId)).map((p) => [p.sku, p.name, p.price_minor])).toEqual([["D-1", "One, two", 150]]);
    }
  });

  it("keeps the rows before a broken spot whatever the reads looked like (old Mac CR line endings, 3-byte reads)", async () => {
    // The UTF-8 é of the first row makes the file UTF-8; the lone Windows-1252 é of the second breaks it.
    const bytes = new Uint8Array([...new TextEncoder().encode("sku;name;price\rA-1;Oné;1\rA-2;Caf"), 0xe9, ...new TextEncoder().encode(";2\rA-3;x;3\r")]);
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, bytes);
    const consumer = consumerEnv();
    await runJob({ ...consumer, env: { ...consumer.env, UPLOADS: tricklingUploads(env.UPLOADS, 3, 0) } }, jobId);
    const job = await jobRecord(jobId);
    expect(job).toMatchObject({ status: "failed", processed_rows: 1, created: 1 });
    expect(JSON.parse(job.source_state ?? "null")).toMatchObject({ delimiter: ";" });
    expect(job.failure_reason).toMatch(/^Line 3 contains characters that are not valid UTF-8/);
    expect((await productRecords(t.tenantId)).map((p) => p.sku)).toEqual(["A-1"]);
  });

  it("carries only the job id and a checkpoint in each message, far below 200 bytes", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(9));
    const consumer = consumerEnv(BUDGET);
    const delivered = await runJob(consumer, jobId);
    expect(consumer.sent.length).toBeGreaterThanOrEqual(2);
    expect(delivered).toHaveLength(consumer.sent.length + 1);
    for (const message of consumer.sent) {
      expect(Object.keys(message).sort()).toEqual(["checkpointByte", "jobId"]);
      expect(message.jobId).toBe(jobId);
      expect(Number.isSafeInteger(message.checkpointByte) && message.checkpointByte > 0).toBe(true);
      expect(new TextEncoder().encode(JSON.stringify(message)).byteLength).toBeLessThan(200);
    }
    // Checkpoints only move forward.
    const offsets = consumer.sent.map((m) => m.checkpointByte);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 9, created: 9 });
  });
});

describe("exactly-once effect on at-least-once delivery", () => {
  it("a message delivered twice in a row changes nothing more than one delivery", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    const consumer = consumerEnv(BUDGET);
    const pending: ImportMessage[] = [{ jobId, checkpointByte: 0 }];
    let deliveries = 0;
    while (pending.length > 0) {
      const message = pending.shift()!;
      for (let copy = 0; copy < 2; copy++) {
        const before = consumer.sent.length;
        const { result, messageId } = await deliver(consumer.env, message, { id: `dup-${deliveries}` });
        expect(result.explicitAcks).toEqual([messageId]);
        pending.push(...consumer.sent.slice(before));
      }
      expect(++deliveries).toBeLessThan(20);
    }
    const twice = await snapshot(t.tenantId, jobId);
    expectSameEffect(twice, undisturbed.snapshot);
  });

  it("two deliveries of the same message running concurrently change nothing more than one", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    const consumer = consumerEnv(BUDGET);
    const pending: ImportMessage[] = [{ jobId, checkpointByte: 0 }];
    let rounds = 0;
    const log = vi.spyOn(console, "log");
    try {
      while (pending.length > 0) {
        const message = pending.shift()!;
        const before = consumer.sent.length;
        const [a, b] = await Promise.all([deliver(consumer.env, message), deliver(consumer.env, message)]);
        expect(a.result.explicitAcks).toEqual([a.messageId]);
        expect(b.result.explicitAcks).toEqual([b.messageId]);
        pending.push(...consumer.sent.slice(before));
        expect(++rounds).toBeLessThan(20);
      }
      // The deliveries really overlapped: some slice found its commit already made by the other one.
      const outcomes = log.mock.calls
        .map((c) => String(c[0]))
        .filter((line) => line.includes('"import slice"') && line.includes(jobId))
        .map((line) => (JSON.parse(line) as { outcome: string }).outcome);
      expect(outcomes).toContain("skipped");
    } finally {
      log.mockRestore();
    }
    const concurrent = await snapshot(t.tenantId, jobId);
    expectSameEffect(concurrent, undisturbed.snapshot);
  });

  it("a failure between two batches is retried with a delay, and the redelivery finishes the job exactly once", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    const failing = failingBatches(env.DB, [2]);
    const broken = consumerEnv(BUDGET, failing.db);
    const first = { jobId, checkpointByte: 0 };
    const { result, messageId } = await deliver(broken.env, first, { attempts: 1, id: "flaky" });
    expect(failing.batchCalls()).toBe(2);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.retryMessages[0]!.msgId).toBe(messageId);
    expect(result.retryMessages[0]!.delaySeconds).toBeGreaterThan(0);
    expect(broken.sent).toEqual([]);

    // The first batch (rows) landed; the second did not.
    const halfway = await jobRecord(jobId);
    expect(halfway).toMatchObject({ status: "processing", processed_rows: 2, created: 2, failed_attempts: 1, cursor_byte: offsetOf(TEN_ROWS, "A-03"), cursor_line: 5 });
    expect((await productRecords(t.tenantId)).map((p) => p.sku)).toEqual(["A-01", "A-02"]);

    // The queue redelivers the same message (attempts 2); the job resumes from its checkpoint.
    const healthy = consumerEnv(BUDGET);
    const redelivery = await deliver(healthy.env, first, { attempts: 2, id: "flaky" });
    expect(redelivery.result.explicitAcks).toEqual(["flaky"]);
    const rest = [...healthy.sent];
    for (const next of rest) {
      const before = healthy.sent.length;
      await deliver(healthy.env, next);
      rest.push(...healthy.sent.slice(before));
    }
    const recovered = await snapshot(t.tenantId, jobId);
    expectSameEffect(recovered, undisturbed.snapshot);
  });

  it("recovers to the same result whichever batch fails, including the one that completes the job", async () => {
    const reference = await createTenant();
    const undisturbed = await importDirect(reference.tenantId, TEN_ROWS);
    const t0 = await createTenant();
    // How many batches an undisturbed budgeted run commits.
    const counting = failingBatches(env.DB, []);
    const probeJob = await createQueuedJob(t0.tenantId, TEN_ROWS);
    await runJob(consumerEnv(BUDGET, counting.db), probeJob);
    const batches = counting.batchCalls();
    expect(batches).toBeGreaterThanOrEqual(5);

    for (let n = 1; n <= batches; n++) {
      const t = await createTenant();
      const jobId = await createQueuedJob(t.tenantId, TEN_ROWS);
      const retries = await runWithRetries(consumerEnv(BUDGET, failingBatches(env.DB, [n]).db), jobId);
      expect(retries, `failure on batch ${n}`).toHaveLength(1);
      expect(retries[0]!.delaySeconds).toBeGreaterThan(0);
      const recovered = await snapshot(t.tenantId, jobId);
      expect(recovered.counters, `failure on batch ${n}`).toEqual(undisturbed.snapshot.counters);
      expect(recovered.products, `failure on batch ${n}`).toEqual(undisturbed.snapshot.products);
      expect(recovered.errors, `failure on batch ${n}`).toEqual(undisturbed.snapshot.errors);
      expect((await jobRecord(jobId)).failed_attempts).toBe(1);
    }
  });

  it("a commit that fails while the next rows are still being read is retried, with no unhandled rejection", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    const unhandled: unknown[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => {
      unhandled.push(event.reason);
      event.preventDefault();
    };
    addEventListener("unhandledrejection", onUnhandled);
    try {
      // The file arrives 16 bytes at a time, so the pipelined commit of the first chunk fails while a read is pending.
      const consumer = consumerEnv(BUDGET, failingBatches(env.DB, [1]).db);
      const slow = { ...consumer, env: { ...consumer.env, UPLOADS: tricklingUploads(env.UPLOADS, 16, 2) } };
      const retries = await runWithRetries(slow, jobId);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(retries).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      removeEventListener("unhandledrejection", onUnhandled);
    }
    const result = await snapshot(t.tenantId, jobId);
    expectSameEffect(result, undisturbed.snapshot);
  });

  it("a continuation that could not be sent is retried and the job still completes exactly once", async () => {
    const { undisturbed, t, jobId } = await referenceAndQueuedJob();
    const consumer = consumerEnv(BUDGET);
    const realSend = consumer.env.IMPORT_QUEUE.send.bind(consumer.env.IMPORT_QUEUE);
    let sends = 0;
    consumer.env.IMPORT_QUEUE.send = async (message: ImportMessage) => {
      if (++sends === 1) throw new Error("queue unavailable");
      return realSend(message);
    };
    const retries = await runWithRetries(consumer, jobId);
    expect(retries).toHaveLength(1);
    const result = await snapshot(t.tenantId, jobId);
    expectSameEffect(result, undisturbed.snapshot);
  });

  it("a stale message after the job completed changes nothing", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(BUDGET);
    const jobId = await createQueuedJob(t.tenantId, TEN_ROWS);
    await runJob(consumer, jobId);
    const job = await jobRecord(jobId);
    const products = await productRecords(t.tenantId);
    const errors = await storedErrors(jobId);
    expect(job.status).toBe("completed");

    const sentBefore = consumer.sent.length;
    for (const checkpointByte of [0, offsetOf(TEN_ROWS, "A-05")]) {
      const { result, messageId } = await deliver(consumer.env, { jobId, checkpointByte });
      expect(result.explicitAcks).toEqual([messageId]);
      expect(result.retryMessages).toEqual([]);
    }
    expect(consumer.sent.length).toBe(sentBefore);
    expect(await jobRecord(jobId)).toEqual(job);
    expect(await productRecords(t.tenantId)).toEqual(products);
    expect(await storedErrors(jobId)).toEqual(errors);
  });
});

describe("transient and permanent failures", () => {
  it("backs off exponentially with jitter, capped at 10 minutes", () => {
    expect(retryDelaySeconds(1, () => 0)).toBe(3);
    expect(retryDelaySeconds(1, () => 1)).toBe(5);
    expect(retryDelaySeconds(2, () => 0)).toBe(5);
    expect(retryDelaySeconds(2, () => 1)).toBe(10);
    expect(retryDelaySeconds(4, () => 0.5)).toBe(30);
    expect(retryDelaySeconds(30, () => 1)).toBe(600);
    expect(retryDelaySeconds(30, () => 0)).toBe(300);
    for (let attempts = 1; attempts <= 8; attempts++) {
      const ceiling = Math.min(600, 5 * 2 ** (attempts - 1));
      for (let i = 0; i < 20; i++) {
        const d = retryDelaySeconds(attempts);
        expect(d).toBeGreaterThanOrEqual(Math.max(1, Math.floor(ceiling / 2)));
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("retries a storage error with a delay that grows with the attempts, without failing the job", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(3));
    const consumer = consumerEnv();
    const uploads = overriding(env.UPLOADS, { get: (async () => Promise.reject(new Error("R2 is having a moment"))) as R2Bucket["get"] });
    const flaky = { ...consumer.env, UPLOADS: uploads };
    const delays: number[] = [];
    for (const attempts of [1, 3, 5]) {
      const { result, messageId } = await deliver(flaky, { jobId, checkpointByte: 0 }, { attempts });
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual([messageId]);
      delays.push(result.retryMessages[0]!.delaySeconds ?? 0);
    }
    expect(delays[0]).toBeGreaterThanOrEqual(3);
    expect(delays[0]).toBeLessThanOrEqual(5);
    expect(delays[1]).toBeGreaterThanOrEqual(10);
    expect(delays[1]).toBeLessThanOrEqual(20);
    expect(delays[2]).toBeGreaterThanOrEqual(40);
    expect(delays[2]).toBeLessThanOrEqual(80);
    expect(await jobRecord(jobId)).toMatchObject({ status: "processing", failed_attempts: 3, failure_reason: null, processed_rows: 0 });

    await runJob(consumer, jobId);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", created: 3 });
  });

  it("fails the job and acks the message when the uploaded file is gone", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(3));
    await env.UPLOADS.delete((await jobRecord(jobId)).object_key);
    const consumer = consumerEnv();
    const { result, messageId } = await deliver(consumer.env, { jobId, checkpointByte: 0 });
    expect(result.explicitAcks).toEqual([messageId]);
    expect(result.retryMessages).toEqual([]);
    const job = await jobRecord(jobId);
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/no longer stored/);
    expect(job.finished_at).not.toBeNull();
    expect(await productRecords(t.tenantId)).toEqual([]);
  });

  it("processes a message queued before its checkpoint field was renamed (cursorByte)", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(3));
    const consumer = consumerEnv(BUDGET);
    const { result, messageId } = await deliver(consumer.env, { jobId, cursorByte: 0 });
    expect(result.explicitAcks).toEqual([messageId]);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 3 });
  });

  it("fails the job when the file disappears between two slices, keeping what was imported", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(10));
    const consumer = consumerEnv(BUDGET);
    await deliver(consumer.env, { jobId, checkpointByte: 0 });
    expect(consumer.sent).toHaveLength(1);
    await env.UPLOADS.delete((await jobRecord(jobId)).object_key);
    const { result, messageId } = await deliver(consumer.env, consumer.sent[0]);
    expect(result.explicitAcks).toEqual([messageId]);
    expect(consumer.sent).toHaveLength(1);
    expect(await jobRecord(jobId)).toMatchObject({ status: "failed", processed_rows: 3, created: 3 });
    expect((await jobRecord(jobId)).failure_reason).toMatch(/no longer stored/);
  });

  it("fails the job and acks the message when the file itself is broken, keeping the rows before the broken spot", async () => {
    const cases = [
      { file: "name,price\nOne,1\n", reason: /^Line 1: The header is missing the required column "sku"/, processed: 0 },
      { file: 'sku,name,price\nA-1,One,1\nA-2,One,1\nA-3,"Three,3\nA-4,Four,4\n', reason: /^The quoted field that starts on line 4 is never closed\./, processed: 2 },
    ];
    for (const { file, reason, processed } of cases) {
      const t = await createTenant();
      const jobId = await createQueuedJob(t.tenantId, file);
      const consumer = consumerEnv(BUDGET);
      const { result, messageId } = await deliver(consumer.env, { jobId, checkpointByte: 0 });
      expect(result.explicitAcks).toEqual([messageId]);
      expect(result.retryMessages).toEqual([]);
      expect(consumer.sent).toEqual([]);
      const job = await jobRecord(jobId);
      expect(job).toMatchObject({ status: "failed", processed_rows: processed, created: processed, failed_attempts: 0 });
      expect(job.failure_reason).toMatch(reason);
    }
  });

  it("drops malformed messages and messages for unknown jobs without retrying", async () => {
    const consumer = consumerEnv();
    for (const body of [{ nope: 1 }, "text", null, { jobId: "imp_missing", checkpointByte: 0 }, { jobId: 42, checkpointByte: 0 }]) {
      const { result, messageId } = await deliver(consumer.env, body);
      expect(result.explicitAcks).toEqual([messageId]);
      expect(result.retryMessages).toEqual([]);
    }
    expect(consumer.sent).toEqual([]);
  });
});

describe("dead-letter consumer", () => {
  it("fails a job whose retries are exhausted, saying after how many attempts", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(6));
    const failing = consumerEnv(BUDGET, failingBatches(env.DB, [2, 3, 4]).db);
    for (let attempts = 1; attempts <= 3; attempts++) {
      const { result } = await deliver(failing.env, { jobId, checkpointByte: 0 }, { attempts });
      expect(result.retryMessages).toHaveLength(1);
    }
    expect(await jobRecord(jobId)).toMatchObject({ status: "processing", failed_attempts: 3, processed_rows: 2 });

    const dlq = await deliver(env as never, { jobId, checkpointByte: 0 }, { queue: DEAD_LETTER_QUEUE_NAME });
    expect(dlq.result.explicitAcks).toEqual([dlq.messageId]);
    const job = await jobRecord(jobId);
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/^Processing failed after 3 attempts\./);
    expect(job.failure_reason).toMatch(/The 2 rows counted as processed were imported; upload the file again to import the rest\.$/);
    expect(job.finished_at).not.toBeNull();

    // A late redelivery of the import message cannot revive it.
    const late = await deliver(consumerEnv(BUDGET).env, { jobId, checkpointByte: 0 });
    expect(late.result.explicitAcks).toEqual([late.messageId]);
    expect(await jobRecord(jobId)).toEqual(job);
  });

  it("says nothing was imported when no row was processed, or when the job was a dry run", async () => {
    const t = await createTenant();
    const untouched = await createQueuedJob(t.tenantId, csvRows(2));
    const dry = await createQueuedJob(t.tenantId, csvRows(6), { dryRun: true });
    await deliver(consumerEnv(BUDGET, failingBatches(env.DB, [2]).db).env, { jobId: dry, checkpointByte: 0 });
    expect(await jobRecord(dry)).toMatchObject({ status: "processing", processed_rows: 2, failed_attempts: 1 });

    await deliver(env as never, { jobId: untouched, checkpointByte: 0 }, { queue: DEAD_LETTER_QUEUE_NAME });
    await deliver(env as never, { jobId: dry, checkpointByte: 0 }, { queue: DEAD_LETTER_QUEUE_NAME });
    expect((await jobRecord(untouched)).failure_reason).toBe("Processing failed after 1 attempt. Nothing was imported; upload the file again.");
    expect((await jobRecord(dry)).failure_reason).toBe(
      "Processing failed after 1 attempt. This was a dry run, so nothing was imported; upload the file again to check it.",
    );
    expect(await productRecords(t.tenantId)).toEqual([]);
  });

  it("leaves a finished job alone and acks malformed dead letters", async () => {
    const t = await createTenant();
    const { jobId } = await importDirect(t.tenantId, csvRows(2));
    const before = await jobRecord(jobId);
    const batchResult = await deliver(env as never, { jobId, checkpointByte: 0 }, { queue: DEAD_LETTER_QUEUE_NAME });
    expect(batchResult.result.explicitAcks).toEqual([batchResult.messageId]);
    expect(await jobRecord(jobId)).toEqual(before);
    const malformed = await deliver(env as never, { hello: "world" }, { queue: DEAD_LETTER_QUEUE_NAME });
    expect(malformed.result.explicitAcks).toEqual([malformed.messageId]);
  });
});

describe("queue routing", () => {
  it("routes by the queue names in the configuration and refuses a batch from any other queue, so its messages are retried", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(2));
    const renamed = { ...env, IMPORT_QUEUE_NAME: "imports-eu", DEAD_LETTER_QUEUE_NAME: "imports-eu-dead" } as never;
    // The default import queue is not this Worker's queue under the renamed configuration.
    await expect(deliver(renamed, { jobId, checkpointByte: 0 }, { queue: IMPORT_QUEUE_NAME })).rejects.toThrow(/No consumer for queue "product-imports"/);
    await expect(deliver(env as never, { jobId, checkpointByte: 0 }, { queue: "product-imports-dlq-old" })).rejects.toThrow(/IMPORT_QUEUE_NAME/);
    expect(await jobRecord(jobId)).toMatchObject({ status: "queued" });
    // A dead letter on the renamed dead-letter queue fails the job.
    await deliver(renamed, { jobId, checkpointByte: 0 }, { queue: "imports-eu-dead" });
    expect(await jobRecord(jobId)).toMatchObject({ status: "failed" });
  });
});

describe("slice log", () => {
  it("logs one structured line per slice with rows and products written", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(3));
    const log = vi.spyOn(console, "log");
    try {
      await runJob(consumerEnv(), jobId);
      const lines = log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"import slice"') && l.includes(jobId));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "import slice", job_id: jobId, rows: 3, products_written: 3, outcome: "finished" });
    } finally {
      log.mockRestore();
    }
  });
});

describe("D1 limits", () => {
  it("keeps every bound value under 2 MB, even for rows whose JSON is six times their size", async () => {
    // A control character becomes \u0001 (6 bytes) in JSON; 日 takes 3 bytes in UTF-8.
    const description = "\u0001日".repeat(4_500);
    let file = "sku,name,price,description\n";
    for (let i = 0; i < 300; i++) file += `C-${i},Control ${i},1,${description}\n`;
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, file);
    let largest = 0;
    const encoder = new TextEncoder();
    const measuring = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop !== "prepare") return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return (sql: string) => {
          const statement = target.prepare(sql);
          const bind = statement.bind.bind(statement);
          statement.bind = (...values: unknown[]) => {
            for (const v of values) if (typeof v === "string") largest = Math.max(largest, encoder.encode(v).byteLength);
            return bind(...values);
          };
          return statement;
        };
      },
    });
    await runJob(consumerEnv({}, measuring), jobId);
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 300, created: 300, error_count: 0 });
    expect((await productRecords(t.tenantId)).find((p) => p.sku === "C-299")?.description).toBe(description);
    // In one 2,000-row chunk these 300 rows would be a 12 MB value: chunks closed on size, each still large.
    expect(largest).toBeGreaterThan(500_000);
    expect(largest).toBeLessThan(2_000_000);
  });
});

/** Two imports of the same file left the same counters, products and row errors. */
function expectSameEffect(actual: ImportSnapshot, expected: ImportSnapshot): void {
  expect(actual.counters).toEqual(expected.counters);
  expect(actual.products).toEqual(expected.products);
  expect(actual.errors).toEqual(expected.errors);
}

