import { describe, it, expect } from "vitest";
import { MAX_LINE_VALUES, NdjsonParser, type NdjsonParserOptions, type NdjsonRecord } from "../../../src/imports/read/ndjson.ts";
import { bytesOf, parserHelpers, positions, splitAt, summarize, utf16Bytes, windows1252Bytes } from "./parser-helpers.ts";

const { parseChunks, parseSync, expectAllSplits, expectResumesAfterEveryRecord } = parserHelpers<NdjsonRecord, NdjsonParserOptions>({
  create: (options) => new NdjsonParser(options),
});

describe("NdjsonParser", () => {
  it("parses one object per line with LF and CRLF endings, skipping blank lines but counting them", async () => {
    const pieces = ['{"sku":"A1","price":9.5}\n', '{"sku":"A2","tags":["x"]}\r\n', "\n", "  \t\r\n", '{"sku":"A3"}'];
    const at = positions(pieces);
    const { records, error } = await expectAllSplits(bytesOf(pieces.join("")));
    expect(error).toBeNull();
    expect(records).toEqual([
      { value: { sku: "A1", price: 9.5 }, line: 1, nextLine: 2, ...at[0] },
      { value: { sku: "A2", tags: ["x"] }, line: 2, nextLine: 3, ...at[1] },
      { value: { sku: "A3" }, line: 5, nextLine: 5, ...at[4] },
    ]);
    expect(records[1]).toMatchObject({ start: 25, end: 52 });
  });

  it("yields invalid JSON and non-object lines as row errors with the raw line", async () => {
    const pieces = ['{"sku":1}\n', "{nope\r\n", "[1,2]\n", "null\n", '"text"\n', "42\n", "true\n", '{"sku":2}\n'];
    const at = positions(pieces);
    const { records, error } = await expectAllSplits(bytesOf(pieces.join("")));
    expect(error).toBeNull();
    expect(records.map((r) => [r.line, r.value, r.error?.code, r.raw])).toEqual([
      [1, { sku: 1 }, undefined, undefined],
      [2, undefined, "invalid_json", "{nope"],
      [3, undefined, "not_an_object", "[1,2]"],
      [4, undefined, "not_an_object", "null"],
      [5, undefined, "not_an_object", '"text"'],
      [6, undefined, "not_an_object", "42"],
      [7, undefined, "not_an_object", "true"],
      [8, { sku: 2 }, undefined, undefined],
    ]);
    expect(records[1]).toMatchObject({ start: at[1]!.start, end: at[1]!.end });
    expect(records[1]!.error!.message).toMatch(/^This line is not valid JSON/);
    expect(records[2]!.error!.message).toContain("an array");
    expect(records[3]!.error!.message).toContain("null");
  });

  it("refuses a line of more than MAX_LINE_VALUES values (names, values, list items, nested ones too) before parsing it", () => {
    // Each line holds exactly `n` values: the object, its names and values, the list and its items.
    const names = (n: number) => `{${Array.from({ length: (n - 1) / 2 }, (_, i) => `"k${i}": ${i}`).join(", ")}}`;
    const nested = (n: number) => `{"sku": "A", "x": [${Array(n - 5).fill("{}").join(",")}]}`;
    const strings = (n: number) => `{"sku": "A", "x": [${Array(n - 5).fill('"a,b:[{"').join(" ,\t")}]}`;
    const lines = [names(MAX_LINE_VALUES - 1), names(MAX_LINE_VALUES + 1), nested(MAX_LINE_VALUES), nested(MAX_LINE_VALUES + 1), strings(MAX_LINE_VALUES), strings(MAX_LINE_VALUES + 1)];
    const { records, error } = parseSync([bytesOf(`${lines.join("\n")}\n`)]);
    expect(error).toBeNull();
    expect(records.map((r) => r.error?.code)).toEqual([undefined, "too_many_values", undefined, "too_many_values", undefined, "too_many_values"]);
    expect(records[1]!.error!.message).toBe(
      "This line holds more than 10,000 values (names, values and list items, nested ones included); a product needs a few dozen.",
    );
    expect(records[1]!.raw).toBe(lines[1]);
  });

  it("decodes non-ASCII text whatever the chunk boundaries and strips a BOM", async () => {
    const bytes = bytesOf([0xef, 0xbb, 0xbf], '{"name":"Café"}\n{"name":"日本語 😀"}\n');
    const { records, error } = await expectAllSplits(bytes);
    expect(error).toBeNull();
    expect(records).toEqual([
      { value: { name: "Café" }, line: 1, start: 3, end: 20, nextLine: 2 },
      { value: { name: "日本語 😀" }, line: 2, start: 20, end: 46, nextLine: 3 },
    ]);
  });

  it("returns nothing for an empty file, a BOM-only file and blank lines only", async () => {
    expect(await parseChunks([])).toEqual({ records: [], error: null });
    expect(await expectAllSplits(bytesOf([0xef, 0xbb, 0xbf]))).toEqual({ records: [], error: null });
    expect(await expectAllSplits(bytesOf("\n \r\n\t\n"))).toEqual({ records: [], error: null });
  });

  it("reads UTF-16LE and UTF-16BE after their byte order mark whatever the chunk boundaries, with the file's byte offsets", async () => {
    const lines = ['{"name":"Café"}\r\n', "\r\n", '{"name":"日本 😀"}\n', '{"name":"x"}'];
    for (const byteOrder of ["le", "be"] as const) {
      const encoding = `utf-16${byteOrder}` as const;
      const bytes = utf16Bytes(lines.join(""), byteOrder, true);
      const { records, error } = await expectAllSplits(bytes, { encoding }, false);
      expect(error).toBeNull();
      const ends = lines.map((_, i) => 2 + 2 * lines.slice(0, i + 1).join("").length);
      expect(records).toEqual([
        { value: { name: "Café" }, line: 1, start: 2, end: ends[0], nextLine: 2 },
        { value: { name: "日本 😀" }, line: 3, start: ends[1], end: ends[2], nextLine: 4 },
        { value: { name: "x" }, line: 4, start: ends[2], end: bytes.length, nextLine: 4 },
      ]);
      await expectResumesAfterEveryRecord(bytes, { encoding });
    }
  });

  it("reads Windows-1252 byte for byte", async () => {
    const first = '{"name":"Café €"}\n';
    const bytes = windows1252Bytes(`${first}{"name":"“x”"}\n`);
    const { records, error } = await expectAllSplits(bytes, { encoding: "windows-1252" });
    expect(error).toBeNull();
    expect(records).toEqual([
      { value: { name: "Café €" }, line: 1, start: 0, end: first.length, nextLine: 2 },
      { value: { name: "“x”" }, line: 2, start: first.length, end: bytes.length, nextLine: 3 },
    ]);
  });

  it("resumes from any record's end offset with the remaining records and lines", async () => {
    const full = await expectResumesAfterEveryRecord(bytesOf('\uFEFF{"a":1}\r\n\r\n{"b":"é"}\nbad\n{"c":3}'));
    expect(full.map((r) => r.line)).toEqual([1, 3, 4, 5]);
  });
});

