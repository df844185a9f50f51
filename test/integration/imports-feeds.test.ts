// Partial feeds: a file changes only the fields it has columns (NDJSON keys) for; blank cells clear or keep;
// a new product needs name and price; prices without a currency are read in the product's currency.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTenant, request } from "../helpers.ts";
import { importFile, rowErrors } from "../imports-helpers.ts";
import { consumerEnv, createQueuedJob, failingBatches, importDirect, productRecords, runRedelivering, snapshot } from "../consumer-helpers.ts";

const FULL =
  "sku,name,description,price,currency,stock,status,brand,category,barcode,image_url,tags\n" +
  "TEE-1,Tee,Soft,19.99,EUR,42,active,Acme,Tops,4006381333931,https://cdn.example.com/tee.jpg,\"a,b\"\n" +
  "MUG-1,Mug,,1200,JPY,5,draft,,,,,\n";

async function catalog(key: string) {
  const res = await request("/api/v1/products?limit=200", { key });
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: Record<string, unknown>[] };
  return Object.fromEntries(data.map(({ created_at: _c, updated_at: _u, ...p }) => [p.sku as string, p]));
}

describe("columns-present updates", () => {
  it("a price list changes prices and names only: stock, brand, tags and the rest stay as they were", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    const before = await catalog(t.key);
    const job = await importFile(t.key, "sku,name,price\nTEE-1,Tee (new),24.50\nMUG-1,Mug,1500\n");
    expect(job).toMatchObject({ status: "completed", created: 0, updated: 2, unchanged: 0, rejected_rows: 0 });
    const after = await catalog(t.key);
    expect(after["TEE-1"]).toEqual({ ...before["TEE-1"], name: "Tee (new)", price: "24.50" });
    // A price without a currency column is in the product's own currency (JPY has no minor digits).
    expect(after["MUG-1"]).toEqual({ ...before["MUG-1"], price: "1500" });
    expect(after["TEE-1"]).toMatchObject({ stock: 42, brand: "Acme", tags: ["a", "b"], currency: "EUR" });
  });

  it("takes an inventory feed (sku,stock): existing products get their stock, unknown SKUs are row errors", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    const before = await catalog(t.key);
    const job = await importFile(t.key, "sku,stock\nTEE-1,7\nNEW-1,3\nMUG-1,5\n");
    expect(job).toMatchObject({ status: "completed", processed_rows: 3, created: 0, updated: 1, unchanged: 1, rejected_rows: 1, error_count: 1 });
    expect(await rowErrors(t.key, job.id)).toEqual([
      {
        line: 3,
        column: null,
        code: "new_product_incomplete",
        message: 'SKU "NEW-1" is not in the catalog, and a new product needs a name and a price: this row has no name and no price.',
        value: "NEW-1",
        severity: "error",
      },
    ]);
    expect(await catalog(t.key)).toEqual({ ...before, "TEE-1": { ...before["TEE-1"], stock: 7 } });
  });

  it("takes status and price feeds, and a price feed with its currency", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    expect(await importFile(t.key, "sku,status\nTEE-1,archived\n")).toMatchObject({ updated: 1 });
    expect(await importFile(t.key, "sku,price,currency\nTEE-1,21.00,USD\n")).toMatchObject({ updated: 1 });
    expect(await catalog(t.key)).toMatchObject({ "TEE-1": { status: "archived", price: "21.00", currency: "USD", stock: 42, name: "Tee" } });
    // A currency alone would change what the stored price means: refused, the product kept as it was.
    const currencyOnly = await importFile(t.key, "sku,currency\nTEE-1,JPY\n");
    expect(currencyOnly).toMatchObject({ rejected_rows: 1, updated: 0 });
    expect((await rowErrors(t.key, currencyOnly.id)).map((e) => [e.column, e.code])).toEqual([["currency", "currency_without_price"]]);
    expect(await catalog(t.key)).toMatchObject({ "TEE-1": { price: "21.00", currency: "USD" } });
  });

  it("reads a price without a currency column in the product's currency, rejecting digits that currency lacks", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    const job = await importFile(t.key, "sku,price\nMUG-1,12.5\nTEE-1,12.5\n");
    expect(job).toMatchObject({ updated: 1, rejected_rows: 1 });
    const [error] = await rowErrors(t.key, job.id);
    expect(error).toMatchObject({ line: 2, column: "price", code: "too_many_decimals", value: "12.5" });
    expect(await catalog(t.key)).toMatchObject({ "MUG-1": { price: "1200", currency: "JPY" }, "TEE-1": { price: "12.50", currency: "EUR" } });
  });

  it("leaves alone NDJSON keys that are absent; null clears the field", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    const job = await importFile(t.key, '{"sku":"TEE-1","stock":9,"brand":null}\n{"sku":"MUG-1","tags":["x"]}\n', { type: "application/x-ndjson" });
    expect(job).toMatchObject({ status: "completed", updated: 2 });
    expect(await catalog(t.key)).toMatchObject({
      "TEE-1": { stock: 9, brand: null, name: "Tee", price: "19.99", tags: ["a", "b"], category: "Tops" },
      "MUG-1": { tags: ["x"], stock: 5, status: "draft" },
    });
  });

  it("clears a present column's blank cells by default, and keeps them with blank_cells=keep", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    const feed = "sku,stock,brand,tags\nTEE-1,,,\n";
    const kept = await importFile(t.key, feed, { query: "blank_cells=keep" });
    expect(kept).toMatchObject({ unchanged: 1, options: { blank_cells: "keep" } });
    expect(await catalog(t.key)).toMatchObject({ "TEE-1": { stock: 42, brand: "Acme", tags: ["a", "b"] } });
    expect(await importFile(t.key, feed)).toMatchObject({ updated: 1, options: { blank_cells: "clear", on_invalid: "reject_row" } });
    expect(await catalog(t.key)).toMatchObject({ "TEE-1": { stock: 0, brand: null, tags: [] } });
    // Name and price cannot be cleared: a blank one is a row error, unless kept.
    const blankName = await importFile(t.key, "sku,name,price\nTEE-1,,\n");
    expect((await rowErrors(t.key, blankName.id)).map((e) => [e.column, e.code])).toEqual([
      ["name", "required"],
      ["price", "required"],
    ]);
    expect(await importFile(t.key, "sku,name,price\nTEE-1,,\n", { query: "blank_cells=keep" })).toMatchObject({ unchanged: 1, rejected_rows: 0 });
    const bad = await request("/api/v1/products/import?blank_cells=skip", { method: "POST", key: t.key, headers: { "content-type": "text/csv" }, body: "sku\n" });
    expect(bad.status).toBe(400);
  });

  it("gives new products the documented defaults for the fields their row does not have", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price\nNEW-1,New,5\n", { query: "currency=GBP" });
    expect(job).toMatchObject({ created: 1 });
    expect((await catalog(t.key))["NEW-1"]).toEqual({
      sku: "NEW-1",
      name: "New",
      description: null,
      price: "5.00",
      currency: "GBP",
      stock: 0,
      status: "active",
      brand: null,
      category: null,
      barcode: null,
      image_url: null,
      tags: [],
      group: null,
      options: {},
    });
  });

  it("applies rows in file order: a new SKU exists for the rows after the one that created it", async () => {
    const t = await createTenant();
    const file = "sku,name,price,stock\nX-1,,,4\nX-1,Made,3,\nX-1,,,8\nX-1,Made,3,8\n";
    const job = await importFile(t.key, file, { query: "blank_cells=keep" });
    // Row 2 comes before X-1 exists; row 3 creates it with stock 0; row 4 updates; row 5 changes nothing.
    expect(job).toMatchObject({ processed_rows: 4, rejected_rows: 1, created: 1, updated: 1, unchanged: 1 });
    expect((await rowErrors(t.key, job.id))[0]).toMatchObject({ line: 2, code: "new_product_incomplete" });
    expect((await catalog(t.key))["X-1"]).toMatchObject({ name: "Made", stock: 8 });
  });

  it("writes nothing when any file is imported a second time", async () => {
    const t = await createTenant();
    await importFile(t.key, FULL);
    for (const [file, type] of [
      [FULL, "text/csv"],
      ["sku,stock\nTEE-1,3\nMUG-1,4\n", "text/csv"],
      ["sku,price\nTEE-1,9.99\n", "text/csv"],
      ['{"sku":"TEE-1","brand":"Other","tags":["z"]}\n', "application/x-ndjson"],
    ] as const) {
      await importFile(t.key, file, { type });
      const stamps = (await productRecords(t.tenantId)).map((p) => p.updated_at);
      const again = await importFile(t.key, file, { type });
      expect(again).toMatchObject({ created: 0, updated: 0, unchanged: again.processed_rows });
      expect((await productRecords(t.tenantId)).map((p) => p.updated_at)).toEqual(stamps);
    }
  });
});

