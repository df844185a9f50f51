// Platform exports through the API and the queue: Shopify product CSVs (classic and current headers) and WooCommerce
// product CSVs, recognised by their header or named with profile=, built from the platforms' published column lists.
import { describe, expect, it } from "vitest";
import { createTenant, problemOf, request } from "../helpers.ts";
import { accepted, importFile, type Job, rowErrors, upload, waitForJob } from "../imports-helpers.ts";
import { importDirect, productRecords } from "../consumer-helpers.ts";
import {
  asCurrentShopify,
  exportFile,
  SHOPIFY_CLASSIC_HEADER,
  SHOPIFY_CURRENT_HEADER,
  SHOPIFY_PRODUCTS,
  SHOPIFY_READ_COLUMNS,
  SHOPIFY_ROWS,
  WOO_CURRENT_HEADER,
  WOO_PRODUCTS,
  WOO_ROWS,
  WOO_SAMPLE_HEADER,
} from "../preset-exports.ts";

const SHOPIFY_CLASSIC = exportFile(SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS);
const SHOPIFY_CURRENT = exportFile(SHOPIFY_CURRENT_HEADER, asCurrentShopify(SHOPIFY_ROWS));
const WOO_SAMPLE = exportFile(WOO_SAMPLE_HEADER, WOO_ROWS);

/** The tenant's products as the API lists them, without timestamps, in SKU order. */
async function catalog(key: string, query = "") {
  const res = await request(`/api/v1/products?limit=200${query}`, { key });
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: Record<string, unknown>[] };
  return data.map(({ created_at: _c, updated_at: _u, ...p }) => p);
}

