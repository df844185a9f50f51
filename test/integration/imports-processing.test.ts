// What an import does with a file, end to end (upload → queue → consumer → products, job and errors):
// lifecycle, CSV per RFC 4180 and its edge cases, headers, row errors, NDJSON, unchanged rows and dry runs.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  consumerEnv,
  createQueuedJob,
  deliver,
  importDirect,
  jobRecord,
  productRecords,
  runJob,
  storedErrors,
  tricklingUploads,
} from "../consumer-helpers.ts";
import type { ProductResponse } from "../../src/catalog/product.ts";
import { createTenant, request } from "../helpers.ts";
import { getJob, importFile, type Job, rowErrors } from "../imports-helpers.ts";
import { utf16Bytes } from "../unit/imports/parser-helpers.ts";
import { database } from "../../src/db/client.ts";
import { failJob, MAX_FAILURE_REASON_LENGTH } from "../../src/db/queries/jobs.ts";
import { MAX_IGNORED_COLUMNS, MAX_NAME_LENGTH } from "../../src/imports/sources/header.ts";
import { MAX_COLUMNS } from "../../src/imports/read/csv.ts";
import { MAX_LINE_VALUES } from "../../src/imports/read/ndjson.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = "\uFEFF";

type ApiProduct = ProductResponse;

async function products(key: string): Promise<ApiProduct[]> {
  const res = await request("/api/v1/products?limit=200", { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: ApiProduct[] }).data;
}

const csvJob = (key: string, body: string | Uint8Array, query?: string) => importFile(key, body, { type: "text/csv", ...(query ? { query } : {}) });
const ndjsonJob = (key: string, body: string | Uint8Array) => importFile(key, body, { type: "application/x-ndjson" });

function expectFailed(job: Job, reason: RegExp) {
  expect(job.status).toBe("failed");
  expect(job.failure_reason).toMatch(reason);
  expect(job.created + job.updated + job.unchanged).toBe(0);
}