describe("dry runs and redelivery of partial feeds", () => {
  const feed = [
    "sku,name,price,stock",
    "P-1,One,1,1", // new
    "P-1,,,2", // updates the product the row before created
    "P-2,,,3", // no such product: row error
    "P-3,,,30", // existing: updated
    "P-3,,,30", // same again: unchanged
    "P-4,Four,4,", // existing, same name and price: unchanged
    "P-2,Two,2,", // now created
    "P-2,,,5", // updated
  ].join("\n");

  async function seeded() {
    const t = await createTenant();
    await importDirect(t.tenantId, "sku,name,price,stock\nP-3,Three,3,3\nP-4,Four,4,4\n");
    return t;
  }

  it("a dry run reports the counts the real run then has, across chunks, and writes nothing", async () => {
    const vars = { IMPORT_CHUNK_ROWS: "2" };
    const t = await seeded();
    const before = await productRecords(t.tenantId);
    const dry = await importDirect(t.tenantId, feed, { dryRun: true, blankCells: "keep", vars });
    expect(await productRecords(t.tenantId)).toEqual(before);
    const real = await importDirect(t.tenantId, feed, { blankCells: "keep", vars });
    const counts = ({ created, updated, unchanged, rejected_rows, error_count }: typeof real.snapshot.counters) => ({ created, updated, unchanged, rejected_rows, error_count });
    expect(counts(real.snapshot.counters)).toEqual({ created: 2, updated: 3, unchanged: 2, rejected_rows: 1, error_count: 1 });
    expect(counts(dry.snapshot.counters)).toEqual(counts(real.snapshot.counters));
    expect(dry.snapshot.errors).toEqual(real.snapshot.errors);
    expect(real.snapshot.products.map((p) => [p.sku, p.name, p.price_minor, p.stock])).toEqual([
      ["P-1", "One", 100, 2],
      ["P-2", "Two", 200, 5],
      ["P-3", "Three", 300, 30],
      ["P-4", "Four", 400, 4],
    ]);
  });

  it("has exactly the effect of an undisturbed run when batches fail and are redelivered", async () => {
    const reference = await seeded();
    const undisturbed = await importDirect(reference.tenantId, feed, { blankCells: "keep", vars: { IMPORT_CHUNK_ROWS: "2" } });
    for (const failOn of [[1], [2], [3], [2, 4]]) {
      const t = await seeded();
      const jobId = await createQueuedJob(t.tenantId, feed, { blankCells: "keep" });
      const budget = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" };
      const retried = await runRedelivering(consumerEnv(budget, failingBatches(env.DB, failOn).db), consumerEnv(budget), jobId);
      expect(retried).toBe(failOn.length);
      const after = await snapshot(t.tenantId, jobId);
      expect(after.counters).toEqual({ ...undisturbed.snapshot.counters });
      expect(after.products).toEqual(undisturbed.snapshot.products);
      expect(after.errors).toEqual(undisturbed.snapshot.errors);
    }
  });
});

