// A tenant's writing imports apply in the order the API accepted them: a job starts once every job of its tenant
// accepted before it has finished. Messages are held by a recording queue and delivered here one at a time, so the
// slices of jobs interleave exactly as a test says.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import { backlog, consumerEnv, csvRows, deliver, deliverAcked, drain, failingBatches, jobRecord, productRecords, storedErrors, uploadHeld } from "../consumer-helpers.ts";
import { createTenant } from "../helpers.ts";
import { getJob } from "../imports-helpers.ts";

const MINUTE = 60_000;
// Small budgets: a 60-row catalog is committed in 5-row chunks over six 10-row slices.
const SLICES = { IMPORT_SLICE_ROWS: "10", IMPORT_CHUNK_ROWS: "5" };
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });

const feed = (skus: string[], stock: number) => `sku,stock\n${skus.map((sku) => `${sku},${stock}`).join("\n")}\n`;
const LAST_SKUS = ["A-56", "A-57", "A-58", "A-59", "A-60"];

describe("order of application within a tenant", () => {
  it("runs a stock feed accepted behind a catalog after it: the feed finds the SKUs the catalog creates, and its stock wins", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const catalog = await uploadHeld(consumer, t.key, csvRows(60));
    expect(catalog.waiting_for).toBeNull();
    const [catalogStart] = backlog(consumer);
    expect(catalogStart).toEqual({ jobId: catalog.id, checkpointByte: 0 });

    // Accepted while the catalog is queued: the feed waits, and no message is sent for it.
    const stockFeed = await uploadHeld(consumer, t.key, feed(LAST_SKUS, 2));
    expect(stockFeed).toMatchObject({ status: "queued", waiting_for: catalog.id });
    expect(consumer.sent).toEqual([]);

    // The catalog's first slice; then a message for the feed arrives early (a duplicate, a redelivery): it does nothing.
    const continuation = await deliverAcked(consumer, catalogStart!);
    expect(continuation).toEqual([{ jobId: catalog.id, checkpointByte: expect.any(Number) }]);
    expect(await deliverAcked(consumer, { jobId: stockFeed.id, checkpointByte: 0 })).toEqual([]);
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "queued", waiting_for: catalog.id, started_at: null, processed_rows: 0 });
    expect(await getJob(t.key, catalog.id)).toMatchObject({ status: "processing", processed_rows: 10, waiting_for: null });

    // The catalog's remaining slices; its last one starts the feed.
    const delivered = await drain(consumer, continuation);
    expect(delivered.map((m) => m.jobId)).toEqual([...Array(5).fill(catalog.id), stockFeed.id]);

    const [doneCatalog, doneFeed] = [await getJob(t.key, catalog.id), await getJob(t.key, stockFeed.id)];
    expect(doneCatalog).toMatchObject({ status: "completed", created: 60, rejected_rows: 0 });
    expect(doneFeed).toMatchObject({ status: "completed", updated: 5, rejected_rows: 0, error_count: 0, waiting_for: null });
    expect(Date.parse(doneFeed.started_at!)).toBeGreaterThanOrEqual(Date.parse(doneCatalog.finished_at!));
    const stock = new Map((await productRecords(t.tenantId)).map((p) => [p.sku, p.stock]));
    for (const sku of LAST_SKUS) expect(stock.get(sku)).toBe(2);
    expect(stock.get("A-55")).toBe(55);
  });

  it("applies three jobs in acceptance order, each naming the one just ahead of it", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const first = await uploadHeld(consumer, t.key, csvRows(20));
    const second = await uploadHeld(consumer, t.key, feed(["A-01"], 7));
    const third = await uploadHeld(consumer, t.key, feed(["A-01"], 9));
    expect([first.waiting_for, second.waiting_for, third.waiting_for]).toEqual([null, first.id, second.id]);

    // The first job's last slice spends its invocation's rows, so it sends the second's message; the second leaves
    // budget, so the third runs in the same invocation.
    expect((await drain(consumer)).map((m) => m.jobId)).toEqual([first.id, first.id, second.id]);
    const jobs = await Promise.all([first, second, third].map((j) => getJob(t.key, j.id)));
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"]);
    expect(jobs[0]!.finished_at! <= jobs[1]!.started_at! && jobs[1]!.finished_at! <= jobs[2]!.started_at!).toBe(true);
    expect((await productRecords(t.tenantId)).find((p) => p.sku === "A-01")?.stock).toBe(9);
  });

  it("starts the next job in the invocation of the one that finished while the budget lasts, and sends its message once spent", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const catalog = await uploadHeld(consumer, t.key, csvRows(4));
    const feeds = [await uploadHeld(consumer, t.key, feed(["A-01"], 11)), await uploadHeld(consumer, t.key, feed(["A-02"], 12))];
    const spending = await uploadHeld(consumer, t.key, feed(["A-01", "A-02", "A-03", "A-04"], 20));
    const last = await uploadHeld(consumer, t.key, feed(["A-03"], 30));

    // 4 + 1 + 1 rows leave budget; the 4-row feed spends the rest of the 10, so the last feed gets a message of its own.
    expect(await deliverAcked(consumer, backlog(consumer)[0]!)).toEqual([{ jobId: last.id, checkpointByte: 0 }]);
    for (const job of [catalog, ...feeds, spending]) expect(await getJob(t.key, job.id)).toMatchObject({ status: "completed" });
    expect(await getJob(t.key, last.id)).toMatchObject({ status: "queued", waiting_for: null });
    expect(await drain(consumer, [{ jobId: last.id, checkpointByte: 0 }])).toHaveLength(1);
    expect((await productRecords(t.tenantId)).map((p) => [p.sku, p.stock])).toEqual([["A-01", 20], ["A-02", 20], ["A-03", 30], ["A-04", 20]]);
  });

  it("holds no other tenant up: a second tenant's import runs while the first tenant's is midway", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    const consumer = consumerEnv(SLICES);
    const long = await uploadHeld(consumer, a.key, csvRows(60));
    const continuation = await deliverAcked(consumer, backlog(consumer)[0]!);

    const other = await uploadHeld(consumer, b.key, csvRows(5));
    expect(other.waiting_for).toBeNull();
    expect(await drain(consumer)).toEqual([{ jobId: other.id, checkpointByte: 0 }]);
    expect(await getJob(b.key, other.id)).toMatchObject({ status: "completed", created: 5 });
    expect(await getJob(a.key, long.id)).toMatchObject({ status: "processing", processed_rows: 10 });

    await drain(consumer, continuation);
    expect(await getJob(a.key, long.id)).toMatchObject({ status: "completed", created: 60 });
  });

  it("lets a dry run pass: it neither waits for the line nor holds it", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const catalog = await uploadHeld(consumer, t.key, csvRows(60));
    const continuation = await deliverAcked(consumer, backlog(consumer)[0]!);

    const dry = await uploadHeld(consumer, t.key, feed(["A-01"], 5), "?dry_run=true");
    expect(dry.waiting_for).toBeNull();
    const after = await uploadHeld(consumer, t.key, feed(["A-02"], 5));
    expect(after.waiting_for).toBe(catalog.id);
    expect(await drain(consumer)).toEqual([{ jobId: dry.id, checkpointByte: 0 }]);
    expect(await getJob(t.key, dry.id)).toMatchObject({ status: "completed", updated: 1 });

    await drain(consumer, continuation);
    expect(await getJob(t.key, after.id)).toMatchObject({ status: "completed", updated: 1 });
  });

  it("keeps the order through a failed commit between slices: the next job starts only once the retried slice finished the job", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const catalog = await uploadHeld(consumer, t.key, csvRows(60));
    const stockFeed = await uploadHeld(consumer, t.key, feed(LAST_SKUS, 2));
    const [continuation] = await deliverAcked(consumer, backlog(consumer)[0]!);

    // The continuation's first commit fails: the message is retried and nothing moves on.
    const failing = consumerEnv(SLICES, failingBatches(env.DB, [1]).db);
    const { result } = await deliver(failing.env, continuation!);
    expect(result.retryMessages).toHaveLength(1);
    expect(failing.sent).toEqual([]);
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "queued", waiting_for: catalog.id });

    await drain(consumer, [continuation!]);
    expect(await getJob(t.key, catalog.id)).toMatchObject({ status: "completed", created: 60, processed_rows: 60 });
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "completed", updated: 5, rejected_rows: 0 });
  });

  it("releases the next job when the sweeper fails a stuck one, and never fails a job for waiting", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    const catalog = await uploadHeld(consumer, t.key, csvRows(60));
    const stockFeed = await uploadHeld(consumer, t.key, csvRows(3));
    await deliverAcked(consumer, backlog(consumer)[0]!); // the continuation is lost: the catalog is stuck
    await env.DB.prepare("UPDATE import_jobs SET heartbeat_at = ?1, queued_at = ?1, created_at = ?1 WHERE tenant_id = ?2")
      .bind(Date.now() - config.stuckJobMs - MINUTE, t.tenantId)
      .run();

    await sweep(consumer.env, config);
    expect(await getJob(t.key, catalog.id)).toMatchObject({ status: "failed", processed_rows: 10 });
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "queued", waiting_for: null });
    const started = backlog(consumer).filter((m) => m.jobId === stockFeed.id);
    expect(started).toEqual([{ jobId: stockFeed.id, checkpointByte: 0 }]);
    await drain(consumer, started);
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "completed", unchanged: 3 }); // the catalog had written them
  });

  it("gives a job started in the invocation of the one ahead a retry message of its own when its slice fails", async () => {
    // How many D1 batches the first job takes alone, so that the failure falls on the second job's commit.
    const alone = failingBatches(env.DB, []);
    const probe = consumerEnv(SLICES, alone.db);
    await uploadHeld(probe, (await createTenant()).key, csvRows(4));
    await deliverAcked(probe, backlog(probe)[0]!);

    const t = await createTenant();
    const consumer = consumerEnv(SLICES, failingBatches(env.DB, [alone.batchCalls() + 1]).db);
    const catalog = await uploadHeld(consumer, t.key, csvRows(4));
    const stockFeed = await uploadHeld(consumer, t.key, feed(["A-01"], 7));
    const { result, messageId, laterJobRetries } = await deliver(consumer.env, backlog(consumer)[0]!);
    // The catalog's message is done; the feed's failure is retried through a delayed message for the feed.
    expect(result.explicitAcks).toEqual([messageId]);
    expect(result.retryMessages).toEqual([]);
    expect(laterJobRetries).toEqual([expect.objectContaining({ level: "warn", job_id: stockFeed.id, attempts: 1 })]);
    expect(consumer.sent).toEqual([{ jobId: stockFeed.id, checkpointByte: 0 }]);
    expect(consumer.delays).toEqual([expect.any(Number)]);
    expect(consumer.delays[0]).toBeGreaterThanOrEqual(1);
    expect(await getJob(t.key, catalog.id)).toMatchObject({ status: "completed", created: 4 });
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "processing", processed_rows: 0 });

    await drain(consumer);
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "completed", updated: 1 });
    expect((await productRecords(t.tenantId)).find((p) => p.sku === "A-01")?.stock).toBe(7);
  });

  it("starts a job whose wake-up message was lost once the sweeper runs", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SLICES);
    // 10 rows spend the invocation's budget: the feed is started by a message (and not in the same invocation).
    const catalog = await uploadHeld(consumer, t.key, csvRows(10));
    const stockFeed = await uploadHeld(consumer, t.key, feed(["A-01"], 3));
    const sent = await deliverAcked(consumer, backlog(consumer)[0]!);
    expect(sent).toEqual([{ jobId: stockFeed.id, checkpointByte: 0 }]); // lost: never delivered
    expect(await getJob(t.key, catalog.id)).toMatchObject({ status: "completed" });

    // Soon after, the sweeper leaves it alone (its message may still be on its way); later, it sends it again.
    await sweep(consumer.env, config, Date.now() + 10_000);
    expect(backlog(consumer).filter((m) => m.jobId === stockFeed.id)).toEqual([]);
    await sweep(consumer.env, config, Date.now() + 3 * MINUTE);
    const again = backlog(consumer).filter((m) => m.jobId === stockFeed.id);
    expect(again).toEqual([{ jobId: stockFeed.id, checkpointByte: 0 }]);
    await drain(consumer, again);
    expect(await getJob(t.key, stockFeed.id)).toMatchObject({ status: "completed", updated: 1 });
    expect(await storedErrors(stockFeed.id)).toEqual([]);
    expect((await jobRecord(stockFeed.id)).status).toBe("completed");
  });
});
