// Encodings and spreadsheet quirks, through the API and the queue consumer: UTF-16 with a byte order mark, declared
// charsets, Windows-1252 detected from the first bytes, the job's `encoding`; Excel's sep= line and empty rows.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImportMessage } from "../../src/model/import-message.ts";
import { consumerEnv, createQueuedJob, deliver, importDirect, jobRecord, productContents, productRecords, tricklingUploads } from "../consumer-helpers.ts";
import { createTenant, request } from "../helpers.ts";
import { importFile } from "../imports-helpers.ts";
import { utf16Bytes, windows1252Bytes } from "../unit/imports/parser-helpers.ts";
import { ENCODING_SNIFF_BYTES } from "../../src/imports/read/encoding.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

async function names(key: string): Promise<Record<string, string>> {
  const res = await request("/api/v1/products?limit=200", { key });
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: { sku: string; name: string }[] };
  return Object.fromEntries(data.map((p) => [p.sku, p.name]));
}

const CSV_TEXT = ["sku,name,price", "U-1,Café crème,1", 'U-2,"日本, テスト",2', "U-3,😀🎉 party,3", 'U-4,"two\r\nlines 😀",4'].join("\r\n") + "\r\n";
const NDJSON_TEXT = '{"sku":"U-1","name":"Café crème","price":1}\r\n\r\n{"sku":"U-2","name":"日本, テスト","price":2}\n{"sku":"U-3","name":"😀🎉 party","price":3}\n';
const EXPECTED_NAMES = { "U-1": "Café crème", "U-2": "日本, テスト", "U-3": "😀🎉 party" };

describe("UTF-16 with a byte order mark", () => {
  for (const byteOrder of ["le", "be"] as const) {
    const encoding = `utf-16${byteOrder}`;

    it(`reads a ${encoding} CSV and NDJSON file and says so in the job`, async () => {
      const t = await createTenant();
      const csv = await importFile(t.key, utf16Bytes(CSV_TEXT, byteOrder, true), { type: "text/csv" });
      expect(csv).toMatchObject({ status: "completed", created: 4, total_rows: 4, error_count: 0, encoding, options: { charset: null } });
      expect(await names(t.key)).toEqual({ ...EXPECTED_NAMES, "U-4": "two\r\nlines 😀" });
      const other = await createTenant();
      const ndjson = await importFile(other.key, utf16Bytes(NDJSON_TEXT, byteOrder, true), { type: "application/x-ndjson" });
      expect(ndjson).toMatchObject({ status: "completed", created: 3, total_rows: 3, error_count: 0, encoding });
      expect(await names(other.key)).toEqual(EXPECTED_NAMES);
    });
  }

  it("reads on across read pieces and slices: every checkpoint is a byte offset of the stored file where a record starts", async () => {
    // Rows of one to four bytes per character; pieces of an odd number of bytes cut code units and surrogate pairs.
    const rows = Array.from({ length: 1500 }, (_, i) => `U-${String(i + 1).padStart(4, "0")},"Café 日本 😀 ${i + 1}",${(i % 90) + 1}.50\r\n`);
    const text = `sku,name,price\r\n${rows.join("")}`;
    const reference = await createTenant();
    const undisturbed = await importDirect(reference.tenantId, text);
    for (const byteOrder of ["le", "be"] as const) {
      const bytes = utf16Bytes(text, byteOrder, true);
      expect(bytes.length).toBeGreaterThan(ENCODING_SNIFF_BYTES);
      // Where each data row starts in the stored file: after the 2-byte mark, two bytes per UTF-16 unit.
      const rowStarts = new Set<number>();
      let unit = "sku,name,price\r\n".length;
      for (const row of rows) {
        rowStarts.add(2 + 2 * unit);
        unit += row.length;
      }
      rowStarts.add(bytes.length);

      const t = await createTenant();
      const jobId = await createQueuedJob(t.tenantId, bytes);
      const consumer = consumerEnv({ IMPORT_CHUNK_ROWS: "100", IMPORT_SLICE_ROWS: "500" });
      const trickling = { ...consumer, env: { ...consumer.env, UPLOADS: tricklingUploads(env.UPLOADS, 4099, 0) } };
      const first = await deliver(trickling.env, { jobId, checkpointByte: 0 });
      expect(first.result.explicitAcks).toEqual([first.messageId]);
      // The first slice decided and stored the encoding; the continuations start mid-file, where no mark tells it.
      expect(await jobRecord(jobId)).toMatchObject({ status: "processing", encoding: `utf-16${byteOrder}`, processed_rows: 500 });
      const continuations: ImportMessage[] = [...trickling.sent];
      expect(continuations).toHaveLength(1);
      for (let i = 0; i < continuations.length; i++) {
        if (i >= 10) throw new Error("too many continuations");
        const before = trickling.sent.length;
        const { result, messageId } = await deliver(trickling.env, continuations[i]!);
        expect(result.explicitAcks).toEqual([messageId]);
        continuations.push(...trickling.sent.slice(before));
      }
      // Slices of 500 rows: two continuations, each starting where a row starts in the stored file.
      expect(continuations).toHaveLength(2);
      for (const { checkpointByte } of continuations) expect(rowStarts.has(checkpointByte), `checkpoint ${checkpointByte}`).toBe(true);
      expect(await jobRecord(jobId)).toMatchObject({ status: "completed", processed_rows: 1500, created: 1500, cursor_byte: bytes.length, encoding: `utf-16${byteOrder}` });
      expect(await productContents(t.tenantId)).toEqual(undisturbed.snapshot.products);
    }
  });

  it("fails on a lone surrogate, naming its line; the rows before it are kept", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, utf16Bytes("sku,name,price\nA-1,One,1\nA-2,\uD83D,2\nA-3,Three,3\n", "le", true), { type: "text/csv" });
    expect(job).toMatchObject({ status: "failed", processed_rows: 1, created: 1, encoding: "utf-16le" });
    expect(job.failure_reason).toMatch(/^Line 3 contains bytes that are not valid UTF-16/);
  });
});