describe("NdjsonParser errors", () => {
  it("throws on invalid UTF-8 after yielding the lines before it", async () => {
    const { records, error } = await expectAllSplits(bytesOf('{"a":1}\n\n{"b":"caf', [0xe9], '"}\n{"c":1}\n'));
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }]);
    expect(error).toEqual({ code: "invalid_utf8", line: 3 });
  });

  it("throws on a lone surrogate in UTF-16 after yielding the lines before it", async () => {
    for (const encoding of ["utf-16le", "utf-16be"] as const) {
      const bytes = utf16Bytes('{"a":1}\n\n{"b":"\uDC00"}\n{"c":1}\n', encoding === "utf-16le" ? "le" : "be", true);
      const { records, error } = await expectAllSplits(bytes, { encoding }, false);
      expect(records.map((r) => r.value)).toEqual([{ a: 1 }]);
      expect(error).toEqual({ code: "invalid_utf16", line: 3 });
    }
  });

  it("throws when a line is larger than the cap", async () => {
    const options = { maxRecordBytes: 12 };
    const { records, error } = summarize(await parseChunks(splitAt(bytesOf('{"a":1}\n{"long":"0123456789"}\n'), [3, 9, 15]), options));
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }]);
    expect(error).toEqual({ code: "record_too_large", line: 2 });
    const everySplit = await expectAllSplits(bytesOf('{"a":1}\n{"long":"0123456789"}\n{"b":2}\n'), options);
    expect(everySplit).toEqual({ records: [expect.objectContaining({ value: { a: 1 } })], error: { code: "record_too_large", line: 2 } });
    const withoutNewline = summarize(parseSync([bytesOf('{"long":"0123456789"}')], options));
    expect(withoutNewline.error).toEqual({ code: "record_too_large", line: 1 });
  });
});
