import { describe, expect, it } from "vitest";
import { createTenant, problemOf, request } from "../helpers.ts";

describe("HTTP plumbing", () => {
  it("echoes a well-formed x-request-id and replaces a malformed one", async () => {
    const echoed = await request("/health", { headers: { "x-request-id": "client-req.42:a" } });
    expect(echoed.headers.get("x-request-id")).toBe("client-req.42:a");
    const replaced = await request("/health", { headers: { "x-request-id": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("puts the request id on problems too", async () => {
    const res = await request("/api/v1/products", { headers: { "x-request-id": "trace-1" } });
    expect(res.headers.get("x-request-id")).toBe("trace-1");
    expect((await problemOf(res)).instance).toBe("trace-1");
  });

  it("rejects a malformed x-d1-bookmark with a 400 naming the header, and hands a bookmark back", async () => {
    const t = await createTenant();
    const bad = await request("/api/v1/products", { key: t.key, headers: { "x-d1-bookmark": "not a bookmark!", "x-request-id": "bm-1" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-request-id")).toBe("bm-1");
    expect((await problemOf(bad)).errors).toEqual([{ location: "header", name: "x-d1-bookmark", message: "is not a bookmark this API returned" }]);
    const ok = await request("/api/v1/products", { key: t.key });
    const bookmark = ok.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f-]+$/);
    const again = await request("/api/v1/products", { key: t.key, headers: { "x-d1-bookmark": bookmark ?? "" } });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-d1-bookmark")).toMatch(/^[0-9a-f-]+$/);
    // A response that read nothing still hands the client's bookmark back.
    const docs = await request("/docs", { headers: { "x-d1-bookmark": bookmark ?? "" } });
    expect(docs.headers.get("x-d1-bookmark")).toBe(bookmark);
  });

  it("puts x-request-id on every response, and x-d1-bookmark on those that used the database or were sent one", async () => {
    const t = await createTenant();
    const noDatabase = [
      await request("/api/v1/nothing-here"),
      await request("/api/v1/products/abc", { method: "DELETE" }),
      await request("/api/v1/products"),
      await request("/api/v1/products", { headers: { "x-d1-bookmark": "not a bookmark!" } }),
      await request("/api/v1/openapi.json", { headers: { "x-d1-bookmark": "not a bookmark!" } }),
      await request("/docs"),
    ];
    // Without a key, a bad bookmark is told 401 first; on a public route it is a 400.
    expect(noDatabase.map((r) => r.status)).toEqual([404, 405, 401, 401, 400, 200]);
    for (const res of noDatabase) {
      expect(res.headers.get("x-request-id"), String(res.status)).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("x-d1-bookmark"), String(res.status)).toBeNull();
    }
    const read = await request("/api/v1/products?limit=1", { key: t.key });
    const bookmark = read.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f-]+$/);
    const unknownKey = await request("/api/v1/products", { key: `pik_${"0".repeat(32)}` });
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.headers.get("x-d1-bookmark")).toMatch(/^[0-9a-f-]+$/);
    for (const res of [await request("/api/v1/nothing-here", { headers: { "x-d1-bookmark": bookmark ?? "" } }), await request("/api/v1/products", { headers: { "x-d1-bookmark": bookmark ?? "" } })]) {
      expect(res.headers.get("x-d1-bookmark"), String(res.status)).toBe(bookmark);
    }
  });

  it("answers HEAD wherever it answers GET, without a body", async () => {
    const t = await createTenant();
    const head = await request("/api/v1/products?limit=1", { method: "HEAD", key: t.key });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toContain("application/json");
    expect(head.headers.get("x-d1-bookmark")).toBeTruthy();
    expect(await head.text()).toBe("");
    expect((await request("/health", { method: "HEAD" })).status).toBe(200);
    expect((await request("/api/v1/products", { method: "HEAD" })).status).toBe(401);
  });

  it("answers unknown routes with a 404 problem", async () => {
    const res = await request("/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/not-found", title: "Not found", status: 404 });
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const t = await createTenant();
    const res = await request("/api/v1/products/abc", { method: "DELETE", key: t.key });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await problemOf(res)).toMatchObject({ type: "/problems/method-not-allowed", status: 405 });
  });

  it("serves the OpenAPI document and a docs page", async () => {
    const doc = await request("/api/v1/openapi.json");
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths)).toContain("/api/v1/products/{sku}");
    const page = await request("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script src="/docs/init.js">');
  });
});