describe("Shopify product exports", () => {
  it("imports a classic export recognised by its header: a product per variant with a SKU, the handle's product cells carried onto each", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, SHOPIFY_CLASSIC);
    expect(job).toMatchObject({
      status: "completed",
      preset: "shopify",
      preset_detected: true,
      processed_rows: 7,
      created: 5,
      updated: 0,
      unchanged: 0,
      rejected_rows: 0,
      skipped_rows: 2,
      error_count: 0,
      warning_count: 1,
      ignored_columns: SHOPIFY_CLASSIC_HEADER.filter((name) => !SHOPIFY_READ_COLUMNS.has(name)),
    });
    expect(job.ignored_columns).toContain("Variant Compare At Price");
    expect(await catalog(t.key)).toEqual(SHOPIFY_PRODUCTS);
  });

  it("tells the merchant of a variant without a SKU on its line, a warning that counts it skipped; an image row stays silent", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, SHOPIFY_CLASSIC);
    expect(job).toMatchObject({ processed_rows: 7, created: 5, rejected_rows: 0, skipped_rows: 2, error_count: 0, warning_count: 1 });
    // Line 5 is the t-shirt's further image; line 7 the trousers' first variant, which has a price but no SKU.
    expect(await rowErrors(t.key, job.id)).toEqual([
      {
        line: 7,
        column: "sku",
        code: "variant_without_sku",
        message: "This variant has no SKU, which Shopify allows but a product here needs: it was not imported. Give it a SKU (Variant SKU) and import it again.",
        value: "",
        severity: "warning",
      },
    ]);
  });

  it("reports a variant without a SKU by any of its variant cells, and a blank row or a row of only an image never", async () => {
    const t = await createTenant();
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, [
      { Handle: "cap", Title: "Cap", "Variant SKU": "CAP-1", "Variant Price": "5" },
      { Handle: "cap", "Option1 Value": "Red" },
      { Handle: "cap", "Variant Inventory Qty": "3" },
      { Handle: "cap", "Variant Barcode": "4006381333931" },
      { Handle: "cap", "Variant Image": "https://cdn.example.com/cap-red.jpg" },
      { Handle: "cap", "Image Src": "https://cdn.example.com/cap-back.jpg", "Image Position": "2" },
      {},
    ]);
    const job = await importFile(t.key, file);
    expect(job).toMatchObject({ processed_rows: 7, created: 1, rejected_rows: 0, skipped_rows: 6, error_count: 0, warning_count: 4 });
    expect((await rowErrors(t.key, job.id)).map((e) => [e.line, e.code, e.severity])).toEqual([
      [3, "variant_without_sku", "warning"],
      [4, "variant_without_sku", "warning"],
      [5, "variant_without_sku", "warning"],
      [6, "variant_without_sku", "warning"],
    ]);
  });

  it("reads the current header as the classic one", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, SHOPIFY_CURRENT);
    expect(job).toMatchObject({ status: "completed", preset: "shopify", preset_detected: true, created: 5, skipped_rows: 2, error_count: 0, warning_count: 1 });
    expect(job.ignored_columns).toEqual(SHOPIFY_CURRENT_HEADER.filter((name) => !SHOPIFY_READ_COLUMNS.has(name)));
    expect(await catalog(t.key)).toEqual(SHOPIFY_PRODUCTS);
  });

  it("lists a product's variants by their group, the handle", async () => {
    const t = await createTenant();
    await importFile(t.key, SHOPIFY_CLASSIC);
    const variants = await catalog(t.key, "&group=example-t-shirt");
    expect(variants.map((p) => [p.sku, p.options])).toEqual([
      ["TS-BLUE-M", { Color: "Blue", Size: "M" }],
      ["TS-GREEN-L", { Color: "Green", Size: "L" }],
      ["TS-GREEN-M", { Color: "Green", Size: "M" }],
    ]);
  });

  it("carries a handle's product cells across slices: one row per slice imports what one slice does", async () => {
    const whole = await importDirect((await createTenant()).tenantId, SHOPIFY_CLASSIC);
    const sliced = await importDirect((await createTenant()).tenantId, SHOPIFY_CLASSIC, { vars: { IMPORT_CHUNK_ROWS: "1", IMPORT_SLICE_ROWS: "1" } });
    expect(whole.delivered).toHaveLength(1);
    expect(sliced.delivered.length).toBeGreaterThanOrEqual(7);
    expect(sliced.snapshot.counters).toEqual(whole.snapshot.counters);
    expect(sliced.snapshot.errors).toEqual(whole.snapshot.errors);
    expect(sliced.snapshot.errors.map((e) => e.code)).toEqual(["variant_without_sku"]);
    expect(sliced.snapshot.products).toEqual(whole.snapshot.products);
    // The last t-shirt variant is three rows and three slices after its product's cells.
    expect(sliced.snapshot.products.find((p) => p.sku === "TS-BLUE-M")).toMatchObject({ name: "Example T-Shirt - Blue / M", brand: "Acme", tags: '["cotton","summer"]' });
  });

  it("writes nothing when the export is imported again; prices are in the products' currency, new products in the import's", async () => {
    const t = await createTenant();
    await importFile(t.key, SHOPIFY_CLASSIC, { query: "currency=EUR" });
    const before = await productRecords(t.tenantId);
    expect(before.map((p) => p.currency)).toEqual(["EUR", "EUR", "EUR", "EUR", "EUR"]);
    const again = await importFile(t.key, SHOPIFY_CURRENT);
    expect(again).toMatchObject({ status: "completed", created: 0, updated: 0, unchanged: 5, skipped_rows: 2, error_count: 0, warning_count: 1 });
    expect(await productRecords(t.tenantId)).toEqual(before);
  });

  it("counts in a dry run what the import does, and writes nothing", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, SHOPIFY_CLASSIC, { query: "dry_run=true" });
    expect(job).toMatchObject({ status: "completed", dry_run: true, preset: "shopify", created: 5, skipped_rows: 2, processed_rows: 7 });
    expect(await catalog(t.key)).toEqual([]);
  });

  it("reports a refused product cell on each variant of the product; a variant's own image stands in for a refused product image", async () => {
    const t = await createTenant();
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, [
      {
        Handle: "bad", Title: "Bad", Status: "sold-out", "Image Src": "not a url", "Option1 Name": "Size", "Option1 Value": "S",
        "Variant SKU": "BAD-S", "Variant Price": "5",
      },
      { Handle: "bad", "Option1 Value": "M", "Variant SKU": "BAD-M", "Variant Price": "5", "Variant Image": "https://cdn.example.com/bad-m.jpg" },
      { Handle: "", "Variant SKU": "NO-HANDLE", "Variant Price": "5" },
      { Handle: "good", Title: "Good", "Variant SKU": "GOOD-1", "Variant Price": "5" },
    ]);
    const job = await importFile(t.key, file);
    expect(job).toMatchObject({ status: "completed", processed_rows: 4, created: 1, rejected_rows: 3, skipped_rows: 0, error_count: 4 });
    const status = {
      column: "status",
      code: "invalid_status",
      message: 'Status "sold-out" is not valid; use active, draft or archived.',
      value: "sold-out",
      severity: "error",
    };
    expect(await rowErrors(t.key, job.id)).toEqual([
      { line: 2, ...status },
      { line: 2, column: "image_url", code: "invalid_url", message: expect.stringContaining('"not a url"'), value: "not a url", severity: "error" },
      { line: 3, ...status },
      {
        line: 4,
        column: "group",
        code: "required",
        message: "Handle is required: each row of a Shopify export names its product in the Handle (URL handle) column.",
        value: "",
        severity: "error",
      },
    ]);
    expect((await catalog(t.key)).map((p) => [p.sku, p.name, p.group])).toEqual([["GOOD-1", "Good", "good"]]);
  });

  it("with on_invalid=skip_field imports the variants without a refused product cell or a mangled barcode, each a warning on every row it concerns", async () => {
    const rows: Record<string, string>[] = [
      {
        Handle: "mug", Title: "Mug", Vendor: "Acme", Status: "sold-out", "Option1 Name": "Size", "Option1 Value": "S",
        "Variant SKU": "MUG-S", "Variant Price": "9", "Variant Barcode": "4.00638E+12",
      },
      { Handle: "mug", "Option1 Value": "L", "Variant SKU": "MUG-L", "Variant Price": "11", "Variant Barcode": "4006381333931" },
    ];
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, rows);
    const rejecting = await createTenant();
    const rejected = await importFile(rejecting.key, file);
    expect(rejected).toMatchObject({ status: "completed", created: 0, rejected_rows: 2, error_count: 3, warning_count: 0 });
    expect((await rowErrors(rejecting.key, rejected.id)).map((e) => [e.line, e.column, e.code, e.severity])).toEqual([
      [2, "status", "invalid_status", "error"],
      [2, "barcode", "scientific_notation", "error"],
      [3, "status", "invalid_status", "error"],
    ]);

    const t = await createTenant();
    const job = await importFile(t.key, file, { query: "on_invalid=skip_field" });
    expect(job).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, error_count: 0, warning_count: 3 });
    expect((await rowErrors(t.key, job.id)).map((e) => [e.line, e.column, e.code, e.severity])).toEqual([
      [2, "status", "invalid_status", "warning"],
      [2, "barcode", "scientific_notation", "warning"],
      [3, "status", "invalid_status", "warning"],
    ]);
    expect((await catalog(t.key)).map((p) => [p.sku, p.name, p.status, p.barcode, p.brand])).toEqual([
      ["MUG-L", "Mug - L", "active", "4006381333931", "Acme"],
      ["MUG-S", "Mug - S", "active", null, "Acme"],
    ]);
  });
});