describe("declared charsets", () => {
  const latin = () => windows1252Bytes("sku;name;price;description\r\nW-1;Café €5;5;“quoted” – ok\r\nW-2;Crème brûlée;2;x\r\n");

  it("reads charset=windows-1252 and charset=iso-8859-1 (as Windows-1252): € and é are one byte each", async () => {
    for (const [label, charset] of [["windows-1252", "windows-1252"], ["iso-8859-1", "iso-8859-1"], ["latin1", "iso-8859-1"]] as const) {
      const t = await createTenant();
      const job = await importFile(t.key, latin(), { type: `text/csv; charset=${label}` });
      expect(job, label).toMatchObject({ status: "completed", created: 2, encoding: "windows-1252", options: { charset } });
      expect(await names(t.key)).toEqual({ "W-1": "Café €5", "W-2": "Crème brûlée" });
      const product = (await (await request("/api/v1/products/W-1", { key: t.key })).json()) as { description: string };
      expect(product.description).toBe("“quoted” – ok");
    }
  });

  it("reads a Windows-1252 file declared charset=utf-8 in Windows-1252, as without a charset, with a warning naming it", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, latin(), { type: "text/csv; charset=utf-8" });
    expect(job).toMatchObject({ status: "completed", created: 2, encoding: "windows-1252", options: { charset: "utf-8" } });
    expect(job.notes).toEqual([{ code: "charset_mismatch", severity: "warning", message: expect.stringMatching(/^The upload declared charset=utf-8, but the file is not UTF-8: line 2 has the byte 0xE9, .* It was read in windows-1252, where 0xE9 is "é"/) }]);
    expect(await names(t.key)).toEqual({ "W-1": "Café €5", "W-2": "Crème brûlée" });
  });

  it("keeps charset=utf-8 for a file with UTF-8 characters where it starts: a Windows-1252 byte fails on its line", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, concat(utf8("sku,name,price\nU-1,Café,1\nU-2,Caf"), Uint8Array.of(0xe9), utf8(",2\n")), { type: "text/csv; charset=utf-8" });
    expect(job).toMatchObject({ status: "failed", processed_rows: 1, encoding: "utf-8", notes: [] });
    expect(job.failure_reason).toMatch(/^Line 3 contains characters that are not valid UTF-8/);
  });

  it("reads UTF-8 declared charset=windows-1252 as declared (\"Café\" becomes \"CafÃ©\"), with a warning naming the charset", async () => {
    for (const charset of ["windows-1252", "iso-8859-1"] as const) {
      const t = await createTenant();
      const job = await importFile(t.key, utf8("sku,name,price\nU-1,Café,1\n"), { type: `text/csv; charset=${charset}` });
      expect(job, charset).toMatchObject({ status: "completed", created: 1, encoding: "windows-1252", options: { charset } });
      expect(job.notes).toEqual([
        {
          code: "charset_mismatch",
          severity: "warning",
          message:
            `The upload declared charset=${charset}, so the file was read in windows-1252, but its first bytes are UTF-8 text: "é" was read as "Ã©". ` +
            "If the products show such characters, upload the file again with charset=utf-8 (or without a charset).",
        },
      ]);
      expect(await names(t.key)).toEqual({ "U-1": "CafÃ©" });
    }
    // Windows-1252 text (and ASCII) declared so says nothing.
    const quiet = await createTenant();
    expect(await importFile(quiet.key, latin(), { type: "text/csv; charset=windows-1252" })).toMatchObject({ status: "completed", notes: [] });
    expect(await importFile(quiet.key, "sku,name,price\nA-1,Plain,1\n", { type: "text/csv; charset=windows-1252" })).toMatchObject({ status: "completed", notes: [] });
  });

  it("lets a byte order mark decide over the declared charset, saying so", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, utf8("\uFEFFsku,name,price\nB-1,Café,1\n"), { type: "text/csv; charset=windows-1252" });
    expect(job).toMatchObject({ status: "completed", encoding: "utf-8", options: { charset: "windows-1252" } });
    expect(job.notes).toEqual([
      { code: "charset_mismatch", severity: "warning", message: "The upload declared charset=windows-1252, but the file starts with a UTF-8 byte order mark, which decides: it was read in utf-8." },
    ]);
    expect(await names(t.key)).toEqual({ "B-1": "Café" });
  });

  it("keeps a note made at the file's start through every later slice, once", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `F-${i + 1},Crème ${i + 1},1\n`).join("");
    const t = await createTenant();
    const { jobId, delivered, snapshot } = await importDirect(t.tenantId, utf8(`sku,name,price\n${rows}`), {
      charset: "windows-1252",
      vars: { IMPORT_CHUNK_ROWS: "500", IMPORT_SLICE_ROWS: "2000" },
    });
    expect(delivered.length).toBe(3);
    expect(snapshot.counters).toMatchObject({ status: "completed", created: 5000 });
    expect((JSON.parse((await jobRecord(jobId)).notes) as { code: string }[]).map((n) => n.code)).toEqual(["charset_mismatch"]);
  });

  it("reads charset=utf-16 with a byte order mark, refuses it without one, and reads utf-16le / utf-16be declared without one", async () => {
    const t = await createTenant();
    const withMark = await importFile(t.key, utf16Bytes(CSV_TEXT, "be", true), { type: "text/csv; charset=utf-16" });
    expect(withMark).toMatchObject({ status: "completed", created: 4, encoding: "utf-16be" });
    const without = await importFile(t.key, utf16Bytes(CSV_TEXT, "le", false), { type: "text/csv; charset=utf-16" });
    expect(without).toMatchObject({ status: "failed", processed_rows: 0, encoding: null });
    expect(without.failure_reason).toMatch(/^Line 1: The file is declared as UTF-16 \(charset=utf-16\) but has no byte order mark.*declare charset=utf-16le/);
    for (const byteOrder of ["le", "be"] as const) {
      const other = await createTenant();
      const job = await importFile(other.key, utf16Bytes(NDJSON_TEXT, byteOrder, false), { type: `application/x-ndjson; charset=utf-16${byteOrder}` });
      expect(job).toMatchObject({ status: "completed", created: 3, encoding: `utf-16${byteOrder}` });
      expect(await names(other.key)).toEqual(EXPECTED_NAMES);
    }
  });
});