describe("job lifecycle", () => {
  it("goes queued → processing → completed, with the timestamps of each step", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, "sku,name,price\nA-1,One,1\nA-2,Two,2\nA-3,Three,3\nA-4,Four,4\nA-5,Five,5\n");
    const consumer = consumerEnv({ IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "2" });
    let job = await getJob(t.key, jobId);
    expect(job).toMatchObject({ status: "queued", started_at: null, finished_at: null, duration_ms: null, total_rows: null });

    await deliver(consumer.env, { jobId, checkpointByte: 0 });
    job = await getJob(t.key, jobId);
    expect(job).toMatchObject({ status: "processing", processed_rows: 2, created: 2, finished_at: null, total_rows: null });
    expect(job.started_at).not.toBeNull();

    for (const message of consumer.sent) await deliver(consumer.env, message);
    job = await getJob(t.key, jobId);
    expect(job).toMatchObject({ status: "completed", total_rows: 5, processed_rows: 5, created: 5, error_count: 0, failure_reason: null });
    expect(Date.parse(job.finished_at as string)).toBeGreaterThanOrEqual(Date.parse(job.started_at as string));
    expect(job.duration_ms).toBe(Date.parse(job.finished_at as string) - Date.parse(job.started_at as string));
  });

  it("completes a file whose rows have errors, counting them", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "sku,name,price\nA-1,One,1\nA-2,,2\nA-3,Three,-3\n");
    expect(job).toMatchObject({ status: "completed", total_rows: 3, processed_rows: 3, created: 1, rejected_rows: 2, error_count: 2, failure_reason: null });
  });

  it("fails without a sku column, naming it and the header line", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "id,title,cost\nA-1,One,1\n");
    expectFailed(job, /^Line 1: .*missing the required column "sku"\. Found: id, title, cost\./);
    expect(job.processed_rows).toBe(0);
    expect(await products(t.key)).toEqual([]);
  });

  it("fails when a column appears twice (also in another case)", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "sku,name,price,SKU\nA-1,One,1,A-2\n");
    expectFailed(job, /^Line 1: .*"sku" \(columns 1 and 4\) more than once/);
  });

  it("fails on bytes that are not UTF-8, naming the line; the rows before it are kept", async () => {
    const t = await createTenant();
    const head = utf8("sku,name,price\nA-1,Caf\u00e9,1\n");
    const latin1 = new Uint8Array([...utf8("A-2,Caf"), 0xe9, ...utf8(",2\nA-3,Three,3\n")]);
    const job = await csvJob(t.key, new Uint8Array([...head, ...latin1]));
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/line 3\b/i);
    expect(job.failure_reason).toMatch(/UTF-8/);
    expect(job.failure_reason).not.toMatch(/Line 3: Line 3/);
    expect(job.processed_rows).toBe(1);
    expect((await products(t.key)).map((p) => p.name)).toEqual(["Café"]);
  });

  it("reads a Latin-1 export declared as UTF-8 in Windows-1252, from its header on, noting the charset it was read in", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, new Uint8Array([...utf8("sku,name,price,d"), 0xe9, ...utf8("tail\nA-1,One,1,x\n")]), { type: "text/csv; charset=utf-8" });
    expect(job).toMatchObject({ status: "completed", created: 1, encoding: "windows-1252", ignored_columns: ["détail"] });
    expect(job.notes).toEqual([{ code: "charset_mismatch", severity: "warning", message: expect.stringMatching(/^The upload declared charset=utf-8, but the file is not UTF-8: line 1 has the byte 0xE9,.* read in windows-1252/) }]);
  });

  it("fails a UTF-16 file without a byte order mark (CSV or NDJSON) saying so and how to declare it, not that it is not UTF-8", async () => {
    const t = await createTenant();
    const csv = "sku,name,price\r\nA-1,Café,1\r\n";
    for (const [file, order] of [[utf16Bytes(csv, "le", false), "le"], [utf16Bytes(csv, "be", false), "be"]] as const) {
      const job = await csvJob(t.key, file);
      expectFailed(job, new RegExp(`^Line 1: The file is encoded as UTF-16 without a byte order mark.*charset=utf-16${order}`));
      expect(job.processed_rows).toBe(0);
    }
    const ndjson = await ndjsonJob(t.key, utf16Bytes('{"sku":"A-1","name":"Café","price":1}\n', "le", false));
    expectFailed(ndjson, /UTF-16 without a byte order mark.*look little-endian/);
  });

  it("fails on an unterminated quote, naming the line where the quote opens", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, 'sku,name,price\nA-1,One,1\nA-2,"Two,2\nA-3,Three,3\n');
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/line 3\b/i);
    expect(job.failure_reason).toMatch(/never closed/);
    expect(job.failure_reason).not.toMatch(/Line 3: The quoted field that starts on line 3/);
  });

  it("fails an over-long record with the same, first error however the stored file's bytes arrive", async () => {
    // Line 2 opens a quote that is never closed: read on past the record limit, the quote of the last line would
    // close it and fail that line instead.
    const rows = Array.from({ length: 120_000 }, (_, i) => `A-${i + 2},Shirt,1\n`).join("");
    const file = `sku,name,price\nA-1,"Shirt,1\n${rows}Z-1,"Last",1\n`;
    const reasons: (string | null)[] = [];
    for (const pieceBytes of [4096, file.length]) {
      const t = await createTenant();
      const jobId = await createQueuedJob(t.tenantId, file);
      const consumer = consumerEnv();
      await runJob({ ...consumer, env: { ...consumer.env, UPLOADS: tricklingUploads(env.UPLOADS, pieceBytes, 0) } }, jobId);
      expect(await jobRecord(jobId)).toMatchObject({ status: "failed", processed_rows: 0 });
      reasons.push((await jobRecord(jobId)).failure_reason);
    }
    expect(reasons[0]).toMatch(/^The record starting on line 2 is larger than the limit of .*quote \(\"\) opened on line 2 is never closed/);
    expect(reasons[1]).toBe(reasons[0]);
  });

  it("fails on text after a closing quote, naming the line", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, 'sku,name,price\nA-1,"One"x,1\n');
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/line 2\b/i);
  });
});

