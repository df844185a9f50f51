// Column mappings on upload (`mapping=`, a query parameter or a multipart field): how a file's own column names and
// NDJSON keys are read as our fields, in every slice of the import, and every way a mapping can be refused.
import { describe, expect, it } from "vitest";
import { MAX_MAPPING_ENTRIES, MAX_MAPPING_LENGTH } from "../../src/imports/sources/column-mapping.ts";
import { MAX_NAME_LENGTH } from "../../src/imports/sources/header.ts";
import { consumerEnv, requestHeld, runJob } from "../consumer-helpers.ts";
import { createTenant, problemOf, request } from "../helpers.ts";
import { accepted, importFile, type Job, jobRowsOf, product, storedObjectKeys, upload, waitForJob } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";
const MAPPING = { "Item No.": "sku", Title: "name", Net: "price", Qty: "stock" };
const MAPPED_CSV = "Item No.,Title,Net,Qty,Notes\nA-1,Shirt,19.99,5,soft\nB-2,Mug,7,12,\n";
/** Small budgets: a file of a dozen rows is read in several slices of a few chunks. */
const BUDGET = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" } as const;

const mappingQuery = (mapping: unknown) => `mapping=${encodeURIComponent(typeof mapping === "string" ? mapping : JSON.stringify(mapping))}`;

function form(file: string, name: string, type: string, fields: Record<string, string | Blob | string[]> = {}): FormData {
  const body = new FormData();
  for (const [field, value] of Object.entries(fields)) for (const one of Array.isArray(value) ? value : [value]) body.append(field, one);
  body.append("file", new File([file], name, { type }));
  return body;
}

function postForm(key: string, body: FormData, query = ""): Promise<Response> {
  return request(`${IMPORT}${query}`, { method: "POST", key, body });
}

/** A 400 naming `mapping` (or `profile`) once per message, and nothing of the upload kept. */
async function refused(res: Response, tenantId: string, location: "query" | "body", messages: RegExp[], name = "mapping"): Promise<void> {
  expect(res.status).toBe(400);
  const problem = await problemOf(res);
  expect(problem.type).toBe("/problems/validation-error");
  expect(problem.errors).toEqual(messages.map((message) => ({ location, name, message: expect.stringMatching(message) })));
  expect(await jobRowsOf(tenantId)).toEqual([]);
  expect(await storedObjectKeys(tenantId)).toEqual([]);
}

