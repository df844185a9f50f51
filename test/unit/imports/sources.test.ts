// The row sources driven as the slice drives them: pieces pushed, rows taken, state committed and resumed from.
import { describe, expect, it } from "vitest";
import type { Charset } from "../../../src/model/charsets.ts";
import type { ResumeState, RowSource, SourceOptions, SourceStateChange } from "../../../src/imports/sources/contract.ts";
import type { RowOutcome } from "../../../src/imports/sources/rows.ts";
import { openRowSource } from "../../../src/imports/sources/open.ts";
import { UnreadableSourceState } from "../../../src/imports/sources/state.ts";
import type { ImportFormat } from "../../../src/model/formats.ts";
import { asCurrentShopify, exportFile, SHOPIFY_CLASSIC_HEADER, SHOPIFY_CURRENT_HEADER, SHOPIFY_ROWS, WOO_ROWS, WOO_SAMPLE_HEADER } from "../../preset-exports.ts";
import { bytesOf, splitAt, utf16Bytes, windows1252Bytes } from "./parser-helpers.ts";

/** A job's file format and where its source resumes. */
interface SourceJob {
  format: ImportFormat;
  resume: ResumeState;
}

/** A job as it stands at its start. */
function jobAtStart(format: ImportFormat): SourceJob {
  return {
    format,
    resume: { position: { byte: 0, line: 1 }, rowsBefore: 0, sourceState: null, encoding: null, ignoredColumns: { names: [], omittedKeys: [] } },
  };
}

/** The job after committing what `source` took so far, as the commit stores it. */
function committed(job: SourceJob, source: RowSource, rows: number, change: SourceStateChange): SourceJob {
  const { resume } = job;
  return {
    format: job.format,
    resume: {
      position: source.position,
      rowsBefore: resume.rowsBefore + rows,
      sourceState: change.sourceState ?? resume.sourceState,
      encoding: change.encoding ?? resume.encoding,
      ignoredColumns: change.ignoredColumns ?? resume.ignoredColumns,
    },
  };
}

/** Rows of `bytes` from the job's checkpoint on; stops after `limit` rows (the slice's hand-over). */
function rowsOf(job: SourceJob, bytes: Uint8Array, pieces: number[], limit = Infinity, options: Partial<SourceOptions> = {}): { source: RowSource; rows: RowOutcome[] } {
  const source = openRowSource(job.format, job.resume, { currency: "USD", delimiter: null, charset: null, mapping: null, preset: null, detectPreset: true, ...options });
  const rows: RowOutcome[] = [];
  const feed = (): boolean => {
    for (let row = source.next(); row; row = source.next()) {
      rows.push(row);
      if (rows.length >= limit) return false;
    }
    return true;
  };
  // As the slice does, the first bytes are gathered until the source can start from them.
  let head: Uint8Array | null = new Uint8Array(0);
  for (const piece of splitAt(bytes.subarray(job.resume.position.byte), pieces)) {
    if (head) {
      head = bytesOf(head, piece);
      if (!source.canStart(head)) continue;
    }
    source.push(head ?? piece);
    head = null;
    if (!feed()) return { source, rows };
  }
  if (head) {
    source.push(head);
    if (!feed()) return { source, rows };
  }
  while (source.finish()) if (!feed()) break;
  return { source, rows };
}

const summary = (rows: RowOutcome[]) =>
  rows.map((r) => (r.ok ? { line: r.line, sku: r.product.sku, name: r.product.name } : r.skipped ? { line: r.line, skipped: true } : { line: r.line, codes: r.errors.map((e) => e.code) }));

const files = [
  ["csv", 'sku;name;price;colour\n\nA-1;Oné;1;red\n"A-2";"Two\nlines €";2;blue\nA-3;Three\nA-4;Four “4”;4;x\n'],
  ["ndjson", '{"sku":"A-1","name":"Oné","price":1}\n\n{"sku":"A-2","name":"Two €","price":"2","colour":1}\nnot json\n{"SKU":"A-4","Name":"Four “4”","price":4,"weight":2}\n'],
] as const;