describe("CSV per RFC 4180", () => {
  const ROWS = [
    ["sku", "name", "price", "description", "tags"],
    ["Q-1", '"Quoted, with comma"', "1.50", '"He said ""hi"""', '"a,b"'],
    ["Q-2", '"Line\r\nbreak"', "2", '"one\ntwo"', ""],
    ["Q-3", "Café 日本語 ☕", "3", "", '"été,日本"'],
  ];

  for (const [label, eol, finalNewline] of [
    ["LF with a final newline", "\n", true],
    ["LF without a final newline", "\n", false],
    ["CRLF with a final newline", "\r\n", true],
    ["CRLF without a final newline", "\r\n", false],
  ] as const) {
    it(`reads quoted fields, doubled quotes, line breaks in quotes and non-ASCII text (${label})`, async () => {
      const t = await createTenant();
      const text = ROWS.map((r) => r.join(",")).join(eol) + (finalNewline ? eol : "");
      const job = await csvJob(t.key, text);
      expect(job).toMatchObject({ status: "completed", total_rows: 3, created: 3, error_count: 0 });
      expect((await products(t.key)).map((p) => [p.sku, p.name, p.price, p.description, p.tags])).toEqual([
        ["Q-1", "Quoted, with comma", "1.50", 'He said "hi"', ["a", "b"]],
        ["Q-2", "Line\r\nbreak", "2.00", "one\ntwo", []],
        ["Q-3", "Café 日本語 ☕", "3.00", null, ["été", "日本"]],
      ]);
    });
  }

  it("strips a UTF-8 byte order mark before the header", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, `${BOM}sku,name,price\r\nB-1,Bom,1\r\n`);
    expect(job).toMatchObject({ status: "completed", created: 1, ignored_columns: [] });
    expect((await products(t.key))[0]).toMatchObject({ sku: "B-1", name: "Bom" });
  });

  for (const [label, body] of [
    ["only a byte order mark", BOM],
    ["only blank lines", "\n\r\n\n"],
    ["a byte order mark and blank lines", `${BOM}\n\n`],
  ] as const) {
    it(`fails a file with ${label}: empty, nothing imported`, async () => {
      const t = await createTenant();
      const job = await csvJob(t.key, body);
      expectFailed(job, /empty/i);
      expect(job.processed_rows).toBe(0);
    });
  }

  const noRows = { code: "no_rows", severity: "info", message: "The file has a header line but no rows: nothing was imported." };
  for (const [label, body, query] of [
    ["with a final newline", "sku,name,price\n", ""],
    ["without a final newline", "sku,name,price", ""],
    ["with CRLF and trailing blank lines", `${BOM}SKU,Name,Price\r\n\r\n\r\n`, ""],
    ["after a sep= line, in a dry run", "sep=;\nsku;name;price\n", "dry_run=true"],
    ["of a Shopify export", "Handle,Title,Variant SKU,Variant Price\n", ""],
  ] as const) {
    it(`completes a header-only file with 0 rows and a note saying so (${label})`, async () => {
      const t = await createTenant();
      const job = await importFile(t.key, body, { query });
      expect(job).toMatchObject({ status: "completed", total_rows: 0, processed_rows: 0, created: 0, error_count: 0, failure_reason: null });
      expect(job.notes).toEqual([noRows]);
    });
  }

  it("notes nothing on a file with rows, even when every row is rejected or skipped", async () => {
    const t = await createTenant();
    expect(await csvJob(t.key, "sku,name,price\n,,\n")).toMatchObject({ status: "completed", processed_rows: 1, skipped_rows: 1, notes: [] });
    expect(await csvJob(t.key, "sku,name,price\nA-1,,\n")).toMatchObject({ status: "completed", processed_rows: 1, rejected_rows: 1, notes: [] });
  });

  it("rejects ragged rows as row errors, never truncating or padding them", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "sku,name,price\nR-1,One\nR-2,Two,2,extra\nR-3,Three,3\nR-4,Four,4,\n");
    expect(job).toMatchObject({ status: "completed", processed_rows: 4, created: 1, rejected_rows: 3, error_count: 3 });
    expect((await products(t.key)).map((p) => p.sku)).toEqual(["R-3"]);
    const errors = await rowErrors(t.key, job.id);
    expect(errors).toEqual([
      { line: 2, column: null, code: "ragged_row", message: "This row has 2 values but the header has 3 columns.", value: "R-1,One", severity: "error" },
      { line: 3, column: null, code: "ragged_row", message: "This row has 4 values but the header has 3 columns.", value: "R-2,Two,2,extra", severity: "error" },
      { line: 5, column: null, code: "ragged_row", message: "This row has 4 values but the header has 3 columns.", value: "R-4,Four,4,", severity: "error" },
    ]);
  });

  it("detects a semicolon-separated file", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, 'sku;name;price;description\nS-1;"Semi; colon";"1,50";x\n');
    expect(job).toMatchObject({ status: "completed", rejected_rows: 1 });
    const [error] = await rowErrors(t.key, job.id);
    expect(error).toMatchObject({ line: 2, column: "price", code: "decimal_comma", value: "1,50" });
    const ok = await csvJob(t.key, "sku;name;price\nS-2;Semi;1.50\n");
    expect(ok).toMatchObject({ status: "completed", created: 1 });
    expect((await products(t.key)).map((p) => [p.sku, p.name, p.price])).toEqual([["S-2", "Semi", "1.50"]]);
  });

  it("detects the delimiter from the header line, also after blank lines", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "\r\nsku;name;price\r\nA-1;Shirt;1\r\n");
    expect(job).toMatchObject({ status: "completed", processed_rows: 1, created: 1, error_count: 0 });
    const bom = await csvJob(t.key, `${BOM}\n\nsku\tname\tprice\nA-2\tTab, inc.\t2\n`);
    expect(bom).toMatchObject({ status: "completed", created: 1, error_count: 0 });
    expect((await products(t.key)).map((p) => [p.sku, p.name])).toEqual([
      ["A-1", "Shirt"],
      ["A-2", "Tab, inc."],
    ]);
  });

  it("honours an explicit ?delimiter=; where detection would guess a comma", async () => {
    // As many commas as semicolons in the header: detection keeps the comma.
    const file = "sku;name;price;notes,a,b,c\nS-1;Semi;1.50;x,y,z,w\n";
    const t = await createTenant();
    const guessed = await csvJob(t.key, file);
    expectFailed(guessed, /missing the required column/);
    const explicit = await csvJob(t.key, file, "delimiter=%3B");
    expect(explicit).toMatchObject({ status: "completed", created: 1, ignored_columns: ["notes,a,b,c"] });
    expect((await products(t.key))[0]).toMatchObject({ sku: "S-1", name: "Semi", price: "1.50" });
  });

  it("detects a tab-separated file, and honours ?delimiter=tab", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "sku\tname\tprice\ttags\nT-1\tTab, inc.\t3\ta,b\n");
    expect(job).toMatchObject({ status: "completed", created: 1 });
    expect((await products(t.key))[0]).toMatchObject({ sku: "T-1", name: "Tab, inc.", tags: ["a", "b"] });
    const explicit = await csvJob(t.key, "sku\tname\tprice\nT-2\tTab\t4\n", "delimiter=tab");
    expect(explicit).toMatchObject({ status: "completed", created: 1 });
    // The job names the delimiter as the client did (and as the document's enum says).
    expect(explicit.options).toEqual({ currency: "USD", delimiter: "tab", blank_cells: "clear", on_invalid: "reject_row", charset: null, mode: "upsert", max_archive: null });
  });
});

