// Feed fetches against the test's own server: run now and the cron trigger, conditional requests, gzip, the guard on
// redirects, timeouts, the size cap, one fetch and one job per due slot, and the pause after failures in a row.
import zlib from "node:zlib";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { createFeed, cronRun, feedOf, feedRequest, fetchesOf, runFeed } from "../feeds-helpers.ts";
import { createTenant } from "../helpers.ts";
import { getJob, product, waitForJob } from "../imports-helpers.ts";
import { outboundId, outboundRequests, outboundUrl, scriptOutbound } from "../outbound-helpers.ts";

afterEach(() => vi.restoreAllMocks());

const CSV = "sku,name,price,stock\nF-1,Feed apple,1.50,3\nF-2,Feed pear,2.25,4\n";
const csv = { "content-type": "text/csv; charset=utf-8" };

/** A feed that the cron leaves alone (its daily slot is hours away): fetched only by POST …/run. */
async function manualFeed(key: string, id: string, extra: Record<string, unknown> = {}, path = "/catalog.csv") {
  return createFeed(key, { url: outboundUrl(id, path), daily_at: new Date(Date.now() + 6 * 3_600_000).toISOString().slice(11, 16), ...extra });
}

async function jobCount(tenantId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM import_jobs WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>();
  return row!.n;
}

