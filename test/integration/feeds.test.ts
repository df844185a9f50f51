// /api/v1/feeds: registering, reading, changing and deleting feeds; validation, the URL guard, scopes, and credentials
// that are stored but never shown.
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { MAX_FEEDS } from "../../src/feeds/feed.ts";
import { createFeed, feedOf, feedRequest } from "../feeds-helpers.ts";
import { createTenant, problemOf } from "../helpers.ts";
import { outboundId, outboundUrl } from "../outbound-helpers.ts";

afterEach(() => vi.restoreAllMocks());

const daily = (id = outboundId()) => ({ url: outboundUrl(id, "/catalog.csv"), daily_at: "03:30" });

describe("feeds CRUD", () => {
  it("creates, lists, reads, changes and deletes a feed", async () => {
    const t = await createTenant();
    const res = await feedRequest("/api/v1/feeds", {
      method: "POST",
      key: t.key,
      json: { ...daily(), name: "ERP", on_invalid: "skip_field", currency: "eur", mapping: '{"Artikel":"sku"}' },
    });
    expect(res.status).toBe(201);
    const feed = (await res.json()) as Awaited<ReturnType<typeof createFeed>>;
    expect(res.headers.get("location")).toBe(`/api/v1/feeds/${feed.id}`);
    expect(feed).toMatchObject({
      name: "ERP",
      every_minutes: null,
      daily_at: "03:30",
      status: "active",
      paused_reason: null,
      credentials: null,
      format: null,
      mapping: { Artikel: "sku" },
      options: { on_invalid: "skip_field", currency: "EUR", blank_cells: "clear", mode: "upsert" },
    });
    const nextRun = Date.parse(feed.next_run_at!);
    expect(new Date(nextRun).toISOString().slice(11, 16)).toBe("03:30");
    expect(nextRun).toBeGreaterThan(Date.now());

    const list = await feedRequest("/api/v1/feeds", { key: t.key });
    expect(((await list.json()) as { data: { id: string }[] }).data.map((f) => f.id)).toEqual([feed.id]);

    const patched = await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { every_minutes: 15, on_invalid: null, blank_cells: "keep", name: null } });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      name: null,
      every_minutes: 15,
      daily_at: null,
      mapping: { Artikel: "sku" },
      options: { on_invalid: "reject_row", blank_cells: "keep", currency: "EUR" },
    });

    expect((await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "DELETE", key: t.key })).status).toBe(204);
    expect((await feedRequest(`/api/v1/feeds/${feed.id}`, { key: t.key })).status).toBe(404);
  });

  it("pauses and resumes a feed", async () => {
    const t = await createTenant();
    const feed = await createFeed(t.key, { url: outboundUrl(outboundId()), every_minutes: 60 });
    const paused = await feedRequest(`/api/v1/feeds/${feed.id}/pause`, { method: "POST", key: t.key });
    expect(await paused.json()).toMatchObject({ status: "paused", next_run_at: null, paused_reason: expect.stringContaining("pause") });
    const resumed = await feedRequest(`/api/v1/feeds/${feed.id}/resume`, { method: "POST", key: t.key });
    expect(await resumed.json()).toMatchObject({ status: "active", paused_reason: null, consecutive_failures: 0 });
  });

  it("keeps another tenant's feeds out of reach", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    const feed = await createFeed(a.key, daily());
    for (const [method, path] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", "/run"],
      ["POST", "/pause"],
      ["GET", "/fetches"],
    ] as const) {
      const res = await feedRequest(`/api/v1/feeds/${feed.id}${path}`, { method, key: b.key, ...(method === "PATCH" ? { json: { name: "x" } } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const list = await feedRequest("/api/v1/feeds", { key: b.key });
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("needs the imports:write scope", async () => {
    const t = await createTenant(["imports:read", "products:read"]);
    const res = await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: daily() });
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toMatchObject({ required_scope: "imports:write" });
    expect((await feedRequest("/api/v1/feeds", { key: t.key })).status).toBe(403);
  });

  it(`keeps at most ${MAX_FEEDS} feeds per tenant`, async () => {
    const t = await createTenant();
    for (let i = 0; i < MAX_FEEDS; i++) await createFeed(t.key, daily());
    const res = await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: daily() });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/limit-reached" });
  });
});