describe("WooCommerce product exports", () => {
  it("imports the sample export: simple, variation and external products; variable and grouped parents are skipped", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, WOO_SAMPLE);
    expect(job).toMatchObject({
      status: "completed",
      preset: "woocommerce",
      preset_detected: true,
      processed_rows: 9,
      created: 7,
      rejected_rows: 0,
      skipped_rows: 2,
      error_count: 0,
    });
    const read = new Set(["Type", "SKU", "Name", "Published", "Description", "Stock", "Regular price", "Categories", "Tags", "Images", "Parent"]);
    expect(job.ignored_columns).toEqual(WOO_SAMPLE_HEADER.filter((name) => !read.has(name) && !/^Attribute \d+ (name|value\(s\))$/.test(name)));
    expect(await catalog(t.key)).toEqual(WOO_PRODUCTS);
    const variants = await catalog(t.key, "&group=woo-hoodie");
    expect(variants.map((p) => p.sku)).toEqual(["woo-hoodie-red"]);
  });

  it("leaves alone a stock WooCommerce does not manage, and a variation's categories and tags", async () => {
    const t = await createTenant();
    await importFile(t.key, "sku,name,price,stock,category,tags\nwoo-vneck-tee-red,Tee,1.00,9,Tees,x\nwoo-album,Album,1.00,4,Audio,y\n");
    const job = await importFile(t.key, WOO_SAMPLE);
    expect(job).toMatchObject({ status: "completed", created: 5, updated: 2 });
    const products = Object.fromEntries((await catalog(t.key)).map((p) => [p.sku, p]));
    expect(products["woo-vneck-tee-red"]).toMatchObject({ stock: 9, category: "Tees", tags: ["x"], price: "20.00", name: "V-Neck T-Shirt - Red" });
    expect(products["woo-album"]).toMatchObject({ stock: 4, category: "Music", tags: [], price: "15.00" });
  });

  it("reads the current exporter's header: barcode from GTIN, UPC, EAN, or ISBN, brand from Brands; an unknown product type is a row error", async () => {
    const t = await createTenant();
    const file = exportFile(WOO_CURRENT_HEADER, [
      {
        ID: "10", Type: "simple", SKU: "lamp", "GTIN, UPC, EAN, or ISBN": "4006381333931", Name: "Lamp", Published: "1", Stock: "3",
        "Regular price": "30", Categories: "Home > Lighting", Brands: "Lumen, Acme", "Attribute 1 name": "Color", "Attribute 1 value(s)": "White",
      },
      { ID: "11", Type: "subscription", SKU: "box", Name: "Monthly box", Published: "1", "Regular price": "10" },
    ]);
    const job = await importFile(t.key, file);
    expect(job).toMatchObject({ status: "completed", preset: "woocommerce", preset_detected: true, created: 1, rejected_rows: 1 });
    expect(await rowErrors(t.key, job.id)).toEqual([
      {
        line: 3,
        column: null,
        code: "unsupported_product_type",
        message: 'WooCommerce product type "subscription" is not imported: simple, variation and external products are, and variable and grouped parents are skipped.',
        value: "subscription",
        severity: "error",
      },
    ]);
    expect(await catalog(t.key)).toEqual([
      {
        sku: "lamp", name: "Lamp", description: null, price: "30.00", currency: "USD", stock: 3, status: "active", brand: "Lumen",
        category: "Home > Lighting", barcode: "4006381333931", image_url: null, tags: [], group: null, options: {},
      },
    ]);
  });
});

