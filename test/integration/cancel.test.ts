// POST …/cancel: a job stops at its next boundary and ends `canceled`, in every state it can be canceled in. Uploads go
// through the API; their messages are held by a recording queue and delivered here, so a cancel lands exactly between
// (or, through a wrapped D1, inside) the slices a test names.
import zlib from "node:zlib";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { inflatedKey } from "../../src/imports/jobs/inflated-copy.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import { jobStates } from "../../src/model/job-states.ts";
import { backlog, type ConsumerEnv, consumerEnv, csvRows, deliverAcked, drain, jobRecord, productRecords, requestHeld, storedErrors, uploadHeld } from "../consumer-helpers.ts";
import { addKey, createTenant, problemOf, request, type TestTenant } from "../helpers.ts";
import { getJob, type Job, jobRowsOf, uploadStream } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";
const MIB = 1024 * 1024;
const encoder = new TextEncoder();
// Small budgets: a 60-row catalog is committed in 5-row chunks over six 10-row slices.
const SLICES = { IMPORT_SLICE_ROWS: "10", IMPORT_CHUNK_ROWS: "5" };
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const skus = (n: number, prefix = "P") => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, "0")}`);
const catalogFile = (list: readonly string[]) => `sku,name,price,stock\n${list.map((sku) => `${sku},Name ${sku},9.99,1`).join("\n")}\n`;
const feed = (list: readonly string[], stock: number) => `sku,stock\n${list.map((sku) => `${sku},${stock}`).join("\n")}\n`;

/** POST …/cancel, any start message it sends held by the consumer's recording queue. */
function cancel(consumer: ConsumerEnv, key: string, id: string): Promise<Response> {
  return requestHeld(consumer, `${IMPORT}/${id}/cancel`, { method: "POST", key });
}

async function canceledNow(consumer: ConsumerEnv, key: string, id: string): Promise<Job> {
  const res = await cancel(consumer, key, id);
  expect(res.status).toBe(200);
  return res.json();
}

async function tenantWithCatalog(consumer: ConsumerEnv, list: readonly string[]): Promise<TestTenant> {
  const t = await createTenant();
  await uploadHeld(consumer, t.key, catalogFile(list));
  await drain(consumer);
  return t;
}

async function statuses(tenantId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await productRecords(tenantId)).map((p) => [p.sku, p.status]));
}

/** The job's stored replace phase and archived count (not in JobRecord's shape). */
async function replaceState(jobId: string): Promise<{ replace_phase: string | null; archived: number; status: string }> {
  return (await jobRecord(jobId)) as unknown as { replace_phase: string | null; archived: number; status: string };
}

/** D1 whose `batch()` call number `on` first runs `before` (a cancel landing while a slice is between two commits). */
function beforeBatch(db: D1Database, on: number, before: () => Promise<unknown>): D1Database {
  let calls = 0;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (++calls === on) await before();
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("canceling a job that is not processing", () => {
  it("a queued job waiting in line is taken out: the jobs behind it go on in order, and it never runs", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const catalog = await uploadHeld(consumer, t.key, csvRows(20));
    const stale = await uploadHeld(consumer, t.key, feed(["A-01", "A-02"], 7));
    const fresh = await uploadHeld(consumer, t.key, feed(["A-02"], 9));
    expect(stale).toMatchObject({ status: "queued", waiting_for: catalog.id });
    expect(fresh).toMatchObject({ status: "queued", waiting_for: stale.id });

    const job = await canceledNow(consumer, t.key, stale.id);
    expect(job).toMatchObject({ status: "canceled", waiting_for: null, started_at: null, processed_rows: 0 });
    expect(job.canceled_at).toMatch(ISO);
    expect(job.finished_at).toBe(job.canceled_at);
    // Not first in line: nothing is started for it.
    expect(backlog(consumer).map((m) => m.jobId)).toEqual([catalog.id]);
    expect(await getJob(t.key, fresh.id)).toMatchObject({ status: "queued", waiting_for: catalog.id });

    // The catalog's slices, a late message of the canceled job; the catalog's last slice runs the job behind it.
    await drain(consumer, [{ jobId: catalog.id, checkpointByte: 0 }, { jobId: stale.id, checkpointByte: 0 }]);
    expect(await getJob(t.key, stale.id)).toMatchObject({ status: "canceled", processed_rows: 0, started_at: null });
    expect(await getJob(t.key, fresh.id)).toMatchObject({ status: "completed", updated: 1 });
    const stock = Object.fromEntries((await productRecords(t.tenantId)).map((p) => [p.sku, p.stock]));
    expect([stock["A-01"], stock["A-02"]]).toEqual([1, 9]);
  });

  it("the first job of the line, queued: the next job is started at once", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const first = await uploadHeld(consumer, t.key, csvRows(5));
    const second = await uploadHeld(consumer, t.key, catalogFile(["A-01"]));
    expect(backlog(consumer).map((m) => m.jobId)).toEqual([first.id]);

    await canceledNow(consumer, t.key, first.id);
    expect(backlog(consumer)).toEqual([{ jobId: second.id, checkpointByte: 0 }]);
    expect(await getJob(t.key, second.id)).toMatchObject({ status: "queued", waiting_for: null });
    // The canceled job's own message, delivered late, does nothing.
    await drain(consumer, [{ jobId: first.id, checkpointByte: 0 }, { jobId: second.id, checkpointByte: 0 }]);
    expect(await getJob(t.key, first.id)).toMatchObject({ status: "canceled", processed_rows: 0 });
    expect(await getJob(t.key, second.id)).toMatchObject({ status: "completed", created: 1 });
  });

  it("a pending job, its upload still arriving: canceled at once, and the upload answers with the canceled job", async () => {
    const t = await createTenant();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const body = csvRows(3);
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent) {
          await held;
          controller.close();
          return;
        }
        sent = true;
        controller.enqueue(encoder.encode(body));
      },
    });
    const uploading = uploadStream(t.key, stream, { length: encoder.encode(body).byteLength });
    let rows = await jobRowsOf(t.tenantId);
    for (let i = 0; rows.length === 0 && i < 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      rows = await jobRowsOf(t.tenantId);
    }
    expect(rows.map((r) => r.status)).toEqual(["pending"]);
    const res = await request(`${IMPORT}/${rows[0]!.id}/cancel`, { method: "POST", key: t.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "canceled", queued_at: null });
    release();
    const done = await uploading;
    expect(done.status).toBe(202);
    expect(await done.json()).toMatchObject({ id: rows[0]!.id, status: "canceled", processed_rows: 0 });
    expect(await productRecords(t.tenantId)).toEqual([]);
  });

  it("a replace-mode job waiting for confirmation: canceled without archiving anything; it can no longer be confirmed", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    await uploadHeld(consumer, t.key, catalogFile(all.slice(0, 5)), "?mode=replace");
    await drain(consumer);
    const [, replace] = (await jobRowsOf(t.tenantId)).map((r) => r.id);
    expect(await getJob(t.key, replace!)).toMatchObject({ status: "needs_confirmation", would_archive: 5 });

    expect(await canceledNow(consumer, t.key, replace!)).toMatchObject({ status: "canceled", archived: 0, confirmed_at: null });
    const confirm = await requestHeld(consumer, `${IMPORT}/${replace}/confirm`, { method: "POST", key: t.key });
    expect(confirm.status).toBe(409);
    await drain(consumer);
    expect(Object.values(await statuses(t.tenantId))).toEqual(Array(10).fill("active"));
  });
});

describe("canceling a processing job", () => {
  it("between slices: the rows committed before stay and are counted, nothing after is written, redelivery does nothing", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const job = await uploadHeld(consumer, t.key, csvRows(60));
    const behind = await uploadHeld(consumer, t.key, catalogFile(["A-01", "A-60"]));
    const [start] = backlog(consumer);
    const [continuation] = await deliverAcked(consumer, start!);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "processing", processed_rows: 10 });

    const requested = await cancel(consumer, t.key, job.id);
    expect(requested.status).toBe(202);
    expect(requested.headers.get("location")).toBe(`${IMPORT}/${job.id}`);
    const pending = (await requested.json()) as Job;
    expect(pending).toMatchObject({ status: "processing", canceled_at: null });
    expect(pending.cancel_requested_at).toMatch(ISO);
    // A repeat while it is still processing changes nothing.
    const again = await cancel(consumer, t.key, job.id);
    expect(again.status).toBe(202);
    expect(((await again.json()) as Job).cancel_requested_at).toBe(pending.cancel_requested_at);

    // The next slice stops at its start; the job behind it starts in the same invocation.
    await drain(consumer, [continuation!]);
    const canceled = await getJob(t.key, job.id);
    expect(canceled).toMatchObject({ status: "canceled", processed_rows: 10, created: 10, total_rows: null, cancel_requested_at: pending.cancel_requested_at });
    expect(canceled.canceled_at).toMatch(ISO);
    // A-01…A-10 from the canceled catalog (A-01 then rewritten by the job behind it), and A-60 created by that job.
    const names = Object.fromEntries((await productRecords(t.tenantId)).map((p) => [p.sku, p.name]));
    expect(Object.keys(names).sort()).toEqual([...skus(10, "A"), "A-60"]);
    expect([names["A-01"], names["A-02"], names["A-60"]]).toEqual(["Name A-01", "Product 2", "Name A-60"]);
    expect(await getJob(t.key, behind.id)).toMatchObject({ status: "completed", updated: 1, created: 1 });

    // Redelivery of any of its messages, after the cancel: nothing changes.
    const record = await jobRecord(job.id);
    await drain(consumer, [start!, continuation!]);
    expect(await jobRecord(job.id)).toEqual(record);
    expect(await productRecords(t.tenantId)).toHaveLength(11);

    // Canceled again: 200 with the job, as it was.
    const repeat = await cancel(consumer, t.key, job.id);
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual(await getJob(t.key, job.id));
  });

  it("inside a slice: the chunk after the request commits nothing, and the job ends at that boundary", async () => {
    const t = await createTenant();
    // One slice for the whole file, in 5-row chunks: the cancel lands while the slice is between two commits.
    const vars = { IMPORT_SLICE_ROWS: "1000", IMPORT_CHUNK_ROWS: "5" };
    const consumer = consumerEnv(vars);
    const job = await uploadHeld(consumer, t.key, `${csvRows(40)}A-07,Bad,not-a-price,1\n`);
    const [start] = backlog(consumer);
    consumer.env.DB = beforeBatch(env.DB, 4, () => request(`${IMPORT}/${job.id}/cancel`, { method: "POST", key: t.key }));
    await drain(consumer, [start!]);

    const canceled = await getJob(t.key, job.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.processed_rows).toBeGreaterThan(0);
    expect(canceled.processed_rows).toBeLessThan(40);
    expect(canceled.processed_rows % 5).toBe(0);
    // Exactly the rows before the boundary, each counted once; the bad row after it left no error.
    const products = await productRecords(t.tenantId);
    expect(products).toHaveLength(canceled.processed_rows);
    expect(canceled).toMatchObject({ created: canceled.processed_rows, rejected_rows: 0, error_count: 0 });
    expect(await storedErrors(job.id)).toEqual([]);
    const record = await jobRecord(job.id);
    expect(record.cursor_byte).toBe(encoder.encode(csvRows(canceled.processed_rows)).byteLength);

    // Redelivered from its start and from where it stopped: nothing.
    consumer.env.DB = env.DB;
    await drain(consumer, [start!, { jobId: job.id, checkpointByte: record.cursor_byte }]);
    expect(await jobRecord(job.id)).toEqual(record);
    expect(await productRecords(t.tenantId)).toHaveLength(canceled.processed_rows);
  });

  it("whose next message is lost: the sweeper ends it canceled, not failed, with the rows it committed", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const job = await uploadHeld(consumer, t.key, csvRows(30));
    await deliverAcked(consumer, backlog(consumer)[0]!);
    expect((await cancel(consumer, t.key, job.id)).status).toBe(202);
    await sweep(consumer.env, config, Date.now() + config.stuckJobMs + 1);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "canceled", failure_reason: null, processed_rows: 10, created: 10 });
  });

  it("a dry run: stops at its boundary with its counts so far, and writes nothing", async () => {
    const consumer = consumerEnv(SLICES);
    const t = await createTenant();
    const job = await uploadHeld(consumer, t.key, csvRows(30), "?dry_run=true");
    const [continuation] = await deliverAcked(consumer, backlog(consumer)[0]!);
    expect((await cancel(consumer, t.key, job.id)).status).toBe(202);
    await drain(consumer, [continuation!]);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "canceled", dry_run: true, processed_rows: 10, created: 10 });
    expect(await productRecords(t.tenantId)).toEqual([]);
  });

  it("while inflating a gzip file: stops after the parts stored so far and deletes them; no row is imported", async () => {
    // Eleven records of about a mebibyte: three 5 MiB parts inflated, one per invocation.
    const filler = "lorem ipsum dolor sit amet ".repeat(40_000).slice(0, 1_000_000);
    let csv = "sku,name,price,notes\n";
    for (let i = 1; i <= 11; i++) csv += `B-${i},Big ${i},${i}.00,${filler}\n`;
    const gz = new Uint8Array(zlib.gzipSync(encoder.encode(csv)));
    const consumer = consumerEnv({ INFLATE_PART_BYTES: String(5 * MIB), IMPORT_SLICE_MS: "1" });
    const t = await createTenant();
    const job = await uploadHeld(consumer, t.key, gz, "", { "content-encoding": "gzip" });
    const [continuation] = await deliverAcked(consumer, backlog(consumer)[0]!);
    const inflating = (await jobRecord(job.id)) as unknown as { inflate_checkpoint: string | null };
    expect(inflating.inflate_checkpoint).not.toBeNull();

    expect((await cancel(consumer, t.key, job.id)).status).toBe(202);
    await drain(consumer, [continuation!]);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "canceled", inflated_bytes: null, processed_rows: 0 });
    expect(await env.UPLOADS.head(inflatedKey(`${t.tenantId}/${job.id}`))).toBeNull();
    expect(await productRecords(t.tenantId)).toEqual([]);
  });

  it("a replace-mode job while archiving: keeps, and counts, what it archived before the boundary", async () => {
    // Archive windows of 5 products (IMPORT_CHUNK_ROWS × 5), one per invocation.
    const consumer = consumerEnv({ IMPORT_CHUNK_ROWS: "1", IMPORT_SLICE_ROWS: "5" });
    const all = skus(30);
    const t = await tenantWithCatalog(consumer, all);
    await uploadHeld(consumer, t.key, catalogFile(all.slice(0, 2)), "?mode=replace&max_archive=100%25");
    const id = (await jobRowsOf(t.tenantId))[1]!.id;
    let pending = backlog(consumer);
    while ((await replaceState(id)).archived === 0) {
      expect(pending).toHaveLength(1);
      pending = await deliverAcked(consumer, pending[0]!);
    }
    expect(await replaceState(id)).toMatchObject({ status: "processing", replace_phase: "archiving" });

    expect((await cancel(consumer, t.key, id)).status).toBe(202);
    await drain(consumer, pending);
    const job = await getJob(t.key, id);
    expect(job).toMatchObject({ status: "canceled", would_archive: 28 });
    expect(job.archived).toBeGreaterThan(0);
    expect(job.archived).toBeLessThan(28);
    const archived = Object.values(await statuses(t.tenantId)).filter((s) => s === "archived");
    expect(archived).toHaveLength(job.archived);
  });
});

describe("what cannot be canceled, and who may", () => {
  it("a finished job is a 409 problem; another tenant's job is a 404; a read-only key is refused", async () => {
    const consumer = consumerEnv();
    const t = await createTenant();
    const done = await uploadHeld(consumer, t.key, csvRows(2));
    const broken = await uploadHeld(consumer, t.key, "sku,sku\nA,B\n");
    await drain(consumer);
    expect(await getJob(t.key, done.id)).toMatchObject({ status: "completed" });
    expect(await getJob(t.key, broken.id)).toMatchObject({ status: "failed" });
    for (const id of [done.id, broken.id]) {
      const res = await cancel(consumer, t.key, id);
      expect(res.status).toBe(409);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/conflict", status: 409 });
    }
    expect((await getJob(t.key, done.id)).cancel_requested_at).toBeNull();

    const queued = await uploadHeld(consumer, t.key, csvRows(2));
    const other = await createTenant();
    const foreign = await cancel(consumer, other.key, queued.id);
    expect(foreign.status).toBe(404);
    const readOnly = await addKey(t.tenantId, ["imports:read"]);
    expect((await cancel(consumer, readOnly, queued.id)).status).toBe(403);
    expect(await getJob(t.key, queued.id)).toMatchObject({ status: "queued", cancel_requested_at: null });
  });

  it("the status summary counts canceled jobs and still adds up; the list filters by status=canceled", async () => {
    const consumer = consumerEnv();
    const t = await createTenant();
    const kept = await uploadHeld(consumer, t.key, csvRows(2));
    const dropped = await uploadHeld(consumer, t.key, csvRows(3));
    await canceledNow(consumer, t.key, dropped.id);
    await drain(consumer);
    expect(await getJob(t.key, kept.id)).toMatchObject({ status: "completed" });

    const summary = (await (await request(`${IMPORT}/status`, { key: t.key })).json()) as Record<string, number>;
    expect(summary).toMatchObject({ total: 2, completed: 1, canceled: 1 });
    expect(jobStates.reduce((sum, s) => sum + summary[s]!, 0)).toBe(summary.total);
    const listed = (await (await request(`${IMPORT}?status=canceled`, { key: t.key })).json()) as { data: Job[] };
    expect(listed.data.map((j) => j.id)).toEqual([dropped.id]);
  });
});