describe("feed validation", () => {
  it("refuses a body that is wrong, naming each field", async () => {
    const t = await createTenant();
    const url = outboundUrl(outboundId());
    const cases: [Record<string, unknown>, string][] = [
      [{ url }, "every_minutes"],
      [{ url, every_minutes: 5, daily_at: "01:00" }, "every_minutes"],
      [{ url, every_minutes: 1 }, "every_minutes"],
      [{ url, every_minutes: 99_999 }, "every_minutes"],
      [{ url, daily_at: "24:00" }, "daily_at"],
      [{ url, daily_at: "01:00", on_invalid: "ignore" }, "on_invalid"],
      [{ url, daily_at: "01:00", max_archive: "5" }, "max_archive"],
      [{ url, daily_at: "01:00", dry_run: "true" }, "(body)"],
      [{ url, daily_at: "01:00", format: "xml" }, "format"],
      [{ url, daily_at: "01:00", credentials: { type: "header", name: "Host", value: "x" } }, "credentials.name"],
      [{ url, daily_at: "01:00", credentials: { type: "header", name: "X-Key", value: "a\r\nb" } }, "credentials.value"],
      [{ url, daily_at: "01:00", credentials: { type: "basic", username: "a:b", password: "c" } }, "credentials.username"],
    ];
    for (const [body, name] of cases) {
      const res = await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = await problemOf(res);
      expect(problem.errors?.map((e) => e.name), JSON.stringify(body)).toContain(name);
    }
  });

  it("refuses a URL the outbound guard refuses, on create and on change", async () => {
    const t = await createTenant();
    const port = inject("outboundPort");
    for (const url of [`http://127.0.0.2:${port}/feed.csv`, "https://10.0.0.8/feed.csv", "ftp://example.com/feed.csv", "https://user:pw@example.com/feed.csv", "https://metadata.google.internal/"]) {
      const res = await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: { url, daily_at: "01:00" } });
      expect(res.status, url).toBe(422);
      expect(await problemOf(res), url).toMatchObject({ type: "/problems/url-refused", errors: [{ location: "body", name: "url" }] });
    }
    const feed = await createFeed(t.key, daily());
    const res = await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { url: `http://[::ffff:127.0.0.1]:${port}/` } });
    expect(res.status).toBe(422);
  });
});

describe("feed credentials", () => {
  it("stores credentials sealed and never returns them", async () => {
    const t = await createTenant();
    const secret = "s3cret-pass-word";
    const res = await feedRequest("/api/v1/feeds", {
      method: "POST",
      key: t.key,
      json: { ...daily(), credentials: { type: "basic", username: "erp-user", password: secret } },
    });
    const text = await res.text();
    expect(res.status).toBe(201);
    expect(text).not.toContain(secret);
    expect(text).not.toContain("erp-user");
    const feed = JSON.parse(text) as Awaited<ReturnType<typeof createFeed>>;
    expect(feed.credentials).toEqual({ type: "basic" });

    const patched = await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { credentials: { type: "header", name: "X-Api-Key", value: "key-value-123" } } });
    const patchedText = await patched.text();
    expect(patchedText).not.toContain("key-value-123");
    expect(JSON.parse(patchedText).credentials).toEqual({ type: "header", name: "X-Api-Key" });
    const listed = await (await feedRequest("/api/v1/feeds", { key: t.key })).text();
    expect(listed).not.toContain("key-value-123");

    const removed = await feedRequest(`/api/v1/feeds/${feed.id}`, { method: "PATCH", key: t.key, json: { credentials: null } });
    expect(((await removed.json()) as { credentials: unknown }).credentials).toBeNull();
    expect((await feedOf(t.key, feed.id)).credentials).toBeNull();
  });

  it("answers 503 when credentials are given and the deployment has no ENCRYPTION_KEY", async () => {
    const t = await createTenant();
    const res = await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: { ...daily(), credentials: { type: "basic", username: "u", password: "p" } } }, { ENCRYPTION_KEY: undefined });
    expect(res.status).toBe(503);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/unavailable", detail: expect.stringContaining("ENCRYPTION_KEY") });
    // Without credentials, a feed needs no key.
    expect((await feedRequest("/api/v1/feeds", { method: "POST", key: t.key, json: daily() }, { ENCRYPTION_KEY: undefined })).status).toBe(201);
  });
});