describe("run now", () => {
  it("makes a job with the feed's id and options that imports the file, sending the credentials", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: { ...csv, etag: '"v1"' }, body: CSV }]);
    const feed = await manualFeed(t.key, id, { credentials: { type: "basic", username: "erp", password: "pa55word" }, currency: "EUR" });
    const logged = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
    const fetch = await runFeed(t.key, feed.id);
    const lines = logged.flatMap((spy) => spy.mock.calls.map((call) => call.map(String).join(" ")));
    expect(lines.some((line) => line.includes('"msg":"feed fetch"'))).toBe(true);
    for (const line of lines) expect(line).not.toMatch(/pa55word|ZXJwOnBhNTV3b3Jk/);
    expect(fetch).toMatchObject({ feed_id: feed.id, trigger: "manual", outcome: "job_created", http_status: 200, bytes: CSV.length, reason: null });
    const [received] = await outboundRequests(id);
    expect(received!.headers.authorization).toBe(`Basic ${btoa("erp:pa55word")}`);

    const job = await waitForJob(t.key, fetch.job_id!);
    expect(job).toMatchObject({ status: "completed", feed_id: feed.id, created: 2, file_name: "catalog.csv", options: { currency: "EUR" } });
    expect(await product(t.key, "F-1")).toMatchObject({ name: "Feed apple", currency: "EUR" });
    const history = await fetchesOf(t.key, feed.id);
    expect(history.map((f) => f.id)).toEqual([fetch.id]);
    expect(JSON.stringify(history)).not.toContain("pa55word");
  });

  it("sends header credentials", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const feed = await manualFeed(t.key, id, { credentials: { type: "header", name: "X-Feed-Token", value: "tok-123" } });
    const fetch = await runFeed(t.key, feed.id);
    expect(fetch.outcome).toBe("job_created");
    expect((await outboundRequests(id))[0]!.headers["x-feed-token"]).toBe("tok-123");
    await waitForJob(t.key, fetch.job_id!);
  });

  it("asks conditionally with the last file's ETag and Last-Modified; a 304 is recorded unchanged and makes no job", async () => {
    const t = await createTenant();
    const id = outboundId();
    const modified = "Wed, 02 Dec 2026 10:00:00 GMT";
    await scriptOutbound(id, [{ status: 200, headers: { ...csv, etag: '"v1"', "last-modified": modified }, body: CSV }, { status: 304, headers: { etag: '"v1"' } }]);
    const feed = await manualFeed(t.key, id);
    const first = await runFeed(t.key, feed.id);
    expect(first.outcome).toBe("job_created");
    const second = await runFeed(t.key, feed.id);
    expect(second).toMatchObject({ outcome: "unchanged", http_status: 304, job_id: null, bytes: null });
    const [plain, conditional] = await outboundRequests(id);
    expect(plain!.headers["if-none-match"]).toBeUndefined();
    expect(conditional!.headers).toMatchObject({ "if-none-match": '"v1"', "if-modified-since": modified });
    expect(await jobCount(t.tenantId)).toBe(1);
    expect((await fetchesOf(t.key, feed.id)).map((f) => f.outcome)).toEqual(["unchanged", "job_created"]);

    // Another URL's file has validators of its own: the first fetch of the new URL is not conditional.
    const moved = outboundId();
    await scriptOutbound(moved, [{ status: 200, headers: csv, body: CSV }]);
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { url: outboundUrl(moved, "/catalog.csv") } });
    expect((await runFeed(t.key, feed.id)).outcome).toBe("job_created");
    expect((await outboundRequests(moved))[0]!.headers["if-none-match"]).toBeUndefined();
  });

  it("fetches unconditionally after a change to how the file is imported, and keeps the validators through a rename", async () => {
    const t = await createTenant();
    const id = outboundId();
    const v1 = { ...csv, etag: '"v1"' };
    await scriptOutbound(id, [{ status: 200, headers: v1, body: CSV }, { status: 304, headers: v1 }, { status: 200, headers: v1, body: CSV }]);
    const feed = await manualFeed(t.key, id);
    expect((await runFeed(t.key, feed.id)).outcome).toBe("job_created");
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { name: "nightly" } });
    expect((await runFeed(t.key, feed.id)).outcome).toBe("unchanged");
    // The options change: the same file is imported again, the new way.
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { on_invalid: "skip_field" } });
    const again = await runFeed(t.key, feed.id);
    expect(again.outcome).toBe("job_created");
    expect((await getJob(t.key, again.job_id!)).options).toMatchObject({ on_invalid: "skip_field" });
    expect((await outboundRequests(id)).map((r) => r.headers["if-none-match"])).toEqual([undefined, '"v1"', undefined]);
  });

  it("runs one fetch of a feed at a time: a run while one is under way is a 409 naming it", async () => {
    const t = await createTenant();
    const feed = await manualFeed(t.key, outboundId());
    await env.DB.prepare("INSERT INTO feed_fetches (id, feed_id, tenant_id, trigger, outcome, started_at) VALUES (?, ?, ?, 'schedule', 'running', ?)")
      .bind(`fch_under_way_${feed.id}`, feed.id, t.tenantId, Date.now())
      .run();
    const res = await feedRequest(`/api/v1/feeds/${feed.id}/run`, { method: "POST", key: t.key });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toContain(`fch_under_way_${feed.id}`);
    expect(await fetchesOf(t.key, feed.id)).toHaveLength(1);
  });

  it("reads a file name with broken percent-encoding as it is, and refuses a redirect whose Location is not a URL", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const feed = await manualFeed(t.key, id, {}, "/export%ZZ.csv");
    const fetched = await runFeed(t.key, feed.id);
    expect(fetched.outcome).toBe("job_created");
    expect((await getJob(t.key, fetched.job_id!)).file_name).toBe("export%ZZ.csv");

    const bad = outboundId();
    await scriptOutbound(bad, [{ status: 302, headers: { location: "http://[::1" } }]);
    const redirected = await manualFeed(t.key, bad);
    expect(await runFeed(t.key, redirected.id)).toMatchObject({ outcome: "failed", reason: expect.stringContaining("Location is not a URL") });
  });

  it("imports a gzip body as sent (Content-Encoding: gzip) and a .gz file", async () => {
    const t = await createTenant();
    const gzipped = zlib.gzipSync(Buffer.from(CSV)).toString("base64");
    const encoded = outboundId();
    await scriptOutbound(encoded, [{ status: 200, headers: { ...csv, "content-encoding": "gzip" }, bodyBase64: gzipped }]);
    const feed = await manualFeed(t.key, encoded);
    const fetch = await runFeed(t.key, feed.id);
    expect(fetch).toMatchObject({ outcome: "job_created", bytes: Buffer.from(gzipped, "base64").length });
    expect((await outboundRequests(encoded))[0]!.headers["accept-encoding"]).toContain("gzip");
    const job = await waitForJob(t.key, fetch.job_id!);
    expect(job).toMatchObject({ status: "completed", content_encoding: "gzip", created: 2, inflated_bytes: CSV.length });

    const u = await createTenant();
    const file = outboundId();
    await scriptOutbound(file, [{ status: 200, headers: { "content-type": "application/gzip" }, bodyBase64: gzipped }]);
    const gzFeed = await manualFeed(u.key, file, {}, "/export/catalog.csv.gz");
    const gzFetch = await runFeed(u.key, gzFeed.id);
    const gzJob = await waitForJob(u.key, gzFetch.job_id!);
    expect(gzJob).toMatchObject({ status: "completed", content_encoding: "gzip", format: "csv", created: 2 });
  });

  it("streams a body without Content-Length into storage", async () => {
    const t = await createTenant();
    const id = outboundId();
    // A stalled body is sent chunked (no Content-Length).
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV, stallBodyMs: 50 }]);
    const feed = await manualFeed(t.key, id);
    const fetch = await runFeed(t.key, feed.id);
    expect(fetch).toMatchObject({ outcome: "job_created", bytes: CSV.length });
    expect(await waitForJob(t.key, fetch.job_id!)).toMatchObject({ status: "completed", created: 2, size_bytes: CSV.length });
  });
});

