// A job's progress as its JSON shows it: bytes_processed beside size_bytes (or inflated_bytes), a progress fraction,
// the rows per second of its last slice and an ETA, all from what each chunk's guarded job update stored. Jobs run
// through the API and the queue handler, one slice per delivered message.
import { env } from "cloudflare:workers";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { type ConsumerEnv, consumerEnv, csvRows, deliverAcked, drain, jobRecord, uploadHeld } from "../consumer-helpers.ts";
import { createTenant } from "../helpers.ts";
import { getJob, type Job } from "../imports-helpers.ts";

interface SliceColumns {
  cursor_byte: number;
  slice_started_at: number | null;
  slice_start_byte: number | null;
  slice_rows: number | null;
  slice_ms: number | null;
}

async function sliceColumns(jobId: string): Promise<SliceColumns> {
  const row = await env.DB.prepare("SELECT cursor_byte, slice_started_at, slice_start_byte, slice_rows, slice_ms FROM import_jobs WHERE id = ?")
    .bind(jobId)
    .first<SliceColumns>();
  if (!row) throw new Error(`no job ${jobId}`);
  return row;
}

/** What the job JSON must say of a job's pace, worked out from its stored columns. */
function expectedPace(s: SliceColumns, total: number, running: boolean) {
  const measured = s.slice_ms !== null && s.slice_ms > 0;
  const bytesPerMs = measured ? (s.cursor_byte - s.slice_start_byte!) / s.slice_ms! : 0;
  return {
    rows_per_second: measured ? Math.round(((s.slice_rows! * 1000) / s.slice_ms!) * 100) / 100 : null,
    eta_seconds: running && bytesPerMs > 0 ? Math.ceil((total - s.cursor_byte) / bytesPerMs / 1000) : null,
  };
}

/** Delivers the job's next message (one slice); returns the job as the API shows it and the messages it sent. */
async function slice(consumer: ConsumerEnv, key: string, jobId: string, message: Parameters<typeof deliverAcked>[1]): Promise<{ job: Job; next: ReturnType<typeof deliverAcked> extends Promise<infer T> ? T : never }> {
  const next = await deliverAcked(consumer, message);
  return { job: await getJob(key, jobId), next };
}

describe("job progress", () => {
  it("a queued job has read nothing; each slice stores its pace with its chunks; a completed job is at 1", async () => {
    // Two slices of 3 rows in chunks of 2: the pace of a slice adds up over its chunks and restarts with the next slice.
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "3", IMPORT_CHUNK_ROWS: "2" });
    const t = await createTenant();
    const file = csvRows(5);
    const size = new TextEncoder().encode(file).byteLength;
    const queued = await uploadHeld(consumer, t.key, file);
    expect(queued).toMatchObject({ status: "queued", size_bytes: size, bytes_processed: 0, progress: 0, rows_per_second: null, eta_seconds: null });
    const [first] = consumer.sent.splice(0);
    consumer.delays.splice(0);

    const one = await slice(consumer, t.key, queued.id, first!);
    expect(one.job).toMatchObject({ status: "processing", processed_rows: 3 });
    const s1 = await sliceColumns(queued.id);
    expect(s1).toMatchObject({ slice_start_byte: 0, slice_rows: 3 });
    expect(s1.cursor_byte).toBeGreaterThan(0);
    expect(s1.cursor_byte).toBeLessThan(size);
    expect(s1.slice_ms).toBeGreaterThanOrEqual(0);
    expect(one.job.bytes_processed).toBe(s1.cursor_byte);
    expect(one.job.progress).toBe(Math.round((s1.cursor_byte / size) * 10_000) / 10_000);
    expect(one.job).toMatchObject(expectedPace(s1, size, true));

    expect(one.next).toHaveLength(1);
    const two = await slice(consumer, t.key, queued.id, one.next[0]!);
    expect(two.job).toMatchObject({ status: "completed", processed_rows: 5, bytes_processed: size, progress: 1, eta_seconds: null });
    const s2 = await sliceColumns(queued.id);
    // The second slice started where the first stopped and counts only its own rows.
    expect(s2).toMatchObject({ slice_start_byte: s1.cursor_byte, slice_rows: 2, cursor_byte: size });
    expect(s2.slice_started_at).toBeGreaterThanOrEqual(s1.slice_started_at!);
    expect(two.job.rows_per_second).toBe(expectedPace(s2, size, false).rows_per_second);
  });

  it("rows per second and the ETA follow from the stored pace; a job asked to cancel has no ETA", async () => {
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "2", IMPORT_CHUNK_ROWS: "2" });
    const t = await createTenant();
    const file = csvRows(6);
    const size = new TextEncoder().encode(file).byteLength;
    const job = await uploadHeld(consumer, t.key, file);
    await deliverAcked(consumer, consumer.sent.splice(0)[0]!);
    const { cursor_byte: at } = await jobRecord(job.id);
    // A known pace: 2 rows and `at` bytes in 500 ms.
    await env.DB.prepare("UPDATE import_jobs SET slice_start_byte = 0, slice_rows = 2, slice_ms = 500 WHERE id = ?").bind(job.id).run();
    const paced = await getJob(t.key, job.id);
    expect(paced).toMatchObject({ status: "processing", bytes_processed: at, rows_per_second: 4, eta_seconds: Math.ceil(((size - at) * 500) / at / 1000) });

    await env.DB.prepare("UPDATE import_jobs SET cancel_requested_at = heartbeat_at WHERE id = ?").bind(job.id).run();
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "processing", rows_per_second: 4, eta_seconds: null });
  });

  it("a gzip upload's progress is of its inflated copy, unknown until it is inflated", async () => {
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "2", IMPORT_CHUNK_ROWS: "2" });
    const t = await createTenant();
    const file = csvRows(5);
    const plain = new TextEncoder().encode(file);
    const queued = await uploadHeld(consumer, t.key, new Uint8Array(zlib.gzipSync(plain)), "", { "content-encoding": "gzip" });
    expect(queued).toMatchObject({ content_encoding: "gzip", inflated_bytes: null, bytes_processed: 0, progress: null });
    const [, ...rest] = await drain(consumer);
    expect(rest.length).toBeGreaterThan(0);
    const done = await getJob(t.key, queued.id);
    expect(done).toMatchObject({ status: "completed", inflated_bytes: plain.byteLength, bytes_processed: plain.byteLength, progress: 1 });
  });

  it("a failed job shows how far it read", async () => {
    const consumer = consumerEnv({ IMPORT_SLICE_ROWS: "2", IMPORT_CHUNK_ROWS: "2" });
    const t = await createTenant();
    // The third record breaks the file (a quote left open to the end): the rows before it are committed.
    const file = `${csvRows(2)}A-03,"Open,1.00,1\n`;
    const size = new TextEncoder().encode(file).byteLength;
    const job = await uploadHeld(consumer, t.key, file);
    await drain(consumer);
    const failed = await getJob(t.key, job.id);
    expect(failed.status).toBe("failed");
    expect(failed.bytes_processed).toBeLessThan(size);
    expect(failed.progress).toBe(Math.round((failed.bytes_processed / size) * 10_000) / 10_000);
    expect(failed.eta_seconds).toBeNull();
  });
});