describe("Windows-1252 detected without a charset", () => {
  it("reads an Excel CSV saved in Windows-1252 whole, from its accented header on", async () => {
    const t = await createTenant();
    const file = windows1252Bytes("sku;name;price;Catégorie\r\nX-1;Bière blonde;2.50;x\r\nX-2;Pâté;3;x\r\nX-3;Glühwein €;4;x\r\n");
    const job = await importFile(t.key, file, { type: "text/csv" });
    expect(job).toMatchObject({ status: "completed", created: 3, rejected_rows: 0, encoding: "windows-1252", ignored_columns: ["Catégorie"] });
    expect(await names(t.key)).toEqual({ "X-1": "Bière blonde", "X-2": "Pâté", "X-3": "Glühwein €" });
    const ndjson = await createTenant();
    const lines = await importFile(ndjson.key, windows1252Bytes('{"sku":"X-1","name":"Pâté","price":3}\n'), { type: "application/x-ndjson" });
    expect(lines).toMatchObject({ status: "completed", created: 1, encoding: "windows-1252" });
  });

  it("reads a file that is UTF-8 in its first 64 KiB as UTF-8: a Windows-1252 byte after them fails naming its line, keeping the rows before", async () => {
    const t = await createTenant();
    const rows = Array.from({ length: 4000 }, (_, i) => `A-${i + 1},Crème ${i + 1},1\n`).join("");
    const head = utf8(`sku,name,price\n${rows}`);
    expect(head.length).toBeGreaterThan(ENCODING_SNIFF_BYTES);
    const job = await importFile(t.key, concat(head, utf8("B-1,Caf"), Uint8Array.of(0xe9), utf8(",2\nB-2,Two,2\n")), { type: "text/csv" });
    expect(job).toMatchObject({ status: "failed", processed_rows: 4000, created: 4000, encoding: "utf-8" });
    expect(job.failure_reason).toMatch(/^Line 4002 contains characters that are not valid UTF-8/);
  });

  it("reads every slice in the encoding decided at the start, never sniffing again mid-file", async () => {
    // The file starts in Windows-1252; far into it come the bytes C3 A9, which UTF-8 would read as é. A continuation
    // that sniffed them would change encodings mid-file; the file is Windows-1252 throughout, so they are Ã©.
    const filler = Array.from({ length: 5000 }, (_, i) => `F-${i + 1},Filler ${i + 1},1\n`).join("");
    const start = windows1252Bytes(`sku,name,price\nW-1,Café,1\n${filler}`);
    expect(start.length).toBeGreaterThan(ENCODING_SNIFF_BYTES);
    const file = concat(start, utf8("W-2,Café,2\n"));
    const t = await createTenant();
    // The second slice starts within the sniffed size of the end, where the UTF-8 bytes are.
    const { delivered, snapshot } = await importDirect(t.tenantId, file, { vars: { IMPORT_CHUNK_ROWS: "500", IMPORT_SLICE_ROWS: "2500" } });
    expect(delivered.length).toBe(3);
    expect(file.length - delivered[1]!.checkpointByte).toBeLessThan(ENCODING_SNIFF_BYTES);
    expect(snapshot.counters).toMatchObject({ status: "completed", created: 5002 });
    expect((await jobRecord(snapshot.jobId)).encoding).toBe("windows-1252");
    const byName = Object.fromEntries((await productRecords(t.tenantId)).filter((p) => p.sku.startsWith("W")).map((p) => [p.sku, p.name]));
    expect(byName).toEqual({ "W-1": "Café", "W-2": "CafÃ©" });
  });
});

