import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client.ts";
import { listProducts, type ProductOrder } from "../../src/db/queries/products.ts";
import { createTenant, problemOf, request, seedProducts } from "../helpers.ts";
import { importFile } from "../imports-helpers.ts";

interface Page {
  data: { sku: string; name: string; price: string; currency: string; status: string; tags: string[]; created_at: string; updated_at: string }[];
  next_cursor: string | null;
}

async function page(key: string, query: string): Promise<Page> {
  const res = await request(`/api/v1/products${query}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

/** Every page of a listing, with `between(pageNumber)` run after each page that has a next one. */
async function walk(key: string, query: string, between: (pageNumber: number) => Promise<void> = async () => {}): Promise<Page["data"]> {
  const rows: Page["data"] = [];
  let cursor: string | null = null;
  let pageNumber = 0;
  do {
    const body: Page = await page(key, `?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    rows.push(...body.data);
    cursor = body.next_cursor;
    if (cursor) await between(++pageNumber);
  } while (cursor);
  return rows;
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

  it("with updated_since, pages come in (updated_at, sku) order, ties broken by sku, none skipped or repeated", async () => {
    const t = await createTenant(["products:read"]);
    const since = Date.parse("2026-03-01T00:00:00Z");
    // Five instants with three products each, SKUs out of order and in mixed case, so ties straddle page boundaries.
    const skus = ["q", "B", "k", "a", "Z", "m", "C", "x", "d", "n", "Y", "e", "b-2", "W", "f"];
    const seeded = skus.map((sku, i) => ({ sku, updatedAt: since + Math.floor(i / 3) * 60_000 }));
    await seedProducts(t.tenantId, [...seeded, { sku: "before", updatedAt: since - 1 }]);
    const expected = [...seeded]
      .sort((a, b) => a.updatedAt - b.updatedAt || (a.sku.toLowerCase() < b.sku.toLowerCase() ? -1 : 1))
      .map((p) => [p.sku, new Date(p.updatedAt).toISOString()]);

    for (const limit of [1, 4, 7, 15]) {
      const rows = await walk(t.key, `updated_since=2026-03-01T00:00:00Z&limit=${limit}`);
      expect(rows.map((p) => [p.sku, p.updated_at])).toEqual(expected);
    }
  });

  it("with updated_since, a cursor resumes at the later of itself and updated_since", async () => {
    const t = await createTenant(["products:read"]);
    const since = Date.parse("2026-03-01T00:00:00Z");
    await seedProducts(t.tenantId, ["a", "b", "c", "d"].map((sku, i) => ({ sku, updatedAt: since + i * 60_000 })));
    const first = await page(t.key, "?updated_since=2026-03-01T00:00:00Z&limit=1");
    expect(first.data.map((p) => p.sku)).toEqual(["a"]);
    const later = await page(t.key, `?updated_since=2026-03-01T00:02:00Z&limit=5&cursor=${first.next_cursor}`);
    expect(later.data.map((p) => p.sku)).toEqual(["c", "d"]);
    const same = await page(t.key, `?updated_since=2026-02-01T00:00:00Z&limit=5&cursor=${first.next_cursor}`);
    expect(same.data.map((p) => p.sku)).toEqual(["b", "c", "d"]);
  });

  it("with updated_since, a product updated between two pages is listed on a later page with its new values", async () => {
    const t = await createTenant(["products:read", "imports:read", "imports:write"]);
    const start = Date.now() - 3_600_000;
    await seedProducts(t.tenantId, ["p0", "p1", "p2", "p3", "p4", "p5"].map((sku, i) => ({ sku, name: `old ${sku}`, updatedAt: start + i * 1000 })));
    const since = new Date(start).toISOString();

    const rows = await walk(t.key, `updated_since=${since}&limit=2`, async (pageNumber) => {
      // After the first page (p0, p1): p0 was listed already, p3 not yet; the import stamps both with one instant.
      if (pageNumber === 1) await importFile(t.key, "sku,name,price\np0,new p0,5\np3,new p3,5\n");
    });

    expect(rows.map((p) => [p.sku, p.name])).toEqual([
      ["p0", "old p0"],
      ["p1", "old p1"],
      ["p2", "old p2"],
      ["p4", "old p4"],
      ["p5", "old p5"],
      ["p0", "new p0"],
      ["p3", "new p3"],
    ]);
    const [reimported, moved] = rows.slice(5);
    expect(reimported?.updated_at).toBe(moved?.updated_at);
    expect(Date.parse(reimported?.updated_at ?? "")).toBeGreaterThan(start + 5000);
  });

  it("rejects a cursor from the other ordering with a 400 problem naming cursor", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [
      { sku: "a", updatedAt: Date.parse("2026-03-02T00:00:00Z") },
      { sku: "b", updatedAt: Date.parse("2026-03-01T00:00:00Z") },
    ]);
    const bySku = await page(t.key, "?limit=1");
    const byUpdate = await page(t.key, "?limit=1&updated_since=2026-01-01T00:00:00Z");
    expect(bySku.next_cursor).toEqual(expect.any(String));
    expect(byUpdate.next_cursor).toEqual(expect.any(String));

    const cases: [string, RegExp][] = [
      [`?updated_since=2026-01-01T00:00:00Z&cursor=${bySku.next_cursor}`, /without updated_since/],
      [`?cursor=${byUpdate.next_cursor}`, /with updated_since/],
    ];
    for (const [query, message] of cases) {
      const res = await request(`/api/v1/products${query}`, { key: t.key });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
      expect(problem.errors).toEqual([{ location: "query", name: "cursor", message: expect.stringMatching(message) }]);
      expect(problem.detail).toContain("cursor");
    }
  });

  it("an updated_since page seeks products_tenant_updated in page order: no temporary B-tree, no scan", async () => {
    const db = database(env.DB);
    const since = Date.parse("2026-03-01T00:00:00Z");
    const cases: [ProductOrder, string][] = [
      [{ by: "updated", since }, "(tenant_id=? AND updated_at>?)"],
      [{ by: "updated", since, after: [since + 5, "sku-1"] }, "(tenant_id=? AND (updated_at,sku_key)>(?,?))"],
      [{ by: "updated", since: since + 10, after: [since + 5, "sku-1"] }, "(tenant_id=? AND updated_at>?)"],
    ];
    for (const [order, seek] of cases) {
      for (const status of [undefined, "active" as const]) {
        const { sql, params } = listProducts(db, "ten_x", { limit: 50, status, order }).toSQL();
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        const details = plan.results.map((r) => r.detail);
        expect(details.join("\n")).not.toMatch(/TEMP B-TREE|SCAN products/);
        expect(details).toEqual([`SEARCH products USING INDEX products_tenant_updated ${seek}`]);
      }
    }
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

  it("400 naming path sku for a SKU that is not printable ASCII, instead of finding a product through Unicode case folding", async () => {
    const t = await createTenant(["products:read"]);
    await seedProducts(t.tenantId, [{ sku: "KIT-1" }]);
    // U+212A KELVIN SIGN lower-cases to an ASCII "k": "\u212AIT-1".toLowerCase() is "kit-1".
    expect("\u212AIT-1".toLowerCase()).toBe("kit-1");
    for (const path of ["%E2%84%AAIT-1", "KIT%201", "KIT%0A1", "caf%C3%A9", "K".repeat(65)]) {
      const res = await request(`/api/v1/products/${path}`, { key: t.key });
      expect(res.status, path).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", title: "Invalid request", status: 400 });
      expect(problem.errors).toEqual([{ location: "path", name: "sku", message: expect.stringContaining("printable ASCII characters without spaces") }]);
    }
    expect((await request("/api/v1/products/kit-1", { key: t.key })).status).toBe(200);
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