describe("variants: group and options", () => {
  it("stores group and options from CSV and NDJSON, returns them, and lists a group with ?group=", async () => {
    const t = await createTenant();
    await importFile(t.key, 'sku,name,price,group,options\nTEE-G-M,Tee - Green / M,10,tee,"{""Color"":""Green"",""Size"":""M""}"\nMUG-1,Mug,5,,\n');
    await importFile(t.key, '{"sku":"TEE-G-L","name":"Tee - Green / L","price":10,"group":"tee","options":{"Color":"Green","Size":"L"}}\n', {
      type: "application/x-ndjson",
    });
    const res = await request("/api/v1/products?group=tee", { key: t.key });
    const { data } = (await res.json()) as { data: { sku: string; group: string; options: Record<string, string> }[] };
    expect(data.map((p) => [p.sku, p.group, p.options])).toEqual([
      ["TEE-G-L", "tee", { Color: "Green", Size: "L" }],
      ["TEE-G-M", "tee", { Color: "Green", Size: "M" }],
    ]);
    expect((await catalog(t.key))["MUG-1"]).toMatchObject({ group: null, options: {} });
    const again = await importFile(t.key, 'sku,options\nTEE-G-M,"{""Color"":""Green"",""Size"":""M""}"\n');
    expect(again).toMatchObject({ unchanged: 1 });
  });

  it("refuses an option given twice, also as an exact repeat that JSON.parse would drop: an error, or a warning with skip_field", async () => {
    const csv = 'sku,name,price,options\nO-1,Cell,1,"{""Size"":""M"",""Size"":""L""}"\nO-2,Case,1,"{""Size"":""M"",""size"":""L""}"\n';
    const ndjson = '{"sku":"O-3","name":"Object","price":1,"options":{"Size":"M","Size":"L"}}\n{"sku":"O-4","name":"Text","price":1,"options":"{\\"Size\\":\\"M\\",\\"Size\\":\\"L\\"}"}\n';
    const twice = (line: number, name: string, severity: string) => ({ line, column: "options", code: "invalid_options", message: `Option "${name}" is given twice.`, severity });
    for (const onInvalid of ["reject_row", "skip_field"] as const) {
      const t = await createTenant();
      const severity = onInvalid === "reject_row" ? "error" : "warning";
      const fromCsv = await importFile(t.key, csv, { query: `on_invalid=${onInvalid}` });
      const fromNdjson = await importFile(t.key, ndjson, { type: "application/x-ndjson", query: `on_invalid=${onInvalid}` });
      expect((await rowErrors(t.key, fromCsv.id)).map(({ value: _v, ...e }) => e)).toEqual([twice(2, "Size", severity), twice(3, "size", severity)]);
      expect((await rowErrors(t.key, fromNdjson.id)).map(({ value: _v, ...e }) => e)).toEqual([twice(1, "Size", severity), twice(2, "Size", severity)]);
      // Left out with skip_field: the product has no options rather than the last of two.
      const products = await catalog(t.key);
      if (onInvalid === "reject_row") expect(products).toEqual({});
      else for (const sku of ["O-1", "O-2", "O-3", "O-4"]) expect(products[sku], sku).toMatchObject({ options: {} });
    }
  });

  it("refuses an option named __proto__, which an object cannot hold, from a cell, an object or a Shopify option column", async () => {
    const t = await createTenant();
    const proto = { column: "options", code: "invalid_options", message: 'Option name "__proto__" cannot be stored as an option\'s name; rename the option.', severity: "error" };
    const csv = await importFile(t.key, 'sku,name,price,options\nP-1,Cell,1,"{""Color"":""Red"","" __proto__ "":""x""}"\n');
    expect((await rowErrors(t.key, csv.id)).map(({ value: _v, ...e }) => e)).toEqual([{ line: 2, ...proto }]);
    const ndjson = await importFile(t.key, '{"sku":"P-2","name":"Object","price":1,"options":{"__proto__":"x"}}\n', { type: "application/x-ndjson", query: "on_invalid=skip_field" });
    expect(ndjson).toMatchObject({ created: 1, warning_count: 1 });
    expect((await rowErrors(t.key, ndjson.id)).map(({ value: _v, ...e }) => e)).toEqual([{ line: 1, ...proto, severity: "warning" }]);
    const shopify = await importFile(t.key, "Handle,Title,Variant SKU,Variant Price,Option1 Name,Option1 Value\nhat,Hat,P-3,5,__proto__,Red\n");
    expect(shopify).toMatchObject({ preset: "shopify", rejected_rows: 1 });
    expect((await rowErrors(t.key, shopify.id)).map(({ value: _v, ...e }) => e)).toEqual([{ line: 2, ...proto }]);
    expect(await catalog(t.key)).toMatchObject({ "P-2": { options: {} } });
    expect(Object.keys(await catalog(t.key))).toEqual(["P-2"]);
  });

  it("lists a group from its partial index, which products without a group stay out of", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT * FROM products WHERE tenant_id = ? AND variant_group = ? ORDER BY sku_key LIMIT 51",
    )
      .bind("t", "g")
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toMatch(/USING INDEX products_tenant_group \(tenant_id=\? AND variant_group=\?\)/);
    expect(plan.results.map((r) => r.detail).join("\n")).not.toMatch(/TEMP B-TREE/);
    const index = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE name = 'products_tenant_group'").first<string>("sql");
    expect(index).toMatch(/WHERE "products"."variant_group" IS NOT NULL$/);
  });
});

