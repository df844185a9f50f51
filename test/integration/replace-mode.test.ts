// Replace mode (mode=replace, a full-catalog sync): after its last row, an import archives every product of its tenant
// that the file did not mention, within max_archive or after a confirmation; exactly once across slices, redelivery
// and crashes. Uploads go through the API; their messages are held by a recording queue and delivered here.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { archiveStatementsForPlans } from "../../src/imports/commit/archive.ts";
import { stampMentionsSql } from "../../src/imports/commit/write.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import type { ImportMessage } from "../../src/model/import-message.ts";
import {
  type ConsumerEnv,
  consumerEnv,
  createQueuedJob,
  deliver,
  failingBatches,
  jobRecord,
  productRecords,
  requestHeld,
  runJob,
  uploadHeld,
  drain,
  backlog,
} from "../consumer-helpers.ts";
import { addKey, createTenant, problemOf, request, seedProducts, type TestTenant } from "../helpers.ts";
import { accepted, getJob, type Job } from "../imports-helpers.ts";
import { exportFile, SHOPIFY_CLASSIC_HEADER } from "../preset-exports.ts";

const HOUR = 3_600_000;
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });

const skus = (n: number, prefix = "P") => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, "0")}`);
const catalogFile = (list: readonly string[]) => `sku,name,price,stock\n${list.map((sku) => `${sku},Name ${sku},9.99,1`).join("\n")}\n`;

/** Imports a file through the API and the held queue, to its end. */
async function importHeld(consumer: ConsumerEnv, key: string, body: string, query = "", type = "text/csv"): Promise<Job> {
  const job = await uploadHeld(consumer, key, body, query, { "content-type": type });
  await drain(consumer);
  return getJob(key, job.id);
}

/** A tenant whose catalog holds these SKUs, imported as an ordinary upsert. */
async function tenantWithCatalog(consumer: ConsumerEnv, list: readonly string[]): Promise<TestTenant> {
  const t = await createTenant();
  expect(await importHeld(consumer, t.key, catalogFile(list))).toMatchObject({ status: "completed", created: list.length });
  return t;
}

/** Each product's status, by SKU. */
async function statuses(tenantId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await productRecords(tenantId)).map((p) => [p.sku, p.status]));
}

/** The statuses expected when exactly `archived` are archived. */
function expectArchived(all: readonly string[], archived: readonly string[]): Record<string, string> {
  return Object.fromEntries(all.map((sku) => [sku, archived.includes(sku) ? "archived" : "active"]));
}

/** POST …/confirm, its start message held by the consumer's recording queue. */
function confirm(consumer: ConsumerEnv, key: string, id: string): Promise<Response> {
  return requestHeld(consumer, `/api/v1/products/import/${id}/confirm`, { method: "POST", key });
}

async function mentionsLeft(jobId: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM import_mentions WHERE job_id = ?").bind(jobId).first<number>("n")) ?? 0;
}

describe("replace mode", () => {
  it("archives every product of the tenant the file did not mention, counts it on the job, and archives nothing twice", async () => {
    const consumer = consumerEnv();
    const all = skus(5);
    const t = await tenantWithCatalog(consumer, all);
    const before = new Map((await productRecords(t.tenantId)).map((p) => [p.sku, p.updated_at]));

    const job = await uploadHeld(consumer, t.key, catalogFile(all.slice(0, 4)), "?mode=replace");
    expect(job.options).toMatchObject({ mode: "replace", max_archive: "20%" });
    expect(job).toMatchObject({ would_archive: null, archive_limit: null, archived: 0 });
    await drain(consumer);
    // 1 of 5 is 20 %: within the default max_archive.
    expect(await getJob(t.key, job.id)).toMatchObject({
      status: "completed",
      unchanged: 4,
      created: 0,
      updated: 0,
      would_archive: 1,
      archive_limit: 1,
      archived: 1,
      failure_reason: null,
    });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, ["P-05"]));
    // The archived product's updated_at moves (an incremental sync sees it); the others were not written.
    for (const p of await productRecords(t.tenantId)) {
      if (p.sku === "P-05") expect(p.updated_at).toBeGreaterThanOrEqual(before.get(p.sku)!);
      else expect(p.updated_at).toBe(before.get(p.sku));
    }
    const listed = await request(`/api/v1/products?status=archived`, { key: t.key });
    expect(((await listed.json()) as { data: { sku: string }[] }).data.map((p) => p.sku)).toEqual(["P-05"]);

    // The same file again: the archived product is not counted again, and nothing is archived.
    expect(await importHeld(consumer, t.key, catalogFile(all.slice(0, 4)), "?mode=replace")).toMatchObject({
      status: "completed",
      would_archive: 0,
      archived: 0,
    });
    // An upsert says so, and has nothing to do with archiving.
    const upsert = await importHeld(consumer, t.key, catalogFile(["P-01"]));
    expect(upsert).toMatchObject({ status: "completed", would_archive: null, archive_limit: null, archived: 0 });
    expect(upsert.options).toMatchObject({ mode: "upsert", max_archive: null });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, ["P-05"]));
  });

  it("counts a SKU on a rejected row as mentioned (an invalid field, a ragged row, a trimmed SKU), but not a SKU the rules refuse", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const file = [
      "sku,name,price,stock",
      ...all.slice(0, 7).map((sku) => `${sku},Name ${sku},9.99,1`),
      "P-08,Name P-08,not-a-price,1",
      "P-09,Name P-09,9.99,1,one too many",
      " P-10 ,Name P-10,9.99,many",
      "bad sku!,Name,9.99,1",
      "",
    ].join("\n");
    const job = await importHeld(consumer, t.key, file, "?mode=replace&max_archive=100%25");
    expect(job).toMatchObject({ status: "completed", rejected_rows: 4, unchanged: 7, would_archive: 0, archived: 0 });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, []));

    // NDJSON: a field given twice, a price refused, a new product without a name; each names its SKU.
    const n = await tenantWithCatalog(consumer, skus(4, "Q"));
    const lines = ['{"sku":"Q-01","stock":5}', '{"SKU":"Q-02","sku":"Q-02"}', '{"sku":"Q-03","price":"x"}', '{"sku":"Q-09","stock":1}', "not json"];
    const ndjson = await importHeld(consumer, n.key, `${lines.join("\n")}\n`, "?mode=replace&max_archive=100%25", "application/x-ndjson");
    expect(ndjson).toMatchObject({ status: "completed", updated: 1, rejected_rows: 4, would_archive: 1, archived: 1 });
    expect(await statuses(n.tenantId)).toEqual(expectArchived(skus(4, "Q"), ["Q-04"]));
  });

  it("takes a partial feed (sku,stock) through a mapping, and archives what it does not name", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const feed = `Item No.,Qty\n${all.slice(0, 9).map((sku) => `${sku},7`).join("\n")}\n`;
    const mapping = encodeURIComponent(JSON.stringify({ "Item No.": "sku", Qty: "stock" }));
    const job = await importHeld(consumer, t.key, feed, `?mode=replace&mapping=${mapping}`);
    expect(job).toMatchObject({ status: "completed", updated: 9, would_archive: 1, archive_limit: 2, archived: 1 });
    const products = await productRecords(t.tenantId);
    expect(products.filter((p) => p.stock === 7).map((p) => p.sku)).toEqual(all.slice(0, 9));
    expect(products.every((p) => p.name === `Name ${p.sku}`)).toBe(true);
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, ["P-10"]));
  });

  it("reads a Shopify export by its SKUs: a variant's SKU keeps its product, rows without one mention nothing", async () => {
    const consumer = consumerEnv();
    const t = await tenantWithCatalog(consumer, ["TEE-S", "TEE-M", "OLD-1"]);
    const shopify = exportFile(SHOPIFY_CLASSIC_HEADER, [
      { Handle: "tee", Title: "Tee", "Option1 Name": "Size", "Option1 Value": "S", "Variant SKU": "TEE-S", "Variant Price": "10.00" },
      { Handle: "tee", "Option1 Value": "M", "Variant SKU": "TEE-M", "Variant Price": "10.00" },
      { Handle: "tee", "Image Src": "https://cdn.example.com/tee.jpg" },
    ]);
    const job = await importHeld(consumer, t.key, shopify, "?mode=replace&max_archive=1");
    expect(job).toMatchObject({ status: "completed", preset: "shopify", skipped_rows: 1, would_archive: 1, archived: 1 });
    expect(await statuses(t.tenantId)).toEqual({ "TEE-S": "active", "TEE-M": "active", "OLD-1": "archived" });
  });

  it("takes mode=replace when an upload session completes, as a direct upload does", async () => {
    const consumer = consumerEnv();
    const all = skus(5);
    const t = await tenantWithCatalog(consumer, all);
    const file = new TextEncoder().encode(catalogFile(all.slice(0, 2)));
    const opened = await request("/api/v1/uploads", {
      method: "POST",
      key: t.key,
      body: JSON.stringify({ size: file.byteLength, filename: "catalog.csv", content_type: "text/csv" }),
      headers: { "content-type": "application/json" },
    });
    const session = (await opened.json()) as { id: string };
    const part = await request(`/api/v1/uploads/${session.id}/parts/1`, {
      method: "PUT",
      key: t.key,
      body: file,
      headers: { "content-type": "application/octet-stream", "content-length": String(file.byteLength) },
    });
    expect(part.status).toBe(200);
    const complete = (query: string) => requestHeld(consumer, `/api/v1/uploads/${session.id}/complete?${query}`, { method: "POST", key: t.key });

    const refused = await complete("max_archive=100%25");
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).errors).toEqual([{ location: "query", name: "max_archive", message: "applies only with mode=replace" }]);
    const job = await accepted(await complete("mode=replace&max_archive=100%25"));
    expect(job.options).toMatchObject({ mode: "replace", max_archive: "100%" });
    await drain(consumer);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "completed", would_archive: 3, archived: 3 });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, all.slice(2)));
  });

  it("stops before archiving more than max_archive, waits without holding the tenant's line, and archives once confirmed", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const replace = await importHeld(consumer, t.key, catalogFile(all.slice(0, 5)), "?mode=replace");
    expect(replace).toMatchObject({ status: "needs_confirmation", would_archive: 5, archive_limit: 2, archived: 0, finished_at: null, confirmed_at: null });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, []));

    // The status summary counts it, and its counts add up to the total; the job list filters by it.
    const summary = (await (await request("/api/v1/products/import/status", { key: t.key })).json()) as Record<string, number>;
    expect(summary).toMatchObject({ total: 2, needs_confirmation: 1, completed: 1 });
    expect(["pending", "queued", "processing", "needs_confirmation", "completed", "failed"].reduce((sum, s) => sum + summary[s]!, 0)).toBe(summary.total);
    const waiting = (await (await request("/api/v1/products/import?status=needs_confirmation", { key: t.key })).json()) as { data: Job[] };
    expect(waiting.data.map((j) => j.id)).toEqual([replace.id]);

    // A later import does not wait for it.
    const feed = await uploadHeld(consumer, t.key, "sku,stock\nP-01,3\n");
    expect(feed.waiting_for).toBeNull();
    await drain(consumer);
    expect(await getJob(t.key, feed.id)).toMatchObject({ status: "completed", updated: 1 });

    // Confirming needs imports:write; then the job archives, once.
    const reader = await addKey(t.tenantId, ["imports:read"]);
    expect((await confirm(consumer, reader, replace.id)).status).toBe(403);
    const confirmed = await confirm(consumer, t.key, replace.id);
    expect(confirmed.status).toBe(202);
    expect(confirmed.headers.get("location")).toBe(`/api/v1/products/import/${replace.id}`);
    expect(await confirmed.json()).toMatchObject({ id: replace.id, status: "queued", waiting_for: null, confirmed_at: expect.any(String) });
    expect(consumer.sent).toEqual([{ jobId: replace.id, checkpointByte: expect.any(Number) }]);
    await drain(consumer);
    const done = await getJob(t.key, replace.id);
    expect(done).toMatchObject({ status: "completed", would_archive: 5, archive_limit: 2, archived: 5, failure_reason: null });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, all.slice(5)));

    // A repeat changes nothing and answers the same way; another job, or none, is refused.
    const again = await confirm(consumer, t.key, replace.id);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ status: "completed", archived: 5, confirmed_at: done.confirmed_at });
    expect(consumer.sent).toEqual([]);
    const notWaiting = await confirm(consumer, t.key, feed.id);
    expect(notWaiting.status).toBe(409);
    expect(await problemOf(notWaiting)).toMatchObject({ type: "/problems/conflict", detail: expect.stringContaining("is completed, not waiting for confirmation") });
    expect((await confirm(consumer, t.key, "imp_nope")).status).toBe(404);
  });

  it("archives within a max_archive given as a count or a percentage, and stops just past it", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    for (const [maxArchive, status] of [["4", "needs_confirmation"], ["5", "completed"], ["49.99%25", "needs_confirmation"], ["50%25", "completed"]] as const) {
      const t = await tenantWithCatalog(consumer, all);
      const job = await importHeld(consumer, t.key, catalogFile(all.slice(0, 5)), `?mode=replace&max_archive=${maxArchive}`);
      expect(job, maxArchive).toMatchObject({ status, would_archive: 5, archived: status === "completed" ? 5 : 0 });
      expect(job.options.max_archive).toBe(decodeURIComponent(maxArchive));
    }
  });

  it("does not archive what an import applied while it waited wrote or named, and takes its place in the line when confirmed", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const replace = await importHeld(consumer, t.key, catalogFile(all.slice(0, 5)), "?mode=replace");
    expect(replace).toMatchObject({ status: "needs_confirmation", would_archive: 5 });

    // While it waits: a feed changes P-06 and names P-07 without changing it (stock 1 as stored).
    expect(await importHeld(consumer, t.key, "sku,stock\nP-06,50\nP-07,1\n")).toMatchObject({ status: "completed", updated: 1, unchanged: 1 });
    // Accepted before the confirmation, not yet run: the confirmed job applies after it (P-08 changed, P-09 named).
    const ahead = await uploadHeld(consumer, t.key, "sku,stock\nP-08,60\nP-09,1\n");
    const aheadStart = backlog(consumer);
    const confirmed = (await (await confirm(consumer, t.key, replace.id)).json()) as Job;
    expect(confirmed).toMatchObject({ status: "queued", waiting_for: ahead.id });
    expect(consumer.sent).toEqual([]);

    await drain(consumer, aheadStart);
    const [doneAhead, done] = [await getJob(t.key, ahead.id), await getJob(t.key, replace.id)];
    expect(doneAhead).toMatchObject({ status: "completed", updated: 1, unchanged: 1 });
    expect(done).toMatchObject({ status: "completed", would_archive: 5, archived: 1 });
    expect(Date.parse(doneAhead.finished_at!)).toBeLessThanOrEqual(Date.parse(done.finished_at!));
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, ["P-10"]));
    expect((await productRecords(t.tenantId)).find((p) => p.sku === "P-08")?.stock).toBe(60);
  });

  it("is expired by the sweeper when not confirmed in time, with nothing archived; waiting is not being stuck", async () => {
    const consumer = consumerEnv();
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const replace = await importHeld(consumer, t.key, catalogFile(all.slice(0, 5)), "?mode=replace");
    expect(replace.status).toBe("needs_confirmation");
    const idleFor = (ms: number) => env.DB.prepare("UPDATE import_jobs SET heartbeat_at = ? WHERE id = ?").bind(Date.now() - ms, replace.id).run();

    // Longer than STUCK_JOB_MINUTES, shorter than CONFIRMATION_HOURS: left alone.
    await idleFor(config.stuckJobMs + 60_000);
    await sweep(consumer.env, config);
    expect((await getJob(t.key, replace.id)).status).toBe("needs_confirmation");

    await idleFor(config.confirmationMs + HOUR);
    await sweep(consumer.env, config);
    const expired = await getJob(t.key, replace.id);
    expect(expired).toMatchObject({ status: "failed", archived: 0, would_archive: 5, finished_at: expect.any(String) });
    expect(expired.failure_reason).toBe(
      "Archiving was not confirmed within 24 hours: the 5 products the file did not mention were not archived. The file's rows were imported (5 processed). Upload the file again to repeat the sync.",
    );
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, []));
    expect((await confirm(consumer, t.key, replace.id)).status).toBe(409);
  });

  it("reports would_archive in a dry run, writes no product and leaves no recorded SKU behind", async () => {
    const consumer = consumerEnv({ IMPORT_CHUNK_ROWS: "2" });
    const all = skus(10);
    const t = await tenantWithCatalog(consumer, all);
    const before = await productRecords(t.tenantId);
    const file = `${catalogFile(all.slice(0, 5))}NEW-1,New,1.00,1\n`;
    const dry = await importHeld(consumer, t.key, file, "?mode=replace&dry_run=true");
    // More than max_archive: a dry run says so (would_archive > archive_limit) and still completes.
    expect(dry).toMatchObject({ status: "completed", dry_run: true, created: 1, unchanged: 5, would_archive: 5, archive_limit: 2, archived: 0 });
    expect(await productRecords(t.tenantId)).toEqual(before);
    expect(await mentionsLeft(dry.id)).toBe(0);
  });

  it("purges what a failed dry run recorded through the sweeper, before the job itself is deleted", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, catalogFile(skus(6)), { mode: "replace", dryRun: true });
    // One slice of the file's rows (their SKUs recorded), then the job fails before its count.
    await deliver(consumerEnv({ IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "4" }).env, { jobId, checkpointByte: 0 });
    await env.DB.prepare("UPDATE import_jobs SET status = 'failed', replace_phase = NULL, finished_at = ? WHERE id = ?").bind(Date.now(), jobId).run();
    const recorded = await mentionsLeft(jobId);
    expect(recorded).toBeGreaterThan(0);
    await sweep(consumerEnv().env, config);
    expect(await mentionsLeft(jobId)).toBe(0);
  });

  it("never touches another tenant's catalog or job", async () => {
    const consumer = consumerEnv();
    const all = skus(5);
    const [t, other] = [await tenantWithCatalog(consumer, all), await tenantWithCatalog(consumer, all)];
    const job = await importHeld(consumer, t.key, catalogFile(["P-01"]), "?mode=replace&max_archive=100%25");
    expect(job).toMatchObject({ status: "completed", would_archive: 4, archived: 4 });
    expect(await statuses(t.tenantId)).toEqual(expectArchived(all, all.slice(1)));
    expect(await statuses(other.tenantId)).toEqual(expectArchived(all, []));

    const waiting = await importHeld(consumer, t.key, catalogFile([]), "?mode=replace&max_archive=0");
    expect(waiting).toMatchObject({ status: "needs_confirmation", would_archive: 1 });
    expect((await confirm(consumer, other.key, waiting.id)).status).toBe(404);
    expect((await getJob(t.key, waiting.id)).status).toBe("needs_confirmation");
  });

  it("refuses a mode it does not know, and a max_archive that is no limit or comes without mode=replace", async () => {
    const t = await createTenant();
    const cases: [string, string, string][] = [
      ["mode=merge", "mode", 'must be "upsert" or "replace"'],
      ["max_archive=5", "max_archive", "applies only with mode=replace"],
      ["mode=upsert&max_archive=5%25", "max_archive", "applies only with mode=replace"],
      ["mode=replace&max_archive=101%25", "max_archive", "must be a number of products"],
      ["mode=replace&max_archive=1.234%25", "max_archive", "must be a number of products"],
      ["mode=replace&max_archive=-1", "max_archive", "must be a number of products"],
      ["mode=replace&max_archive=5000000000", "max_archive", "must be a number of products"],
    ];
    for (const [query, name, message] of cases) {
      const res = await request(`/api/v1/products/import?${query}`, { method: "POST", key: t.key, body: "sku\nA\n", headers: { "content-type": "text/csv" } });
      expect(res.status, query).toBe(400);
      expect((await problemOf(res)).errors, query).toEqual([{ location: "query", name, message: expect.stringContaining(message) }]);
    }
  });

  it("reads only the catalog's windows through the primary key, and seeks the tenant's largest write sequence", async () => {
    const plan = async (sql: string, params: unknown[]) =>
      (await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail).join("\n");
    const stamp = await plan(stampMentionsSql, ["j", 0, "t", 1, "[]"]);
    expect(stamp).toMatch(/SEARCH products USING INDEX sqlite_autoindex_products_1 \(tenant_id=\? AND sku_key=\?\)/);
    const archive = await plan(archiveStatementsForPlans.archive, ["j", "t", "archiving", "", 10, 0, 1]);
    expect(archive).toMatch(/SEARCH products USING INDEX sqlite_autoindex_products_1 \(tenant_id=\? AND sku_key>\? AND sku_key<\?\)/);
    expect(archive).not.toMatch(/SCAN products/);
    const count = await plan(archiveStatementsForPlans.count, ["j", "t", "counting", "", 10, 0, 1]);
    expect(count).toMatch(/SEARCH products USING INDEX sqlite_autoindex_products_1 \(tenant_id=\? AND sku_key>\?\)/);
    expect(count).not.toMatch(/SCAN products/);
    const seq = await plan("SELECT max(w.write_seq) FROM import_jobs AS w WHERE w.tenant_id = ? AND w.write_seq IS NOT NULL", ["t"]);
    expect(seq).toMatch(/SEARCH w USING COVERING INDEX import_jobs_tenant_write_seq/);
  });
});

describe("replace mode across slices, redelivery and crashes", () => {
  // 2-row chunks and 6-row slices: a window walks 10 products, one window a slice.
  const BUDGET = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "6" };
  const all = skus(25);
  // Names P-01…P-04, and P-05 on a rejected row; P-06…P-25 are archived.
  const FILE = `${catalogFile(all.slice(0, 4))}P-05,Name,not-a-price,1\n`;
  const EXPECTED = expectArchived(all, all.slice(5));

  async function queuedReplace(): Promise<{ tenantId: string; jobId: string }> {
    const t = await createTenant();
    await seedProducts(t.tenantId, all.map((sku) => ({ sku })));
    return { tenantId: t.tenantId, jobId: await createQueuedJob(t.tenantId, FILE, { mode: "replace", maxArchive: "100%" }) };
  }

  /** Runs the job as the queue would, redelivering (attempts + 1) every message the consumer asks to retry. */
  async function runWithRetries(consumer: ConsumerEnv, jobId: string): Promise<number> {
    const pending: { body: ImportMessage; attempts: number }[] = [{ body: { jobId, checkpointByte: 0 }, attempts: 1 }];
    let retries = 0;
    for (let deliveries = 0; pending.length > 0; deliveries++) {
      if (deliveries > 100) throw new Error("too many deliveries");
      const message = pending.shift()!;
      const before = consumer.sent.length;
      const { result, messageId } = await deliver(consumer.env, message.body, { attempts: message.attempts });
      if (result.retryMessages.some((m) => m.msgId === messageId)) {
        retries++;
        pending.unshift({ body: message.body, attempts: message.attempts + 1 });
      } else pending.push(...consumer.sent.slice(before).map((body) => ({ body, attempts: 1 })));
    }
    return retries;
  }


  async function outcome(tenantId: string, jobId: string) {
    const job = await jobRecord(jobId);
    const row = await env.DB.prepare("SELECT would_archive, archive_limit, archived, replace_phase FROM import_jobs WHERE id = ?").bind(jobId).first();
    return { status: job.status, processed: job.processed_rows, updated: job.updated, rejected: job.rejected_rows, ...row, products: await statuses(tenantId) };
  }

  it("counts and archives over several slices, each resuming from its phase's checkpoint", async () => {
    const { tenantId, jobId } = await queuedReplace();
    const delivered = await runJob(consumerEnv(BUDGET), jobId);
    // The file (5 rows) and the first count window in one slice; then a slice for each window of 10 products.
    expect(delivered.length).toBeGreaterThanOrEqual(6);
    expect(await outcome(tenantId, jobId)).toEqual({
      status: "completed",
      processed: 5,
      updated: 4,
      rejected: 1,
      would_archive: 20,
      archive_limit: 25,
      archived: 20,
      replace_phase: null,
      products: EXPECTED,
    });
  });

  it("recovers to the same result whichever batch fails, before its commit or after it (the reply lost)", async () => {
    const reference = await queuedReplace();
    const counting = failingBatches(env.DB, []);
    await runJob(consumerEnv(BUDGET, counting.db), reference.jobId);
    const expected = await outcome(reference.tenantId, reference.jobId);
    const batches = counting.batchCalls();
    expect(batches).toBeGreaterThanOrEqual(10);

    for (let n = 1; n <= batches; n++) {
      for (const [kind, db] of [["failed", failingBatches(env.DB, [n]).db], ["reply lost", failingBatches(env.DB, [n], "after").db]] as const) {
        const { tenantId, jobId } = await queuedReplace();
        const retries = await runWithRetries(consumerEnv(BUDGET, db), jobId);
        expect(retries, `${kind} on batch ${n}`).toBe(1);
        expect(await outcome(tenantId, jobId), `${kind} on batch ${n}`).toEqual(expected);
      }
    }
  });
});