describe("header", () => {
  it("matches column names case-insensitively and trimmed, and lists unknown columns as ignored", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, " SKU ,Name,  PRICE,Colour, weight ,,Image_URL\nH-1,One,9.5,red,3,,https://example.com/a.png\n");
    expect(job).toMatchObject({ status: "completed", created: 1, error_count: 0 });
    expect(job.ignored_columns).toEqual(["Colour", "weight"]);
    expect((await products(t.key))[0]).toMatchObject({ sku: "H-1", name: "One", price: "9.50", image_url: "https://example.com/a.png" });
  });
});

describe("what a file can put into a job is bounded", () => {
  it("fails a header of 40,000 columns on its count, with a short reason", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, `${"sku,".repeat(40_000)}\nA-1\n`);
    expectFailed(job, /^Line 1: The header has 40,001 columns; at most 1,000 are accepted\./);
    expect(job.failure_reason!.length).toBeLessThan(200);
  });

  it("fails a header with a column repeated many times naming a few of its positions", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, `name,price,${"sku,".repeat(997)}sku\nA-1\n`);
    expectFailed(job, /^Line 1: The header contains the column\(s\) "sku" \(columns 3, 4, 5, 6, 7 and 993 more\) more than once/);
  });

  it("fails a header without the sku column naming a few of those found, each cut", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, `"${"x".repeat(500_000)}",${Array.from({ length: 999 }, (_, i) => `c${i}`).join(",")}\n`);
    expectFailed(job, /^Line 1: The header is missing the required column "sku"\. Found: x+…, c0, c1, c2, c3 and 995 more\.$/);
    expect(job.failure_reason!.length).toBeLessThan(400);
  });

  it("stores at most MAX_FAILURE_REASON_LENGTH characters of a failure reason", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, "sku,name,price\n");
    expect(await failJob(database(env.DB), jobId, `Line 1: ${"x".repeat(789_000)}`, Date.now())).toMatchObject({ id: jobId });
    const job = await getJob(t.key, jobId);
    expect(job.failure_reason).toBe(`Line 1: ${"x".repeat(MAX_FAILURE_REASON_LENGTH - 9)}…`);
  });

  const extraColumns = (n: number) => Array.from({ length: n }, (_, i) => `Extra ${i + 1}`);

  it("lists at most MAX_IGNORED_COLUMNS ignored CSV columns, each cut, and says how many more were left out", async () => {
    const t = await createTenant();
    const long = "L".repeat(300);
    const header = ["sku", "name", "price", long, ...extraColumns(MAX_COLUMNS - 4)];
    const job = await csvJob(t.key, `${header.join(",")}\nA-1,Shirt,1${",".repeat(MAX_COLUMNS - 3)}\n`);
    expect(job).toMatchObject({ status: "completed", created: 1, error_count: 0, ignored_columns_omitted: MAX_COLUMNS - 4 - (MAX_IGNORED_COLUMNS - 1) });
    expect(job.ignored_columns).toEqual([`${"L".repeat(MAX_NAME_LENGTH - 1)}…`, ...extraColumns(MAX_IGNORED_COLUMNS - 1)]);
    const exact = await csvJob(t.key, `${["sku", "name", "price", ...extraColumns(MAX_IGNORED_COLUMNS)].join(",")}\n`);
    expect(exact).toMatchObject({ status: "completed", ignored_columns: extraColumns(MAX_IGNORED_COLUMNS), ignored_columns_omitted: 0 });
  });

  it("lists NDJSON keys the same way, across chunks and slices", async () => {
    // Each line brings a new unknown key; the list fills up in one slice and is left out of in the next ones.
    const lines = extraColumns(MAX_IGNORED_COLUMNS + 20).map((key, i) => JSON.stringify({ sku: `N-${i}`, name: "n", price: 1, [key]: 1, "extra 1": 2 }));
    const t = await createTenant();
    const { snapshot, delivered } = await importDirect(t.tenantId, `${lines.join("\n")}\n`, {
      format: "ndjson",
      vars: { IMPORT_CHUNK_ROWS: "7", IMPORT_SLICE_ROWS: "30" },
    });
    expect(delivered.length).toBeGreaterThan(3);
    expect(snapshot.counters).toMatchObject({
      status: "completed",
      created: MAX_IGNORED_COLUMNS + 20,
      ignored_columns: extraColumns(MAX_IGNORED_COLUMNS),
      // Each key left out is counted once, although each line repeats "extra 1" and slices start over.
      ignored_columns_omitted: 20,
    });
    const exact = await importDirect(t.tenantId, `${lines.slice(0, MAX_IGNORED_COLUMNS).join("\n")}\n`, {
      format: "ndjson",
      vars: { IMPORT_CHUNK_ROWS: "7", IMPORT_SLICE_ROWS: "30" },
    });
    expect(exact.snapshot.counters).toMatchObject({ ignored_columns: extraColumns(MAX_IGNORED_COLUMNS), ignored_columns_omitted: 0 });
  });
});