describe("exports as spreadsheets save them", () => {
  it("recognises an export whose header follows a byte order mark, and one in Windows-1252", async () => {
    const t = await createTenant();
    expect(await importFile(t.key, `\uFEFF${SHOPIFY_CLASSIC}`)).toMatchObject({ status: "completed", preset: "shopify", preset_detected: true, created: 5 });
    const latin = exportFile(WOO_SAMPLE_HEADER, [{ ID: "1", Type: "simple", SKU: "cafe", Name: "Café crème", Published: "1", "Regular price": "3" }]);
    // Every character of the file is in Latin-1, where Windows-1252 has the same byte.
    const bytes = Uint8Array.from(latin, (c) => c.charCodeAt(0));
    const job = await importFile(t.key, bytes, { type: "text/csv; charset=windows-1252" });
    expect(job).toMatchObject({ status: "completed", preset: "woocommerce", encoding: "windows-1252", created: 1 });
    expect((await catalog(t.key)).find((p) => p.sku === "cafe")).toMatchObject({ name: "Café crème" });
  });
});

describe("choosing a preset", () => {
  it("reads the file with the preset profile= names, and the job says it was named", async () => {
    const t = await createTenant();
    const job = await accepted(await upload(t.key, SHOPIFY_CLASSIC, { query: "profile=shopify" }));
    expect(job).toMatchObject({ preset: "shopify", preset_detected: false });
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", preset: "shopify", preset_detected: false, created: 5 });
  });

  it("fails a file that is not the named preset's export, naming the columns it lacks", async () => {
    const t = await createTenant();
    const job = await waitForJob(t.key, (await accepted(await upload(t.key, "sku,name,price\nA-1,One,1\n", { query: "profile=woocommerce" }))).id);
    expect(job).toMatchObject({
      status: "failed",
      preset: "woocommerce",
      failure_reason: 'Line 1: The header is missing the column(s) "Type" that a WooCommerce product export has; it cannot be read as one.',
    });
    const shopify = await waitForJob(t.key, (await accepted(await upload(t.key, WOO_SAMPLE, { query: "profile=shopify" }))).id);
    expect(shopify).toMatchObject({ status: "failed", failure_reason: expect.stringContaining('"Handle" or "URL handle"') });
  });

  it("reads a file of our own by its column names, even with columns an export also has", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price,id,type,parent\nA-1,One,1,7,shirt,A\n");
    expect(job).toMatchObject({ status: "completed", preset: null, preset_detected: false, created: 1, ignored_columns: ["id", "type", "parent"] });
  });

  it("takes the named preset into an Idempotency-Key's request: the same file without it is another request", async () => {
    const t = await createTenant();
    const headers = { "idempotency-key": "shopify-export-1" };
    const first = await accepted(await upload(t.key, SHOPIFY_CLASSIC, { query: "profile=shopify", headers }));
    const replay = await upload(t.key, SHOPIFY_CLASSIC, { query: "profile=shopify", headers });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);
    const other = await upload(t.key, SHOPIFY_CLASSIC, { headers });
    expect(other.status).toBe(422);
    await waitForJob(t.key, first.id);
  });

  it("takes the preset as a multipart form field, as a profile", async () => {
    const t = await createTenant();
    const body = new FormData();
    body.append("profile", "woocommerce");
    body.append("file", new File([WOO_SAMPLE], "products.csv", { type: "text/csv" }));
    const job = await accepted(await request("/api/v1/products/import", { method: "POST", key: t.key, body }));
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", profile: "woocommerce", preset: "woocommerce", preset_detected: false, mapping: null, created: 7 });
  });

  it("reads a file with a mapping or a saved profile by them, never as a recognised export", async () => {
    const t = await createTenant();
    const mapping = encodeURIComponent(JSON.stringify({ "Variant SKU": "sku", Title: "name", "Variant Price": "price" }));
    const job = await importFile(t.key, SHOPIFY_CLASSIC, { query: `mapping=${mapping}` });
    // Each row on its own: only the rows with a SKU and a title are products; no handle is carried, no row skipped.
    expect(job).toMatchObject({ status: "completed", preset: null, preset_detected: false, profile: null, processed_rows: 7, created: 2, rejected_rows: 5, skipped_rows: 0 });
    expect((await catalog(t.key)).map((p) => [p.sku, p.name, p.group])).toEqual([
      ["HAT-1", "Example Hat", null],
      ["TS-GREEN-M", "Example T-Shirt", null],
    ]);

    await request("/api/v1/import-profiles", { method: "POST", key: t.key, body: JSON.stringify({ name: "erp", mapping: { "Variant SKU": "sku" } }), headers: { "content-type": "application/json" } });
    const profiled = await importFile(t.key, SHOPIFY_CLASSIC, { query: "profile=erp" });
    expect(profiled).toMatchObject({ status: "completed", profile: "erp", preset: null, preset_detected: false, created: 0, unchanged: 2, rejected_rows: 5 });
  });

  it("refuses a preset for an NDJSON file or with a mapping, naming profile; nothing is stored", async () => {
    const t = await createTenant();
    const ndjson = await upload(t.key, '{"sku":"A"}\n', { type: "application/x-ndjson", query: "profile=shopify" });
    expect(ndjson.status).toBe(400);
    expect((await problemOf(ndjson)).errors).toEqual([
      { location: "query", name: "profile", message: 'names the built-in preset "shopify", which reads CSV exports; this file is NDJSON' },
    ]);
    const mapping = encodeURIComponent(JSON.stringify({ "Variant SKU": "sku" }));
    const mapped = await upload(t.key, SHOPIFY_CLASSIC, { query: `profile=shopify&mapping=${mapping}` });
    expect(mapped.status).toBe(400);
    expect((await problemOf(mapped)).errors).toEqual([
      { location: "query", name: "profile", message: 'names the built-in preset "shopify", which reads the export\'s own columns; give it without mapping' },
    ]);
    expect(await productRecords(t.tenantId)).toEqual([]);
    const jobs = await request("/api/v1/products/import", { key: t.key });
    expect(((await jobs.json()) as { data: Job[] }).data).toEqual([]);
  });
});