describe("Excel quirks", () => {
  it("takes a sep= first line as the delimiter, not as the header (quoted or not, after a byte order mark, in UTF-16)", async () => {
    const t = await createTenant();
    for (const file of [
      utf8("sep=;\r\nsku;name;price\r\nS-1;One, two;1.5\r\n"),
      utf8('\uFEFF"sep=,"\r\nsku,name,price\r\nS-1,"One, two",1.5\r\n'),
      utf8("sep=\t\nsku\tname\tprice\nS-1\tOne, two\t1.5\n"),
      utf16Bytes("sep=;\r\nsku;name;price\r\nS-1;One, two;1.5\r\n", "le", true),
    ]) {
      const job = await importFile(t.key, file, { type: "text/csv" });
      expect(job).toMatchObject({ status: "completed", total_rows: 1, processed_rows: 1, error_count: 0, ignored_columns: [] });
    }
    expect(await names(t.key)).toEqual({ "S-1": "One, two" });
  });

  it("skips rows whose every cell is empty (Excel's ,,,,) and a last line of spaces, counting them in skipped_rows", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price\r\nE-1,One,1\r\n,,\r\n,,,,,,\r\nE-2,Two,2\r\n , ,\r\n   ", { type: "text/csv" });
    expect(job).toMatchObject({
      status: "completed",
      total_rows: 6,
      processed_rows: 6,
      created: 2,
      rejected_rows: 0,
      skipped_rows: 4,
      error_count: 0,
    });
  });

  it("counts skipped rows exactly across chunks and slices, also in a dry run", async () => {
    const text = `sku,name,price\n${Array.from({ length: 9 }, (_, i) => (i % 3 === 1 ? ",,\n" : `K-${i},Row ${i},1\n`)).join("")},,,,\n`;
    const whole = await importDirect((await createTenant()).tenantId, text);
    const sliced = await importDirect((await createTenant()).tenantId, text, { vars: { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" } });
    const dry = await importDirect((await createTenant()).tenantId, text, { dryRun: true, vars: { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" } });
    expect(sliced.delivered.length).toBeGreaterThan(1);
    for (const run of [whole, sliced, dry]) {
      expect(run.snapshot.counters).toMatchObject({ status: "completed", total_rows: 10, processed_rows: 10, created: 6, skipped_rows: 4, rejected_rows: 0, error_count: 0 });
    }
  });
});