const encodings: readonly (readonly [string, (text: string) => Uint8Array, Charset | null, string])[] = [
  ["UTF-8", (text) => bytesOf(text), null, "utf-8"],
  ["UTF-16LE with a byte order mark", (text) => utf16Bytes(text, "le", true), null, "utf-16le"],
  ["UTF-16BE with a byte order mark", (text) => utf16Bytes(text, "be", true), null, "utf-16be"],
  ["UTF-16BE declared, without a byte order mark", (text) => utf16Bytes(text, "be", false), "utf-16be", "utf-16be"],
  ["Windows-1252, detected", windows1252Bytes, null, "windows-1252"],
  ["Windows-1252, declared as ISO-8859-1", windows1252Bytes, "iso-8859-1", "windows-1252"],
];

describe.each(files.flatMap(([format, text]) => encodings.map(([label, encode, charset, encoding]) => [format, label, encode(text), charset, encoding] as const)))(
  "the %s row source, %s",
  (format, _label, bytes, charset, encoding) => {
    const whole = rowsOf(jobAtStart(format), bytes, [], Infinity, { charset });

    it("gives the same rows whatever pieces the bytes arrive in", () => {
      expect(whole.rows).toHaveLength(4);
      expect(summary(whole.rows).filter((r) => "name" in r).map((r) => r.name)).toEqual(format === "csv" ? ["Oné", "Two\nlines €", "Four “4”"] : ["Oné", "Two €", "Four “4”"]);
      for (let i = 0; i <= bytes.length; i++) {
        expect(summary(rowsOf(jobAtStart(format), bytes, [i], Infinity, { charset }).rows), `split at ${i}`).toEqual(summary(whole.rows));
      }
    });

    it("resumes after any row from what it committed: the rest of the rows, the same ignored columns, the encoding decided at the start", () => {
      for (let k = 1; k <= whole.rows.length; k++) {
        const first = rowsOf(jobAtStart(format), bytes, [], k, { charset });
        const change = first.source.takeStateChange();
        expect(change.encoding).toBe(encoding);
        const job = committed(jobAtStart(format), first.source, k, change);
        // The continuation starts mid-file, where there is no byte order mark to tell UTF-16 by: it reads on in the job's encoding.
        const rest = rowsOf(job, bytes, [], Infinity, { charset });
        expect(summary([...first.rows, ...rest.rows]), `after row ${k}`).toEqual(summary(whole.rows));
        const endChange = rest.source.takeStateChange();
        expect(endChange.encoding).toBeUndefined();
        const end = committed(job, rest.source, rest.rows.length, endChange);
        expect(end.resume.ignoredColumns.names).toEqual(format === "csv" ? ["colour"] : ["colour", "weight"]);
        expect(end.resume.position.byte).toBe(bytes.length);
      }
    });
  },
);

describe("the csv row source: spreadsheet quirks", () => {
  const csvRows = (text: string | Uint8Array, options: Partial<SourceOptions> = {}) => {
    const bytes = typeof text === "string" ? bytesOf(text) : text;
    const whole = rowsOf(jobAtStart("csv"), bytes, [], Infinity, options);
    for (let i = 0; i <= bytes.length; i++) expect(summary(rowsOf(jobAtStart("csv"), bytes, [i], Infinity, options).rows), `split at ${i}`).toEqual(summary(whole.rows));
    return whole;
  };
  const oneRow = [{ line: 3, sku: "A-1", name: "One, two" }];

  it("takes an Excel sep= first line as the delimiter, not as the header", () => {
    for (const sep of ["sep=;", '"sep=;"', "SEP=;"]) {
      const { source, rows } = csvRows(`${sep}\r\nsku;name;price\r\nA-1;One, two;1.5\r\n`);
      expect(summary(rows), sep).toEqual(oneRow);
      expect(JSON.parse(source.takeStateChange().sourceState ?? "null"), sep).toMatchObject({ delimiter: ";" });
    }
    expect(summary(csvRows("sep=,\nsku,name,price\nA-1,\"One, two\",1.5\n").rows)).toEqual(oneRow);
    expect(summary(csvRows("sep=\t\nsku\tname\tprice\nA-1\tOne, two\t1.5\n").rows)).toEqual(oneRow);
    // After a byte order mark, in UTF-16 too.
    expect(summary(csvRows("\uFEFFsep=;\nsku;name;price\nA-1;One, two;1.5\n").rows)).toEqual(oneRow);
    expect(summary(csvRows(utf16Bytes("sep=;\nsku;name;price\nA-1;One, two;1.5\n", "le", true)).rows)).toEqual(oneRow);
    // The delimiter the request names wins over the sep line, which is still no header.
    expect(summary(csvRows("sep=;\nsku,name,price\nA-1,\"One, two\",1.5\n", { delimiter: "," }).rows)).toEqual(oneRow);
  });

  it("skips rows whose every cell is blank (Excel's ,,,,), whatever their width, and a last line of spaces, as skipped rows", () => {
    const { rows } = csvRows("sku,name,price\nA-1,One,1\n,,\n,,,,,,\n , \t,\nA-2,Two,2\n\n,\n   ");
    expect(summary(rows)).toEqual([
      { line: 2, sku: "A-1", name: "One" },
      { line: 3, skipped: true },
      { line: 4, skipped: true },
      { line: 5, skipped: true },
      { line: 6, sku: "A-2", name: "Two" },
      { line: 8, skipped: true },
      { line: 9, skipped: true },
    ]);
    // A row with one cell that is not blank is a row: ragged here.
    expect(summary(csvRows("sku,name,price\n,,x,\n").rows)).toEqual([{ line: 2, codes: ["ragged_row"] }]);
  });
});