describe("error policy", () => {
  // Spreadsheets turn barcodes into scientific notation; the merchant still wants the product in.
  const mangled = "sku,name,price,stock,barcode,tags\nB-1,Bottle,4.50,12,3.65275E+11,kitchen\nB-2,Box,2,-1,,\nB-3,,x,1,,\n";

  it("rejects a row with an invalid field by default", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, mangled);
    expect(job).toMatchObject({ created: 0, rejected_rows: 3, error_count: 4, warning_count: 0, options: { on_invalid: "reject_row" } });
  });

  it("with on_invalid=skip_field imports the row without its invalid optional fields, each a warning", async () => {
    const t = await createTenant();
    await importFile(t.key, "sku,name,price,stock,barcode\nB-2,Box,2,7,4006381333931\n");
    const job = await importFile(t.key, mangled, { query: "on_invalid=skip_field" });
    expect(job).toMatchObject({ processed_rows: 3, created: 1, updated: 1, unchanged: 0, rejected_rows: 1, error_count: 2, warning_count: 2, options: { on_invalid: "skip_field" } });
    expect((await rowErrors(t.key, job.id)).map((e) => [e.line, e.column, e.code, e.severity])).toEqual([
      [2, "barcode", "scientific_notation", "warning"],
      [3, "stock", "negative", "warning"],
      // Name and price are what a product is: still errors.
      [4, "name", "required", "error"],
      [4, "price", "invalid_price", "error"],
    ]);
    // The skipped field is left alone: a new product gets its empty value, an existing one keeps its own (B-2's blank
    // barcode cell is not invalid: it clears).
    expect(await catalog(t.key)).toMatchObject({ "B-1": { barcode: null, stock: 12, tags: ["kitchen"] }, "B-2": { stock: 7, barcode: null } });
    const report = await (await request(`/api/v1/products/import/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } })).text();
    expect(report.split("\r\n")[1]).toMatch(/^2,barcode,scientific_notation,.*,3\.65275E\+11,warning$/);
    const status = (await (await request("/api/v1/products/import/status", { key: t.key })).json()) as { errors: number; warnings: number };
    expect(status).toMatchObject({ errors: 2, warnings: 2 });
    const bad = await request("/api/v1/products/import?on_invalid=ignore", { method: "POST", key: t.key, headers: { "content-type": "text/csv" }, body: "sku\n" });
    expect(bad.status).toBe(400);
  });

  it("a dry run counts warnings as the import does", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, mangled, { query: "on_invalid=skip_field&dry_run=true" });
    expect(job).toMatchObject({ created: 2, rejected_rows: 1, error_count: 2, warning_count: 2 });
    expect(await catalog(t.key)).toEqual({});
  });
});