describe("failed fetches", () => {
  it("refuses a redirect to a refused address without sending anything there", async () => {
    const t = await createTenant();
    const id = outboundId();
    const port = inject("outboundPort");
    await scriptOutbound(id, [{ redirectTo: `http://127.0.0.2:${port}/s/${id}/inside.csv` }]);
    const feed = await manualFeed(t.key, id);
    const fetch = await runFeed(t.key, feed.id);
    expect(fetch).toMatchObject({ outcome: "failed", job_id: null, http_status: null });
    expect(fetch.reason).toMatch(/URL refused: a redirect went to a refused URL: the address 127\.0\.0\.2 is a loopback/);
    expect((await outboundRequests(id)).map((r) => r.path)).toEqual([`/s/${id}/catalog.csv`]);
    expect(await jobCount(t.tenantId)).toBe(0);
  });

  it("fails a server that does not answer within FEED_FETCH_TIMEOUT_SECONDS", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ delayMs: 2_500, headers: csv, body: CSV }]);
    const feed = await manualFeed(t.key, id);
    const fetch = await runFeed(t.key, feed.id, { FEED_FETCH_TIMEOUT_SECONDS: "1" });
    expect(fetch).toMatchObject({ outcome: "failed", job_id: null });
    expect(fetch.reason).toMatch(/^Timed out/);
  });

  it("fails a file larger than MAX_UPLOAD_BYTES, by its Content-Length or as it streams", async () => {
    const t = await createTenant();
    const big = `sku,name,price\n${"X-1,Big,1.00\n".repeat(100)}`;
    const declared = outboundId();
    await scriptOutbound(declared, [{ status: 200, headers: csv, body: big }]);
    const feed = await manualFeed(t.key, declared);
    const fetch = await runFeed(t.key, feed.id, { MAX_UPLOAD_BYTES: "500" });
    expect(fetch).toMatchObject({ outcome: "failed", http_status: 200, job_id: null });
    expect(fetch.reason).toContain("larger than MAX_UPLOAD_BYTES (500 bytes)");

    const streamed = outboundId();
    await scriptOutbound(streamed, [{ status: 200, headers: csv, body: big, stallBodyMs: 20 }]);
    const chunked = await manualFeed(t.key, streamed);
    const chunkedFetch = await runFeed(t.key, chunked.id, { MAX_UPLOAD_BYTES: "500" });
    expect(chunkedFetch).toMatchObject({ outcome: "failed", job_id: null });
    expect(chunkedFetch.reason).toContain("larger than MAX_UPLOAD_BYTES (500 bytes)");
    expect(await jobCount(t.tenantId)).toBe(0);
    const listed = await env.UPLOADS.list({ prefix: `${t.tenantId}/` });
    expect(listed.objects).toEqual([]);
  });

  it("fails a file whose format it cannot tell, and one whose profile is gone, without a job", async () => {
    const t = await createTenant();
    const untyped = outboundId();
    await scriptOutbound(untyped, [{ status: 200, headers: { "content-type": "application/octet-stream" }, body: CSV }]);
    const feed = await manualFeed(t.key, untyped, {}, "/export");
    const fetch = await runFeed(t.key, feed.id);
    expect(fetch).toMatchObject({ outcome: "failed", http_status: 200, job_id: null });
    expect(fetch.reason).toContain("give the feed a `format`");
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { format: "csv", profile: "gone" } });
    const unknown = await runFeed(t.key, feed.id);
    expect(unknown.reason).toContain('profile "gone" names no saved profile');
    expect(await jobCount(t.tenantId)).toBe(0);
  });

  it("records an HTTP error status, and pauses the feed after FEED_PAUSE_AFTER_FAILURES failures in a row", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 503, body: "down" }]);
    const feed = await createFeed(t.key, { url: outboundUrl(id, "/catalog.csv"), every_minutes: 60 });
    await feedRequest(`/api/v1/feeds/${feed.id}/pause`, { method: "POST", key: t.key });
    await feedRequest(`/api/v1/feeds/${feed.id}/resume`, { method: "POST", key: t.key });
    for (let i = 1; i <= 3; i++) {
      const fetch = await runFeed(t.key, feed.id, { FEED_PAUSE_AFTER_FAILURES: "3" });
      expect(fetch).toMatchObject({ outcome: "failed", http_status: 503, reason: "The server answered HTTP 503 Service Unavailable." });
      expect((await feedOf(t.key, feed.id)).consecutive_failures).toBe(i);
    }
    const paused = await feedOf(t.key, feed.id);
    expect(paused).toMatchObject({ status: "paused", next_run_at: null });
    expect(paused.paused_reason).toBe("Paused after 3 failed fetches in a row; the last: The server answered HTTP 503 Service Unavailable.");

    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const resumed = await feedRequest(`/api/v1/feeds/${feed.id}/resume`, { method: "POST", key: t.key });
    expect(await resumed.json()).toMatchObject({ status: "active", paused_reason: null, consecutive_failures: 0 });
    // Not left for the cron tests below to fetch.
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "DELETE", key: t.key });
  });
});