describe("row errors", () => {
  it("report line, column, code, message and value; line is where the record starts", async () => {
    const t = await createTenant();
    const file = [
      "sku,name,price,stock,description", //  1
      'E-1,"Two', //                          2
      'lines",1,1,ok', //                     3
      'E-2,Name,abc,1,"a', //                 4
      "b", //                                 5
      'c"', //                                6
      "", //                                  7 (blank, skipped but counted)
      "E-3,Name,1,-4,x", //                   8
      'E-4,,1,1.5,"x', //                     9
      'y"', //                                10
    ].join("\n");
    const job = await csvJob(t.key, file);
    expect(job).toMatchObject({ status: "completed", processed_rows: 4, created: 1, rejected_rows: 3, error_count: 4 });
    expect(await rowErrors(t.key, job.id)).toEqual([
      { line: 4, column: "price", code: "invalid_price", message: expect.any(String), value: "abc", severity: "error" },
      { line: 8, column: "stock", code: "negative", message: "Stock cannot be negative.", value: "-4", severity: "error" },
      { line: 9, column: "name", code: "required", message: "Name is required.", value: "", severity: "error" },
      { line: 9, column: "stock", code: "invalid_integer", message: expect.stringContaining("whole number"), value: "1.5", severity: "error" },
    ]);
  });

  it("cut the value to 200 characters", async () => {
    const t = await createTenant();
    const long = "9".repeat(300);
    const wide = `W-2,${"w".repeat(400)}`;
    const job = await csvJob(t.key, `sku,name,price\nW-1,Long,${long}\n${wide}\n`);
    expect(job).toMatchObject({ status: "completed", rejected_rows: 2 });
    const errors = await rowErrors(t.key, job.id);
    expect(errors.map((e) => [e.line, e.code, e.value?.length])).toEqual([
      [2, expect.any(String), 200],
      [3, "ragged_row", 200],
    ]);
    expect(errors[0]!.value).toBe(long.slice(0, 200));
    expect(errors[1]!.value).toBe(wide.slice(0, 200));
  });

  it("never cut a value inside a character (no lone surrogate stored)", async () => {
    const t = await createTenant();
    // 199 ASCII characters, then an emoji (two UTF-16 units): a cut at 200 units would split it.
    const row = `X-1,${"x".repeat(195)}😀😀`; // ragged: the whole row is the value
    const ndjson = `${JSON.stringify(["y".repeat(197) + "😀"])}\n`; // not an object: the whole line is the value
    const csv = await csvJob(t.key, `sku,name,price\n${row}\n`);
    const nd = await ndjsonJob(t.key, ndjson);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const job of [csv, nd]) {
      const [error] = await rowErrors(t.key, job.id);
      expect(error!.value!.length).toBeLessThanOrEqual(200);
      expect(error!.value!.length).toBeGreaterThanOrEqual(199);
      expect(loneSurrogate.test(error!.value!)).toBe(false);
    }
  });
});