describe("mapping= on upload: reading a file's own column names", () => {
  it("reads a CSV header through a query mapping; the job says how its file was read", async () => {
    const t = await createTenant();
    const queued = await accepted(await upload(t.key, MAPPED_CSV, { query: mappingQuery(MAPPING) }));
    expect(queued).toMatchObject({ profile: null, mapping: MAPPING });
    const job = await waitForJob(t.key, queued.id);
    expect(job).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, ignored_columns: ["Notes"], profile: null, mapping: MAPPING });
    expect(await product(t.key, "A-1")).toMatchObject({ sku: "A-1", name: "Shirt", price: "19.99", stock: 5 });
    expect(await product(t.key, "B-2")).toMatchObject({ name: "Mug", price: "7.00", stock: 12 });
  });

  it("matches mapped names trimmed and case-insensitively, in the header and in the mapping; fields may be given in any case", async () => {
    const t = await createTenant();
    const mapping = { " item no. ": "SKU", TITLE: "Name", net: "price", "Qty ": "stock" };
    const job = await importFile(t.key, " ITEM NO.,title , NET,qty\nA-1,Shirt,3.5,2\n", { query: mappingQuery(mapping) });
    expect(job).toMatchObject({ status: "completed", created: 1, ignored_columns: [] });
    // Stored as they match: names trimmed (as spelled), fields as we name them.
    expect(job.mapping).toEqual({ "item no.": "sku", TITLE: "name", net: "price", Qty: "stock" });
    expect(await product(t.key, "A-1")).toMatchObject({ name: "Shirt", price: "3.50", stock: 2 });
  });

  it("reads NDJSON keys through the mapping, matched like header names", async () => {
    const t = await createTenant();
    const file = '{"Item No.":"N-1","Title":"Pen","Net":"1.50","Qty":3,"colour":"blue"}\n{" item no. ":"N-2","TITLE":"Ink","NET":2,"qty":1}\n';
    const job = await importFile(t.key, file, { type: "application/x-ndjson", query: mappingQuery(MAPPING) });
    expect(job).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, ignored_columns: ["colour"], mapping: MAPPING });
    expect(await product(t.key, "N-1")).toMatchObject({ name: "Pen", price: "1.50", stock: 3 });
    expect(await product(t.key, "N-2")).toMatchObject({ name: "Ink", price: "2.00", stock: 1 });
  });

  it("takes the mapping as a multipart form field, for CSV and NDJSON", async () => {
    const t = await createTenant();
    const csv = await accepted(await postForm(t.key, form(MAPPED_CSV, "erp.csv", "text/csv", { mapping: JSON.stringify(MAPPING) })));
    expect(csv.mapping).toEqual(MAPPING);
    expect(await waitForJob(t.key, csv.id)).toMatchObject({ status: "completed", created: 2, ignored_columns: ["Notes"] });
    const ndjson = '{"Item No.":"M-1","Title":"Cup","Net":"4","Qty":6}\n';
    const lines = await accepted(await postForm(t.key, form(ndjson, "erp.ndjson", "application/x-ndjson", { mapping: JSON.stringify(MAPPING) })));
    expect(await waitForJob(t.key, lines.id)).toMatchObject({ status: "completed", created: 1, mapping: MAPPING });
    expect(await product(t.key, "M-1")).toMatchObject({ name: "Cup", price: "4.00", stock: 6 });
  });

  it("ignores a column named like a field the mapping reads from another column, and lists it (CSV and NDJSON)", async () => {
    const t = await createTenant();
    const mapping = { Net: "price", Title: "name" };
    const csv = await importFile(t.key, "sku,Title,Net,price,name\nA-1,Shirt,5.00,99.99,Wrong\n", { query: mappingQuery(mapping) });
    expect(csv).toMatchObject({ status: "completed", created: 1, ignored_columns: ["price", "name"] });
    expect(await product(t.key, "A-1")).toMatchObject({ name: "Shirt", price: "5.00" });
    const ndjson = await importFile(t.key, '{"sku":"A-2","PRICE":"99","Net":"6","Title":"Mug"}\n', { type: "application/x-ndjson", query: mappingQuery(mapping) });
    expect(ndjson).toMatchObject({ status: "completed", created: 1, rejected_rows: 0, ignored_columns: ["PRICE"] });
    expect(await product(t.key, "A-2")).toMatchObject({ name: "Mug", price: "6.00" });
  });

  it("reads a column by its mapping even where its name is one of our fields (names may swap fields)", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price,stock\nA-1,Shirt,4,3\n", { query: mappingQuery({ price: "stock", stock: "price" }) });
    expect(job).toMatchObject({ status: "completed", created: 1, ignored_columns: [] });
    expect(await product(t.key, "A-1")).toMatchObject({ price: "3.00", stock: 4 });
  });

  it("fails a CSV whose header has no SKU through the mapping, saying what the mapping read and ignored", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price\nA-1,Shirt,4\n", { query: mappingQuery({ "Item No.": "sku", Net: "price" }) });
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/^Line 1: The header is missing the required column\S* "sku"\. Found: sku, name, price\. With the column mapping, /);
    expect(job.failure_reason).toContain(`the mapping's column(s) "Item No." (→ sku), "Net" (→ price) are not in the header`);
    expect(job.failure_reason).toContain(`the column(s) "sku", "price" are ignored because the mapping reads that field from another column`);
    expect(job.processed_rows).toBe(0);
  });

  it("leaves a field alone when its mapped column is absent, as any absent column (a stock feed through a full profile's mapping)", async () => {
    const t = await createTenant();
    expect(await importFile(t.key, MAPPED_CSV, { query: mappingQuery(MAPPING) })).toMatchObject({ status: "completed", created: 2 });
    const feed = await importFile(t.key, "Item No.,Qty\nA-1,40\n", { query: mappingQuery(MAPPING) });
    expect(feed).toMatchObject({ status: "completed", updated: 1, rejected_rows: 0 });
    expect(await product(t.key, "A-1")).toMatchObject({ name: "Shirt", price: "19.99", stock: 40 });
  });

  it("rejects a row of an NDJSON file whose object lacks a mapped key, as any row missing a field", async () => {
    const t = await createTenant();
    const file = '{"Item No.":"N-1","Title":"Pen","Net":"1"}\n{"sku":"N-2","Title":"Ink","Net":"2"}\n';
    const job = await importFile(t.key, file, { type: "application/x-ndjson", query: mappingQuery(MAPPING) });
    expect(job).toMatchObject({ status: "completed", created: 1, rejected_rows: 1, ignored_columns: ["sku"] });
  });
});

