import { describe, expect, it } from "vitest";
import { createTenant, problemOf, request, seedProducts } from "../helpers.ts";

interface Page {
  data: { sku: string; price: string; currency: string; status: string; tags: string[]; created_at: string }[];
  next_cursor: string | null;
}

async function page(key: string, query: string): Promise<Page> {
  const res = await request(`/api/v1/products${query}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

describe("GET /api/v1/products", () => {
  it("returns the tenant's products ordered by case-insensitive sku, 50 by default", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [{ sku: "b-2" }, { sku: "A-1" }, { sku: "c-3" }]);
    const body = await page(t.key, "");
    expect(body.data.map((p) => p.sku)).toEqual(["A-1", "b-2", "c-3"]);
    expect(body.next_cursor).toBeNull();

    await seedProducts(t.tenantId, Array.from({ length: 60 }, (_, i) => ({ sku: `X-${String(i).padStart(3, "0")}` })));
    const first = await page(t.key, "");
    expect(first.data).toHaveLength(50);
    expect(first.next_cursor).toEqual(expect.any(String));
  });

  it("pages never skip or repeat a product, even with inserts and deletes between pages", async () => {
    const t = await createTenant(["products:read"]);
    const skus = Array.from({ length: 25 }, (_, i) => `SKU-${String(i * 2).padStart(3, "0")}`);
    await seedProducts(t.tenantId, skus.map((sku) => ({ sku })));
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const body: Page = await page(t.key, `?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...body.data.map((p) => p.sku));
      cursor = body.next_cursor;
      // Insert one product before the cursor and one after it between pages.
      await seedProducts(t.tenantId, [{ sku: `SKU-${String(round * 2 + 1).padStart(3, "0")}-early` }, { sku: `SKU-${String(100 + round)}` }]);
      round++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const sku of skus) expect(seen).toContain(sku);
    expect(seen).toEqual([...seen].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    // Products added after the cursor had passed them are not visited; those ahead of it are.
    expect(seen).toContain("SKU-100");
  });

  it("filters by status and updated_since", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [
      { sku: "old", updatedAt: Date.parse("2026-01-01T00:00:00Z") },
      { sku: "new", updatedAt: Date.parse("2026-06-01T00:00:00Z"), status: "draft" },
    ]);
    expect((await page(t.key, "?status=draft")).data.map((p) => p.sku)).toEqual(["new"]);
    expect((await page(t.key, "?updated_since=2026-03-01T00:00:00Z")).data.map((p) => p.sku)).toEqual(["new"]);
    expect((await page(t.key, "?updated_since=2026-03-01T02:00:00%2B02:00")).data.map((p) => p.sku)).toEqual(["new"]);
  });

  it("renders prices from integer minor units with the currency's decimals", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [
      { sku: "usd", priceMinor: 1999, currency: "USD" },
      { sku: "jpy", priceMinor: 1500, currency: "JPY" },
      { sku: "kwd", priceMinor: 12345, currency: "KWD" },
    ]);
    const byS = Object.fromEntries((await page(t.key, "")).data.map((p) => [p.sku, p]));
    expect(byS.usd?.price).toBe("19.99");
    expect(byS.jpy?.price).toBe("1500");
    expect(byS.kwd?.price).toBe("12.345");
    expect(byS.usd?.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(byS.usd?.tags).toEqual([]);
  });

  it("does not show another tenant's products", async () => {
    const a = await createTenant(["products:read"]);
    const b = await createTenant(["products:read"]);
    await seedProducts(a.tenantId, [{ sku: "mine" }]);
    expect((await page(b.key, "")).data).toEqual([]);
  });

  const invalid: [string, string, RegExp][] = [
    ["limit=0", "limit", /integer from 1 to 200/],
    ["limit=201", "limit", /integer from 1 to 200/],
    ["limit=abc", "limit", /integer from 1 to 200/],
    ["limit=1.5", "limit", /integer from 1 to 200/],
    ["limit=", "limit", /integer from 1 to 200/],
    ["limit=5&limit=6", "limit", /once/],
    ["status=deleted", "status", /active, draft, archived/],
    ["updated_since=yesterday", "updated_since", /ISO 8601/],
    ["cursor=!!!", "cursor", /next_cursor/],
    ["cursor=eyJ4IjoxfQ", "cursor", /next_cursor/],
  ];
  for (const [query, name, message] of invalid) {
    it(`400 problem naming ${name} for ?${query}`, async () => {
      const t = await createTenant(["products:read"]);
      const res = await request(`/api/v1/products?${query}`, { key: t.key });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", title: "Invalid request", status: 400 });
      expect(problem.errors).toEqual([{ location: "query", name, message: expect.stringMatching(message) }]);
      expect(problem.detail).toContain(name);
    });
  }
});

describe("GET /api/v1/products/{sku}", () => {
  it("finds the product case-insensitively", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [{ sku: "Shirt-Red-M", name: "Red shirt" }]);
    const res = await request("/api/v1/products/shirt-red-m", { key: t.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sku: "Shirt-Red-M", name: "Red shirt", price: "19.99", currency: "USD", status: "active" });
  });

  it("finds a SKU containing a slash when it is URL-encoded", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [{ sku: "A/B-1" }, { sku: "C%D" }]);
    const slash = await request("/api/v1/products/A%2FB-1", { key: t.key });
    expect(slash.status).toBe(200);
    expect(await slash.json()).toMatchObject({ sku: "A/B-1" });
    const percent = await request("/api/v1/products/C%25D", { key: t.key });
    expect(percent.status).toBe(200);
    expect(await percent.json()).toMatchObject({ sku: "C%D" });
  });

  it("answers another tenant's product exactly like a missing one", async () => {
    const owner = await createTenant(["products:read"]);
    const other = await createTenant(["products:read"]);
    await seedProducts(owner.tenantId, [{ sku: "secret" }]);
    const foreign = await request("/api/v1/products/secret", { key: other.key });
    const missing = await request("/api/v1/products/secreT", { key: other.key });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    const a = await problemOf(foreign);
    const b = await problemOf(missing);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect({ ...a, instance: null, detail: null }).toEqual({ ...b, instance: null, detail: null });
  });
});