describe("NDJSON", () => {
  it("imports numbers for price and stock, arrays for tags, skips blank lines and lists unknown keys", async () => {
    const t = await createTenant();
    const file = [
      '{"sku":"N-1","name":"Number","price":19.99,"stock":5,"tags":["summer","cotton"],"colour":"red"}',
      "",
      '{"SKU":"N-2","Name":"Text","price":"7","currency":"JPY","stock":"0","size":"L"}',
      "   ",
      '{"sku":"N-3","name":"Null tags","price":0.5,"tags":null,"description":null}',
    ].join("\n");
    const job = await ndjsonJob(t.key, `${BOM}${file}\n`);
    expect(job).toMatchObject({ status: "completed", total_rows: 3, processed_rows: 3, created: 3, error_count: 0 });
    expect([...job.ignored_columns].sort()).toEqual(["colour", "size"]);
    expect((await products(t.key)).map((p) => [p.sku, p.name, p.price, p.currency, p.stock, p.tags])).toEqual([
      ["N-1", "Number", "19.99", "USD", 5, ["summer", "cotton"]],
      ["N-2", "Text", "7", "JPY", 0, []],
      ["N-3", "Null tags", "0.50", "USD", 0, []],
    ]);
  });

  it("rejects an object that gives a field twice, and lists an unknown key once whatever its case", async () => {
    const t = await createTenant();
    const file = [
      '{"sku":"D-1","SKU":"D-2","name":"Twice","price":1}',
      '{"sku":"D-3","name":"Once","price":1,"Colour":"red"}',
      '{"sku":"D-4","name":"Once","price":1,"colour":"blue"}',
    ].join("\n");
    const job = await ndjsonJob(t.key, `${file}\n`);
    expect(job).toMatchObject({ status: "completed", processed_rows: 3, created: 2, rejected_rows: 1, error_count: 1 });
    expect(job.ignored_columns).toEqual(["Colour"]);
    expect(await rowErrors(t.key, job.id)).toEqual([
      { line: 1, column: "sku", code: "duplicate_field", message: 'The field "sku" is given twice in this object (as "sku" and "SKU"); give it once.', value: "D-2", severity: "error" },
    ]);
  });

  it("rejects an object that gives a field twice under the same name, which JSON.parse would keep the last of", async () => {
    const t = await createTenant();
    await ndjsonJob(t.key, '{"sku":"DL-2","name":"Lamp","price":"9.99"}\n');
    const file = [
      '{"sku":"DL-2","price":"9.99","price":"0.01"}', // the line: the last price silently won
      '{"sku":"DL-3","name":"Say \\"price\\": 1","price":"1","colour":"red","colour":"blue"}', // a name in a string; an ignored key twice
      '{"sku":"DL-4","name":"Escaped","pr\\u0069ce":"1","price":"2"}', // one name, spelled with an escape
      '{"sku":"DL-5","name":"Nested","price":"1","extra":{"a":1,"a":2},"more":[{"b":1,"b":2}]}', // repeats in values that are no field
    ].join("\n");
    const job = await ndjsonJob(t.key, `${file}\n`);
    expect(job).toMatchObject({ status: "completed", processed_rows: 4, created: 2, rejected_rows: 2, error_count: 2, ignored_columns: ["colour", "extra", "more"] });
    expect(await rowErrors(t.key, job.id)).toEqual([
      { line: 1, column: "price", code: "duplicate_field", message: 'The field "price" is given twice in this object (as "price" both times); give it once.', value: "0.01", severity: "error" },
      { line: 3, column: "price", code: "duplicate_field", message: 'The field "price" is given twice in this object (as "price" both times); give it once.', value: "2", severity: "error" },
    ]);
    expect((await products(t.key)).map((p) => [p.sku, p.name, p.price])).toEqual([
      ["DL-2", "Lamp", "9.99"],
      ["DL-3", 'Say "price": 1', "1.00"],
      ["DL-5", "Nested", "1.00"],
    ]);
  });

  it("rejects a field given twice through a mapping, and finds a repeat among as many keys as a line may hold", async () => {
    const t = await createTenant();
    const mapped = await importFile(t.key, '{"Item":"M-1","Title":"Mug","Net":"1","Net":"2"}\n', {
      type: "application/x-ndjson",
      query: `mapping=${encodeURIComponent('{"Item":"sku","Title":"name","Net":"price"}')}`,
    });
    expect(await rowErrors(t.key, mapped.id)).toEqual([
      { line: 1, column: "price", code: "duplicate_field", message: 'The field "price" is given twice in this object (as "Net" both times); give it once.', value: "2", severity: "error" },
    ]);
    // Every key is looked at once, however many the object has (as many as a line may hold: each name has a value).
    const keys = Array.from({ length: MAX_LINE_VALUES / 2 - 10 }, (_, i) => `"k${i}":0`).join(",");
    const wide = await ndjsonJob(t.key, `{"sku":"W-1","name":"Wide","price":"1",${keys},"price":"2"}\n`);
    expect(wide).toMatchObject({ status: "completed", rejected_rows: 1 });
    expect((await rowErrors(t.key, wide.id)).map((e) => [e.column, e.code])).toEqual([["price", "duplicate_field"]]);
  });

  it("reports a non-object line and an invalid JSON line as row errors on the right line", async () => {
    const t = await createTenant();
    const file = [
      '{"sku":"N-1","name":"One","price":1}', //  1
      "", //                                      2
      "[1,2,3]", //                               3
      '{"sku":"N-2","name":"Two","price":2', //  4 (unterminated object)
      '"just a string"', //                       5
      "null", //                                  6
      '{"sku":"N-3","name":"Three","price":[3]}', // 7
      '{"sku":"N-4","name":"Four","price":4}', // 8
    ].join("\r\n");
    const job = await ndjsonJob(t.key, file);
    expect(job).toMatchObject({ status: "completed", processed_rows: 7, created: 2, rejected_rows: 5 });
    const errors = await rowErrors(t.key, job.id);
    expect(errors.map((e) => [e.line, e.column, e.code])).toEqual([
      [3, null, "not_an_object"],
      [4, null, "invalid_json"],
      [5, null, "not_an_object"],
      [6, null, "not_an_object"],
      [7, "price", "invalid_type"],
    ]);
    expect(errors[1]!.value).toBe('{"sku":"N-2","name":"Two","price":2');
  });

  it("fails a file with no object at all (only a BOM and blank lines): empty, nothing imported", async () => {
    const t = await createTenant();
    const job = await ndjsonJob(t.key, `${BOM}\n\r\n  \n`);
    expectFailed(job, /empty/i);
  });

  it("fails on bytes that are not UTF-8 in a UTF-8 file, naming the line", async () => {
    const t = await createTenant();
    const job = await ndjsonJob(t.key, new Uint8Array([...utf8('{"sku":"N-1","name":"Oné","price":1}\n{"sku":"N-2","name":"'), 0xff, ...utf8('","price":2}\n')]));
    expect(job.status).toBe("failed");
    expect(job.failure_reason).toMatch(/line 2\b.*UTF-8/i);
    expect(job.processed_rows).toBe(1);
  });
});

