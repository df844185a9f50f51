// POST …/retry through the API and the queue: a new job from a finished job's failed rows, with its options or new
// ones, always in upsert mode, linked both ways; Idempotency-Key as for uploads; the problems of a job that cannot be
// retried.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import worker from "../../src/index.ts";
import { consumerEnv, createQueuedJob, jobRecord } from "../consumer-helpers.ts";
import { createTenant, problemOf, request } from "../helpers.ts";
import { getJob, importFile, type Job, product, waitForJob } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";

function retry(key: string, jobId: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(`${IMPORT}/${jobId}/retry`, {
    method: "POST",
    key,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
  });
}

async function retried(res: Response, key: string): Promise<Job> {
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as Job;
  expect(res.headers.get("location")).toBe(`${IMPORT}/${job.id}`);
  return waitForJob(key, job.id);
}

describe("POST …/retry", () => {
  it("imports the failed rows again with new options, in a new job linked both ways", async () => {
    const t = await createTenant();
    const original = await importFile(t.key, "sku,name,price\nY-1,Yen,5.5\nY-2,Yen two,7\nY-3,Yen three,1.25\n", { query: "currency=JPY" });
    expect(original).toMatchObject({ status: "completed", created: 1, rejected_rows: 2, failed_rows: 2 });

    const job = await retried(await retry(t.key, original.id, { currency: "USD" }), t.key);
    expect(job).toMatchObject({
      status: "completed",
      retry_of: original.id,
      file_name: `${original.id}-failed-rows.csv`,
      options: { currency: "USD", mode: "upsert", delimiter: null, blank_cells: "clear", on_invalid: "reject_row" },
      processed_rows: 2,
      created: 2,
      rejected_rows: 0,
      error_count: 0,
      failed_rows: 0,
      ignored_columns: [],
    });
    expect(await product(t.key, "Y-1")).toMatchObject({ price: "5.50", currency: "USD" });
    expect(await getJob(t.key, original.id)).toMatchObject({ retry_of: null, retries: { count: 1, latest: job.id } });

    // A second retry of the same job is the latest; with an empty body the original's options hold (the products are in
    // USD now, which their prices are read in).
    const again = await retried(await retry(t.key, original.id), t.key);
    expect(again).toMatchObject({ retry_of: original.id, options: { currency: "JPY" }, unchanged: 2, rejected_rows: 0 });
    expect(await getJob(t.key, original.id)).toMatchObject({ retries: { count: 2, latest: again.id } });
  });

  it("takes up rows whose cause was fixed since: a stock feed's SKUs that were not in the catalog yet", async () => {
    const t = await createTenant();
    const feed = await importFile(t.key, "sku;stock\nS-1;5\nS-2;7\n");
    expect(feed).toMatchObject({ rejected_rows: 2, failed_rows: 2 });
    await importFile(t.key, "sku,name,price\nS-1,One,1.00\nS-2,Two,2.00\n");
    const job = await retried(await retry(t.key, feed.id), t.key);
    expect(job).toMatchObject({ status: "completed", updated: 2, rejected_rows: 0, options: { delimiter: null } });
    expect(await product(t.key, "S-2")).toMatchObject({ stock: 7 });
  });

  it("runs a replace-mode job's failed rows in upsert mode: they are a part of the catalog", async () => {
    const t = await createTenant();
    await importFile(t.key, "sku,name,price\nKEEP-1,Keep,1.00\n");
    const original = await importFile(t.key, "sku,name,price\nR-1,Rep,1.00\nR-2,Bad,x\n", { query: "mode=replace&max_archive=100%25" });
    expect(original).toMatchObject({ status: "completed", options: { mode: "replace" }, archived: 1, failed_rows: 1 });
    const job = await retried(await retry(t.key, original.id, { dry_run: true }), t.key);
    expect(job).toMatchObject({ status: "completed", dry_run: true, options: { mode: "upsert", max_archive: null }, archived: 0, rejected_rows: 1 });
  });

  it("honours an Idempotency-Key: a repeat replays the first job, another request with the key is a 422", async () => {
    const t = await createTenant();
    const original = await importFile(t.key, "sku,name,price\nI-1,Idem,x\n");
    const first = await retry(t.key, original.id, { on_invalid: "skip_field" }, { "idempotency-key": "retry-1" });
    expect(first.status).toBe(202);
    const job = (await first.json()) as Job;
    const repeat = await retry(t.key, original.id, { on_invalid: "skip_field" }, { "idempotency-key": "retry-1" });
    expect(repeat.status).toBe(202);
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(((await repeat.json()) as Job).id).toBe(job.id);
    const other = await retry(t.key, original.id, { on_invalid: "reject_row" }, { "idempotency-key": "retry-1" });
    expect(other.status).toBe(422);
    await waitForJob(t.key, job.id);
    expect(await getJob(t.key, original.id)).toMatchObject({ retries: { count: 1, latest: job.id } });
  });

  it("answers problems: 404, 409 unfinished or nothing to retry, 400 for a bad option, 410 once the file is deleted", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const clean = await importFile(t.key, "sku,name,price\nC-1,Clean,1.00\n");
    const failing = await importFile(t.key, "sku,name,price\nC-2,Bad,x\n");

    expect((await retry(other.key, failing.id)).status).toBe(404);
    expect((await retry(t.key, "nope")).status).toBe(404);
    const nothing = await retry(t.key, clean.id);
    expect(nothing.status).toBe(409);
    expect(await problemOf(nothing)).toMatchObject({ type: "/problems/conflict", detail: expect.stringContaining("no failed rows") });
    const queued = await createQueuedJob(t.tenantId, "sku,name,price\nC-3,Bad,x\n");
    expect(await problemOf(await retry(t.key, queued))).toMatchObject({ status: 409, detail: expect.stringContaining("queued") });
    const bad = await retry(t.key, failing.id, { currency: "XXX1", mode: "replace" });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors?.map((e) => e.name).sort()).toEqual(["(body)", "currency"]);

    const consumer = consumerEnv();
    const config = readConfig(consumer.env);
    await sweep(consumer.env, config, (await jobRecord(failing.id)).finished_at! + config.uploadRetentionMs + 1);
    expect(await problemOf(await retry(t.key, failing.id))).toMatchObject({ type: "/problems/gone", status: 410 });
  });

  it("is a 413 when the failed rows are more than MAX_UPLOAD_BYTES, and stores nothing", async () => {
    const t = await createTenant();
    const original = await importFile(t.key, `sku,name,price\n${Array.from({ length: 50 }, (_, i) => `L-${i},Long name ${i},x\n`).join("")}`);
    const res = await worker.fetch(
      new Request(`https://api.test${IMPORT}/${original.id}/retry`, { method: "POST", headers: { authorization: `Bearer ${t.key}` } }),
      { ...env, MAX_UPLOAD_BYTES: "1000" },
      createExecutionContext(),
    );
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/payload-too-large", max_bytes: 1000 });
    expect(await getJob(t.key, original.id)).toMatchObject({ retries: { count: 0, latest: null } });
    const listed = await env.UPLOADS.list({ prefix: `${t.tenantId}/` });
    expect(listed.objects.map((o) => o.key)).toEqual([`${t.tenantId}/${original.id}`]);
  });
});