describe("mapping= across slices: every continuation reads with the job's stored mapping", () => {
  async function runHeld(key: string, body: string, type: string, query: string) {
    const consumer = consumerEnv(BUDGET);
    const res = await requestHeld(consumer, `${IMPORT}?${query}`, { method: "POST", key, body, headers: { "content-type": type, "content-length": String(new TextEncoder().encode(body).length) } });
    const queued = await accepted(res);
    const deliveries = await runJob(consumer, queued.id);
    return { deliveries, job: await waitForJob(key, queued.id) };
  }

  it("CSV", async () => {
    const t = await createTenant();
    let file = "Item No.,Title,Net,Qty,price\n";
    for (let i = 1; i <= 12; i++) file += `C-${i},Item ${i},${i}.25,${i},999\n`;
    const { deliveries, job } = await runHeld(t.key, file, "text/csv", mappingQuery(MAPPING));
    expect(deliveries.length).toBeGreaterThanOrEqual(3);
    expect(job).toMatchObject({ status: "completed", processed_rows: 12, created: 12, rejected_rows: 0, ignored_columns: ["price"], mapping: MAPPING });
    for (const i of [1, 6, 12]) expect(await product(t.key, `C-${i}`)).toMatchObject({ name: `Item ${i}`, price: `${i}.25`, stock: i });
  });

  it("NDJSON, whose keys are matched again in every slice", async () => {
    const t = await createTenant();
    let file = "";
    for (let i = 1; i <= 12; i++) {
      // Later lines spell the keys otherwise, and bring a literal price the mapping ignores.
      file += i <= 6 ? JSON.stringify({ "Item No.": `J-${i}`, Title: `Item ${i}`, Net: `${i}.75`, Qty: i }) : JSON.stringify({ " ITEM NO.": `J-${i}`, title: `Item ${i}`, NET: `${i}.75`, qty: i, price: "999" });
      file += "\n";
    }
    const { deliveries, job } = await runHeld(t.key, file, "application/x-ndjson", mappingQuery(MAPPING));
    expect(deliveries.length).toBeGreaterThanOrEqual(3);
    expect(job).toMatchObject({ status: "completed", processed_rows: 12, created: 12, rejected_rows: 0, ignored_columns: ["price"], mapping: MAPPING });
    for (const i of [1, 7, 12]) expect(await product(t.key, `J-${i}`)).toMatchObject({ name: `Item ${i}`, price: `${i}.75`, stock: i });
  });
});