describe("unchanged rows and repeated SKUs", () => {
  const CATALOG = "sku,name,price,stock,tags,description\nU-1,One,1.00,1,a,\nU-2,Two,2.00,2,\"b,c\",Two\nU-3,Three,3.00,3,,\n";

  it("re-importing an identical catalog counts every row unchanged and writes no product", async () => {
    const t = await createTenant();
    const first = await csvJob(t.key, CATALOG);
    expect(first).toMatchObject({ status: "completed", created: 3 });
    const before = await productRecords(t.tenantId);

    const jobId = await createQueuedJob(t.tenantId, CATALOG);
    const log = vi.spyOn(console, "log");
    try {
      await runJob(consumerEnv(), jobId);
      const slice = log.mock.calls.map((c) => String(c[0])).find((line) => line.includes('"import slice"') && line.includes(jobId));
      expect(JSON.parse(slice!)).toMatchObject({ rows: 3, products_written: 0, outcome: "finished" });
    } finally {
      log.mockRestore();
    }
    expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 3, created: 0, updated: 0, unchanged: 3 });
    expect(await productRecords(t.tenantId)).toEqual(before);

    // The same through the API: a third identical upload.
    const third = await csvJob(t.key, CATALOG);
    expect(third).toMatchObject({ status: "completed", created: 0, updated: 0, unchanged: 3 });
    expect(await productRecords(t.tenantId)).toEqual(before);
  });

  it("rewrites only the rows that changed", async () => {
    const t = await createTenant();
    await csvJob(t.key, CATALOG);
    const before = await productRecords(t.tenantId);
    const job = await csvJob(t.key, CATALOG.replace("U-2,Two,2.00", "U-2,Two,2.50").replace("U-3,Three", "u-3,Three"));
    expect(job).toMatchObject({ status: "completed", created: 0, updated: 2, unchanged: 1 });
    const after = await productRecords(t.tenantId);
    expect(after[0]).toEqual(before[0]);
    expect(after[1]).toMatchObject({ sku: "U-2", price_minor: 250, created_at: before[1]!.created_at });
    expect(after[1]!.updated_at).toBeGreaterThan(before[1]!.updated_at);
    expect(after[2]).toMatchObject({ sku: "u-3", created_at: before[2]!.created_at });
  });

  it("lets a later row for the same SKU win, counting each row as what it did", async () => {
    const t = await createTenant();
    const job = await csvJob(t.key, "sku,name,price\nABC-1,First,1\nabc-1,Second,2\nABC-2,Same,5\nABC-2,Same,5\nabc-1,Second,2\n");
    expect(job).toMatchObject({ status: "completed", processed_rows: 5, created: 2, updated: 1, unchanged: 2 });
    expect((await products(t.key)).map((p) => [p.sku, p.name, p.price])).toEqual([
      ["abc-1", "Second", "2.00"],
      ["ABC-2", "Same", "5.00"],
    ]);
  });

  it("counts created and updated exactly when other tenants' products hold the largest rowids, also after a delete", async () => {
    // The batch tells inserts from updates by the growth of the products table's largest rowid (src/imports/write.ts).
    const a = await createTenant();
    const b = await createTenant();
    await csvJob(a.key, "sku,name,price\nR-1,One,1\nR-2,Two,2\n");
    await csvJob(b.key, "sku,name,price\nR-1,Other,1\nR-9,Other,9\n");
    // A product at the top of the rowid range disappears, so the next insert reuses its rowid.
    await env.DB.prepare("DELETE FROM products WHERE rowid = (SELECT max(rowid) FROM products)").run();
    const job = await csvJob(a.key, "sku,name,price\nR-1,One,1\nR-2,Two (new),2\nR-3,Three,3\nR-4,Four,4\nr-4,Four,4.5\n");
    expect(job).toMatchObject({ status: "completed", processed_rows: 5, created: 2, updated: 2, unchanged: 1 });
    const again = await csvJob(b.key, "sku,name,price\nR-1,Other,1\nR-9,Other,9\n");
    expect(again).toMatchObject({ created: 1, updated: 0, unchanged: 1 });
  });

  it("counts repeated SKUs the same way when they fall into different chunks and slices", async () => {
    const file = "sku,name,price\nABC-1,First,1\nX-1,x,1\nabc-1,Second,2\nX-2,x,1\nABC-2,Same,5\nX-3,x,1\nABC-2,Same,5\nabc-1,Second,2\n";
    const reference = await createTenant();
    const single = await importDirect(reference.tenantId, file);
    expect(single.snapshot.counters).toMatchObject({ created: 5, updated: 1, unchanged: 2 });
    const t = await createTenant();
    const chunked = await importDirect(t.tenantId, file, { vars: { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" } });
    expect(chunked.delivered.length).toBeGreaterThan(1);
    expect(chunked.snapshot.counters).toEqual(single.snapshot.counters);
    expect(chunked.snapshot.products).toEqual(single.snapshot.products);
  });
});

describe("dry run", () => {
  const CATALOG = "sku,name,price\nD-1,One,1\nD-2,Two,2\n";

  it("writes no product but counts what would be created, updated and unchanged, and reports every error", async () => {
    const t = await createTenant();
    await csvJob(t.key, CATALOG);
    const before = await productRecords(t.tenantId);
    const job = await csvJob(t.key, "sku,name,price\nD-1,One,1\nD-2,Two (new),2\nD-3,Three,3\nD-4,,x\nD-5,Five\n", "dry_run=true");
    expect(job).toMatchObject({ status: "completed", dry_run: true, total_rows: 5, processed_rows: 5, created: 1, updated: 1, unchanged: 1, rejected_rows: 2, error_count: 3 });
    expect((await rowErrors(t.key, job.id)).map((e) => [e.line, e.column, e.code])).toEqual([
      [5, "name", "required"],
      [5, "price", "invalid_price"],
      [6, null, "ragged_row"],
    ]);
    expect(await productRecords(t.tenantId)).toEqual(before);
  });

  it("counts exactly what a real import would, also when a SKU repeats across chunks", async () => {
    const file = "sku,name,price\nR-1,One,1\nR-2,Two,2\nr-1,One,1\nR-3,Three,3\nR-2,Two,2.5\nR-1,One,1\nR-1,One,1\n";
    const real = await createTenant();
    const actual = await importDirect(real.tenantId, file, { vars: { IMPORT_CHUNK_ROWS: "2" } });
    expect(actual.snapshot.counters).toMatchObject({ created: 3, updated: 3, unchanged: 1 });

    const t = await createTenant();
    const dry = await importDirect(t.tenantId, file, { dryRun: true, vars: { IMPORT_CHUNK_ROWS: "2" } });
    expect(dry.snapshot.counters).toEqual(actual.snapshot.counters);
    expect(await productRecords(t.tenantId)).toEqual([]);
    expect(await storedErrors(dry.jobId)).toEqual([]);
  });
});