describe("the csv row source's own state", () => {
  const file = bytesOf("sku;name;price;colour\nA-1;One;1;red\nA-2;Two;2;blue\n");
  const afterFirstRow = () => {
    const first = rowsOf(jobAtStart("csv"), file, [], 1);
    return committed(jobAtStart("csv"), first.source, 1, first.source.takeStateChange());
  };

  it("is one JSON value with the header's columns, the delimiter and the preset, committed with the header", () => {
    const job = afterFirstRow();
    expect(JSON.parse(job.resume.sourceState ?? "null")).toEqual({ columns: ["sku", "name", "price", null], delimiter: ";", preset: null, carried: null });
    expect(summary(rowsOf(job, file, []).rows)).toEqual([{ line: 3, sku: "A-2", name: "Two" }]);
  });

  it("is refused when it does not read back as the source wrote it", () => {
    const job = afterFirstRow();
    const state = JSON.parse(job.resume.sourceState ?? "null") as Record<string, unknown>;
    const broken = [
      "{not json",
      "null",
      JSON.stringify({ ...state, delimiter: "|" }),
      JSON.stringify({ ...state, columns: "sku" }),
      JSON.stringify({ ...state, columns: ["sku", "colour"] }),
      JSON.stringify({ ...state, preset: "amazon" }),
      JSON.stringify({ ...state, carried: { handle: "h" } }),
      JSON.stringify({ ...state, preset: "shopify", carried: { handle: "h" } }),
    ];
    for (const sourceState of broken) {
      expect(() => rowsOf({ ...job, resume: { ...job.resume, sourceState } }, file, []), sourceState).toThrow(UnreadableSourceState);
    }
  });
});

describe.each([
  ["Shopify classic", "shopify", exportFile(SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS)],
  ["Shopify current", "shopify", exportFile(SHOPIFY_CURRENT_HEADER, asCurrentShopify(SHOPIFY_ROWS))],
  ["WooCommerce", "woocommerce", exportFile(WOO_SAMPLE_HEADER, WOO_ROWS)],
] as const)("the CSV row source with a %s export", (_, preset, text) => {
  const bytes = bytesOf(text);
  const whole = rowsOf(jobAtStart("csv"), bytes, []);
  const outcomes = (rows: RowOutcome[]) => rows.map((r) => (r.ok ? { line: r.line, product: r.product } : r));

  it("recognises the export by its header and commits the preset with the header", () => {
    const first = rowsOf(jobAtStart("csv"), bytes, [], 1);
    const change = first.source.takeStateChange();
    expect(change.preset).toBe(preset);
    expect(JSON.parse(change.sourceState ?? "null")).toMatchObject({ preset });
    expect(whole.rows.filter((r) => r.ok).length).toBeGreaterThan(2);
    expect(whole.rows.filter((r) => !r.ok && r.skipped)).toHaveLength(2);
  });

  it("resumes after any row from what it committed, with what it carried: the same rows as in one go", () => {
    for (let k = 1; k < whole.rows.length; k++) {
      const first = rowsOf(jobAtStart("csv"), bytes, [], k);
      const job = committed(jobAtStart("csv"), first.source, k, first.source.takeStateChange());
      const rest = rowsOf(job, bytes, []);
      expect(outcomes([...first.rows, ...rest.rows]), `after row ${k}`).toEqual(outcomes(whole.rows));
    }
  });
});