describe("mapping= refused with a 400 naming it, before anything is stored", () => {
  it("maps to fields that do not exist: each named", async () => {
    const t = await createTenant();
    const res = await upload(t.key, MAPPED_CSV, { query: mappingQuery({ "Item No.": "sku", Qty: "stok", Net: "prise" }) });
    await refused(res, t.tenantId, "query", [/^maps "Qty" to "stok", which is no product field; the fields are sku, name, /, /^maps "Net" to "prise", which is no product field/]);
  });

  it("maps two columns to one field, naming both and the field", async () => {
    const t = await createTenant();
    const res = await upload(t.key, MAPPED_CSV, { query: mappingQuery({ Net: "price", "Price EUR": "Price", Qty: "stock" }) });
    await refused(res, t.tenantId, "query", [/^maps "Net" and "Price EUR" to the same field "price"; map one column to each field$/]);
  });

  it("gives one column twice: as two spellings, or as the same name twice in the JSON", async () => {
    const t = await createTenant();
    await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery({ Qty: "stock", " QTY": "price" }) }), t.tenantId, "query", [
      /^gives the column "Qty" twice \(as "Qty" and "QTY"\); names match trimmed and case-insensitively$/,
    ]);
    await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery('{"Qty":"stock","Qty":"price"}') }), t.tenantId, "query", [/^gives the name "Qty" twice in one object; give it once/]);
  });

  it("is not a JSON object of names to fields", async () => {
    const t = await createTenant();
    const cases: [string, RegExp][] = [
      ['{"Qty":', /^is not valid JSON \(.+\); it must be a JSON object of column names to product fields/],
      ["Qty:stock", /^is not valid JSON/],
      ['["sku"]', /^must be a JSON object of column names to product fields, such as \{"Item No\.":"sku"/],
      ["null", /^must be a JSON object/],
      ["{}", /^maps no column; it must be a JSON object/],
      ['{"Qty":5}', /^maps "Qty" to a number, which is no product field/],
      ['{"":"sku"}', /^has an empty column name \(mapped to "sku"\)$/],
    ];
    for (const [text, message] of cases) await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery(text) }), t.tenantId, "query", [message]);
  });

  it("passes its bounds: length of the text, number of entries, length of a name", async () => {
    const t = await createTenant();
    const long = JSON.stringify({ [`A${"x".repeat(MAX_MAPPING_LENGTH)}`]: "sku" });
    await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery(long) }), t.tenantId, "query", [new RegExp(`^must be at most ${MAX_MAPPING_LENGTH} characters$`)]);
    const many = Object.fromEntries(Array.from({ length: MAX_MAPPING_ENTRIES + 1 }, (_, i) => [`Column ${i}`, "sku"]));
    await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery(many) }), t.tenantId, "query", [
      new RegExp(`^has ${MAX_MAPPING_ENTRIES + 1} entries; at most ${MAX_MAPPING_ENTRIES} \\(one per product field\\)$`),
    ]);
    const name = "n".repeat(MAX_NAME_LENGTH + 1);
    await refused(await upload(t.key, MAPPED_CSV, { query: mappingQuery({ [name]: "sku" }) }), t.tenantId, "query", [
      new RegExp(`^has the column name "n+\\.\\.\\." of ${MAX_NAME_LENGTH + 1} characters; at most ${MAX_NAME_LENGTH}$`),
    ]);
    // A name at the limit is taken.
    const job = await importFile(t.key, `${"n".repeat(MAX_NAME_LENGTH)},name,price\nA-1,Shirt,1\n`, { query: mappingQuery({ ["N".repeat(MAX_NAME_LENGTH)]: "sku" }) });
    expect(job).toMatchObject({ status: "completed", created: 1 });
  });

  it("in a multipart form: a bad field, a field given twice, as a file, or also in the query", async () => {
    const t = await createTenant();
    const good = JSON.stringify(MAPPING);
    await refused(await postForm(t.key, form(MAPPED_CSV, "a.csv", "text/csv", { mapping: '{"Qty":"stok"}' })), t.tenantId, "body", [/^maps "Qty" to "stok", which is no product field/]);
    await refused(await postForm(t.key, form(MAPPED_CSV, "a.csv", "text/csv", { mapping: [good, good] })), t.tenantId, "body", [/^is given 2 times; give it once$/]);
    await refused(await postForm(t.key, form(MAPPED_CSV, "a.csv", "text/csv", { mapping: new File([good], "mapping.json") })), t.tenantId, "body", [
      /^must be a plain form field, not a file$/,
    ]);
    await refused(await postForm(t.key, form(MAPPED_CSV, "a.csv", "text/csv", { mapping: good }), `?${mappingQuery(MAPPING)}`), t.tenantId, "body", [
      /^is given both as a query parameter and as a form field; give it once$/,
    ]);
  });

  it("is checked after the key: an unknown key is a 401, a key without imports:write a 403", async () => {
    const t = await createTenant(["imports:read"]);
    const bad = mappingQuery({ Qty: "stok" });
    expect((await upload(`pik_${"C".repeat(32)}`, MAPPED_CSV, { query: bad })).status).toBe(401);
    expect((await upload(t.key, MAPPED_CSV, { query: bad })).status).toBe(403);
  });
});

describe("mapping= and Idempotency-Key", () => {
  it("replays a repeat with the same mapping; the same key with another mapping is a 422", async () => {
    const t = await createTenant();
    const headers = { "idempotency-key": "erp-feed-1" };
    const first = await accepted(await upload(t.key, MAPPED_CSV, { query: mappingQuery(MAPPING), headers }));
    const repeat = await upload(t.key, MAPPED_CSV, { query: mappingQuery(MAPPING), headers });
    expect(repeat.status).toBe(202);
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(((await repeat.json()) as Job).id).toBe(first.id);
    const other = await upload(t.key, MAPPED_CSV, { query: mappingQuery({ ...MAPPING, Notes: "description" }), headers });
    expect(other.status).toBe(422);
    const without = await upload(t.key, MAPPED_CSV, { headers });
    expect(without.status).toBe(422);
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
  });
});