describe("the cron trigger", () => {
  it("fetches a due feed once per slot however often it runs: one fetch, one job", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const feed = await createFeed(t.key, { url: outboundUrl(id, "/catalog.csv"), every_minutes: 30 });
    await Promise.all([cronRun(), cronRun()]);
    await cronRun();
    const history = await fetchesOf(t.key, feed.id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ trigger: "schedule", outcome: "job_created" });
    expect(await outboundRequests(id)).toHaveLength(1);
    expect(await jobCount(t.tenantId)).toBe(1);
    expect((await getJob(t.key, history[0]!.job_id!)).feed_id).toBe(feed.id);
    const after = await feedOf(t.key, feed.id);
    expect(Date.parse(after.next_run_at!) - Date.parse(feed.next_run_at!)).toBe(30 * 60_000);
    await waitForJob(t.key, history[0]!.job_id!);
    await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "DELETE", key: t.key });
  });

  it("settles a fetch the Worker's end cut off, once its timeout and a margin have passed, by what it left; a running one is left alone", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const feed = await createFeed(t.key, { url: outboundUrl(id, "/catalog.csv"), every_minutes: 60 });
    await feedRequest(`/api/v1/feeds/${feed.id}/pause`, { method: "POST", key: t.key });
    const made = await runFeed(t.key, feed.id);
    // What a Worker that stopped mid-fetch leaves: a fetch recorded as started, never finished; one cut off before it
    // named a job, one after its file was stored (the file, no job), one after its job was made.
    const insert = env.DB.prepare("INSERT INTO feed_fetches (id, feed_id, tenant_id, trigger, outcome, job_id, started_at) VALUES (?, ?, ?, 'schedule', 'running', ?, ?)");
    const now = Date.now();
    const long = now - 2 * 3600_000;
    await env.UPLOADS.put(`${t.tenantId}/imp_never_made`, CSV);
    await env.DB.batch([
      insert.bind("fch_cut_early", feed.id, t.tenantId, null, long),
      insert.bind("fch_cut_stored", feed.id, t.tenantId, "imp_never_made", long),
      insert.bind("fch_cut_made", feed.id, t.tenantId, made.job_id, long),
      insert.bind("fch_running", feed.id, t.tenantId, null, now - 60_000),
    ]);
    await cronRun();
    const byId = Object.fromEntries((await fetchesOf(t.key, feed.id)).map((f) => [f.id, f]));
    for (const cut of ["fch_cut_early", "fch_cut_stored"]) {
      expect(byId[cut]).toMatchObject({ outcome: "failed", job_id: null, reason: expect.stringContaining("cut off") });
      expect(byId[cut]!.finished_at).not.toBeNull();
    }
    expect(await env.UPLOADS.head(`${t.tenantId}/imp_never_made`)).toBeNull();
    expect(byId.fch_cut_made).toMatchObject({ outcome: "job_created", job_id: made.job_id, reason: null });
    expect(byId.fch_running).toMatchObject({ outcome: "running", finished_at: null });
    await waitForJob(t.key, made.job_id!);
  });

  it("counts a cut-off fetch as a failed one: enough of them in a row pause the feed, saying why", async () => {
    const t = await createTenant();
    const feed = await manualFeed(t.key, outboundId());
    const insert = env.DB.prepare("INSERT INTO feed_fetches (id, feed_id, tenant_id, trigger, outcome, started_at) VALUES (?, ?, ?, 'schedule', 'running', ?)");
    const long = Date.now() - 2 * 3600_000;
    await env.DB.batch([insert.bind(`fch_a_${feed.id}`, feed.id, t.tenantId, long - 1000), insert.bind(`fch_b_${feed.id}`, feed.id, t.tenantId, long)]);
    await cronRun({ FEED_PAUSE_AFTER_FAILURES: "2" });
    expect(await feedOf(t.key, feed.id)).toMatchObject({ status: "paused", paused_reason: expect.stringMatching(/^Paused after 2 failed fetches in a row; the last: The fetch was cut off/) });
  });

  it("fetches more due feeds than one round takes in one run, each once", async () => {
    const t = await createTenant();
    const feeds = [];
    for (let i = 0; i < 12; i++) {
      const id = outboundId();
      await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
      feeds.push({ id, feed: await createFeed(t.key, { url: outboundUrl(id, "/catalog.csv"), every_minutes: 60 }) });
    }
    await cronRun();
    for (const { id, feed } of feeds) {
      expect(await fetchesOf(t.key, feed.id)).toMatchObject([{ trigger: "schedule", outcome: "job_created" }]);
      expect(await outboundRequests(id)).toHaveLength(1);
      await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "DELETE", key: t.key });
    }
    expect(await jobCount(t.tenantId)).toBe(12);
  });

  it("leaves a paused feed alone", async () => {
    const t = await createTenant();
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: csv, body: CSV }]);
    const feed = await createFeed(t.key, { url: outboundUrl(id, "/catalog.csv"), every_minutes: 5 });
    await feedRequest(`/api/v1/feeds/${feed.id}/pause`, { method: "POST", key: t.key });
    await cronRun();
    expect(await outboundRequests(id)).toEqual([]);
    expect(await fetchesOf(t.key, feed.id)).toEqual([]);
  });
});
