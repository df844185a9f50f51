import { describe, it, expect } from "vitest";
import { CSV_HEAD_MAX_CHARS, CsvParser, detectDelimiter, MAX_COLUMNS, readCsvHead, type CsvParserOptions, type CsvRecord } from "../../../src/imports/read/csv.ts";
import { FileFormatError } from "../../../src/imports/read/file-format-error.ts";
import { DEFAULT_MAX_RECORD_BYTES } from "../../../src/imports/read/records.ts";
import {
  byteLength,
  bytesOf,
  parserHelpers,
  positions,
  splitAt,
  summarize,
  utf16Bytes,
  windows1252Bytes,
} from "./parser-helpers.ts";

const { parseChunks, parseSync, expectAllSplits, expectResumesAfterEveryRecord } = parserHelpers<CsvRecord, CsvParserOptions>({
  create: (options) => new CsvParser(options),
});

describe("CsvParser", () => {
  it("parses quoted fields, doubled quotes, quoted CR/LF/CRLF, blank lines and a last line without newline", async () => {
    const pieces = [
      "sku,name,description\r\n",
      'A1,"Widget, large","He said ""hi"""\r\n',
      'A2,"Multi\nline\r\ntext\rend",plain\r\n',
      "\r\n",
      "A3,,last",
    ];
    const at = positions(pieces);
    const { records, error } = await expectAllSplits(bytesOf(pieces.join("")));
    expect(error).toBeNull();
    expect(records).toEqual([
      { fields: ["sku", "name", "description"], line: 1, nextLine: 2, ...at[0] },
      { fields: ["A1", "Widget, large", 'He said "hi"'], line: 2, nextLine: 3, ...at[1] },
      { fields: ["A2", "Multi\nline\r\ntext\rend", "plain"], line: 3, nextLine: 7, ...at[2] },
      { fields: ["A3", "", "last"], line: 8, nextLine: 8, ...at[4] },
    ]);
    expect(records[1]).toMatchObject({ start: 22, end: 59 });
  });

  it("handles LF endings, a trailing newline, empty and quoted-empty fields and trailing delimiters", async () => {
    const pieces = ["a,b,c\n", ",,\n", '"",x,""\n', "1,2,\n", "\n", "\n", "z\n"];
    const at = positions(pieces);
    const { records, error } = await expectAllSplits(bytesOf(pieces.join("")));
    expect(error).toBeNull();
    expect(records).toEqual([
      { fields: ["a", "b", "c"], line: 1, nextLine: 2, ...at[0] },
      { fields: ["", "", ""], line: 2, nextLine: 3, ...at[1] },
      { fields: ["", "x", ""], line: 3, nextLine: 4, ...at[2] },
      { fields: ["1", "2", ""], line: 4, nextLine: 5, ...at[3] },
      { fields: ["z"], line: 7, nextLine: 8, ...at[6] },
    ]);
  });

  it("decodes non-ASCII text whatever the chunk boundaries (é, 日本語, emoji)", async () => {
    const pieces = ["sku,name\r\n", "1,Café crème\r\n", '2,"日本語, テスト"\r\n', "3,😀🎉 ok\r\n", "4,\"naïve \"\"😀\"\"\"\r\n"];
    const at = positions(pieces);
    const { records, error } = await expectAllSplits(bytesOf(pieces.join("")));
    expect(error).toBeNull();
    expect(records).toEqual([
      { fields: ["sku", "name"], line: 1, nextLine: 2, ...at[0] },
      { fields: ["1", "Café crème"], line: 2, nextLine: 3, ...at[1] },
      { fields: ["2", "日本語, テスト"], line: 3, nextLine: 4, ...at[2] },
      { fields: ["3", "😀🎉 ok"], line: 4, nextLine: 5, ...at[3] },
      { fields: ["4", 'naïve "😀"'], line: 5, nextLine: 6, ...at[4] },
    ]);
    expect(records[2]!.end - records[2]!.start).toBe(byteLength('2,"日本語, テスト"\r\n'));
  });

  it("strips a UTF-8 BOM at byte 0 and reports offsets that include it", async () => {
    const bytes = bytesOf([0xef, 0xbb, 0xbf], "sku,name\n1,é\n");
    const { records, error } = await expectAllSplits(bytes);
    expect(error).toBeNull();
    expect(records).toEqual([
      { fields: ["sku", "name"], line: 1, start: 3, end: 12, nextLine: 2 },
      { fields: ["1", "é"], line: 2, start: 12, end: 17, nextLine: 3 },
    ]);
  });

  it("keeps a BOM-like prefix that is not a whole BOM as data", async () => {
    const { error } = await expectAllSplits(bytesOf([0xef, 0xbb], "a\n"));
    expect(error).toMatchObject({ code: "invalid_utf8", line: 1 });
  });

  it("accepts lone CR line endings", async () => {
    const { records } = await expectAllSplits(bytesOf('a,b\r1,"x\ry"\r\r2,z'));
    expect(records.map((r) => [r.fields, r.line, r.start, r.end])).toEqual([
      [["a", "b"], 1, 0, 4],
      [["1", "x\ry"], 2, 4, 12],
      [["2", "z"], 5, 13, 16],
    ]);
  });

  it("keeps a stray quote inside an unquoted field literally", async () => {
    const { records, error } = await expectAllSplits(bytesOf('1,5" screen,ab"c"\n'));
    expect(error).toBeNull();
    expect(records[0]!.fields).toEqual(["1", '5" screen', 'ab"c"']);
  });

  it("keeps whitespace-only lines as records and does not trim fields", async () => {
    const { records } = await expectAllSplits(bytesOf(" a , b \n  \n"));
    expect(records.map((r) => r.fields)).toEqual([[" a ", " b "], ["  "]]);
  });

  it("yields rows with a varying number of fields as they are (ragged rows are the caller's concern)", async () => {
    const { records } = await expectAllSplits(bytesOf("a,b,c\n1,2\n1,2,3,4\n"));
    expect(records.map((r) => r.fields.length)).toEqual([3, 2, 4]);
  });

  it("supports semicolon and tab delimiters", async () => {
    const semicolon = await expectAllSplits(bytesOf('sku;name;price\n1;"a;b";9,99\n'), { delimiter: ";" });
    expect(semicolon.error).toBeNull();
    expect(semicolon.records.map((r) => r.fields)).toEqual([
      ["sku", "name", "price"],
      ["1", "a;b", "9,99"],
    ]);
    const tab = await expectAllSplits(bytesOf('sku\tname\tprice\r\n1\t"a\tb, c"\t9.99\r\n'), { delimiter: "\t" });
    expect(tab.error).toBeNull();
    expect(tab.records.map((r) => r.fields)).toEqual([
      ["sku", "name", "price"],
      ["1", "a\tb, c", "9.99"],
    ]);
  });

  it("returns nothing for an empty file, a BOM-only file and a file of blank lines", async () => {
    expect(await parseChunks([])).toEqual({ records: [], error: null });
    expect(await parseChunks([new Uint8Array(0)])).toEqual({ records: [], error: null });
    expect(await expectAllSplits(bytesOf([0xef, 0xbb, 0xbf]))).toEqual({ records: [], error: null });
    expect(await expectAllSplits(bytesOf("\r\n\n\r\n"))).toEqual({ records: [], error: null });
  });

  it("parses a header-only file with or without a final newline", async () => {
    expect((await expectAllSplits(bytesOf("sku,name,price\r\n"))).records).toEqual([
      { fields: ["sku", "name", "price"], line: 1, start: 0, end: 16, nextLine: 2 },
    ]);
    expect((await expectAllSplits(bytesOf("sku,name,price"))).records).toEqual([
      { fields: ["sku", "name", "price"], line: 1, start: 0, end: 14, nextLine: 1 },
    ]);
  });

  it("resumes from any record's end offset with the remaining records and lines", async () => {
    const full = await expectResumesAfterEveryRecord(bytesOf('\uFEFFsku,name\r\n1,"two\r\nlines"\r\n\r\n2,"日本"\n3,x'));
    expect(full.map((r) => r.line)).toEqual([1, 2, 5, 6]);
  });

  it("resumes from a record's start offset (a record not yet committed)", () => {
    const bytes = bytesOf("a\nb\nc\n");
    const full = parseSync([bytes]).records;
    const second = full[1]!;
    const resumed = parseSync([bytes.subarray(second.start)], { startOffset: second.start, startLine: second.line });
    expect(resumed.records).toEqual(full.slice(1));
  });

  it("matches a reference serializer on random data fed in random chunk sizes", () => {
    const random = mulberry32(42);
    const alphabet = ["a", "b", "Z", "0", " ", ",", '"', "\n", "\r\n", "\r", "é", "日", "😀", ";", "\t"];
    const rows: string[][] = [];
    for (let r = 0; r < 2000; r++) {
      const width = 1 + Math.floor(random() * 6);
      rows.push(
        Array.from({ length: width }, () =>
          Array.from({ length: Math.floor(random() * 8) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(""),
        ),
      );
    }
    rows.push(["last"]);
    // Rows that serialize to a blank line are skipped by design.
    const expectedRows = rows.filter((row) => !(row.length === 1 && row[0] === ""));
    const text = rows.map((row) => row.map(quoteField).join(",")).join("\r\n");
    const bytes = bytesOf(text);
    const points: number[] = [];
    for (let p = Math.floor(random() * 64); p < bytes.length; p += 1 + Math.floor(random() * 300)) points.push(p);
    const { records, error } = parseSync(splitAt(bytes, points));
    expect(error).toBeNull();
    expect(records.map((r) => r.fields)).toEqual(expectedRows);
    for (const [index, record] of records.entries()) {
      const next = records[index + 1];
      if (next) expect(next.start).toBeGreaterThanOrEqual(record.end);
      expect(record.end).toBeGreaterThan(record.start);
    }
    expect(records.at(-1)!.end).toBe(bytes.length);
  });
});

describe("CsvParser errors", () => {
  it("reports an unterminated quote with the line where it opened, after yielding earlier records", async () => {
    const { records, error } = await expectAllSplits(bytesOf('sku,name\n1,ok\n2,"never closed\nmore\n'));
    expect(records.map((r) => r.fields)).toEqual([
      ["sku", "name"],
      ["1", "ok"],
    ]);
    expect(error).toEqual({ code: "unterminated_quote", line: 3 });
    const raw = parseSync([bytesOf('a\n"x\ny\n')]).error;
    expect(raw).toBeInstanceOf(FileFormatError);
    expect((raw as FileFormatError).message).toContain("line 2");
  });

  it("rejects text after a closing quote", async () => {
    const { records, error } = await expectAllSplits(bytesOf('a,b\n"multi\nline"x,2\n3,4\n'));
    expect(records.map((r) => r.fields)).toEqual([["a", "b"]]);
    expect(error).toEqual({ code: "unexpected_quote", line: 3 });
  });

  it("rejects bytes that are not valid UTF-8 and names their line", async () => {
    const latin1 = await expectAllSplits(bytesOf("sku,name\n1,ok\n2,caf", [0xe9], "\n3,x\n"));
    expect(latin1.records.map((r) => r.fields[0])).toEqual(["sku", "1"]);
    expect(latin1.error).toEqual({ code: "invalid_utf8", line: 3 });

    const insideQuotedNewlines = await expectAllSplits(bytesOf('a\n"x\r\ny\n', [0xc3, 0x28], '"\n'));
    expect(insideQuotedNewlines.records.map((r) => r.fields)).toEqual([["a"]]);
    expect(insideQuotedNewlines.error).toEqual({ code: "invalid_utf8", line: 4 });

    const truncatedAtEnd = await expectAllSplits(bytesOf("a\nb,", [0xe6, 0x97]));
    expect(truncatedAtEnd.error).toEqual({ code: "invalid_utf8", line: 2 });

    const encodedSurrogate = parseSync([bytesOf("a\n", [0xed, 0xa0, 0x80], "\n")]);
    expect(summarize(encodedSurrogate).error).toEqual({ code: "invalid_utf8", line: 2 });
    expect((encodedSurrogate.error as Error).message).toMatch(/Line 2 .*UTF-8/);
  });

  it("rejects a record larger than the cap, with a hint when a quote is left open", async () => {
    const options = { maxRecordBytes: 16 };
    const tooLong = await expectAllSplits(bytesOf("a,b\n0123456789,0123456789\nc\n"), options, false);
    expect(tooLong.records.map((r) => r.fields)).toEqual([["a", "b"]]);
    expect(tooLong.error).toEqual({ code: "record_too_large", line: 2 });

    const openQuote = parseSync(splitAt(bytesOf('a\n"', "x\n".repeat(20)), [10, 20, 30]), options);
    expect(summarize(openQuote).error).toEqual({ code: "record_too_large", line: 2 });
    expect((openQuote.error as Error).message).toContain("quote (\") opened on line 2");

    const justFits = parseSync([bytesOf("0123456789,1234\n")], options);
    expect(justFits.records.map((r) => r.fields)).toEqual([["0123456789", "1234"]]);
  });

  it("reports the same first error however the bytes are chunked: an over-long record is never scanned past the cap", async () => {
    const options = { maxRecordBytes: 16 };
    // The quote opened on line 2 closes on line 12, where text follows it: a scan past the cap would call that an
    // unexpected quote on line 12 when the bytes arrive in one piece.
    const file = bytesOf('a,b\n1,"x\n', "2,y\n".repeat(9), '3,"z"w\n');
    const { records, error } = await expectAllSplits(file, options);
    expect(records.map((r) => r.fields)).toEqual([["a", "b"]]);
    expect(error).toEqual({ code: "record_too_large", line: 2 });
    expect((parseSync([file], options).error as Error).message).toContain("quote (\") opened on line 2");

    // Exactly at the cap, with CRLF, CR or no line break, a record is accepted in every chunking.
    for (const ending of ["\r\n", "\r", ""]) {
      const fits = await expectAllSplits(bytesOf(`${"x".repeat(16 - ending.length)}${ending}`), options);
      expect(fits).toEqual({ records: [expect.objectContaining({ fields: ["x".repeat(16 - ending.length)] })], error: null });
      const over = await expectAllSplits(bytesOf(`${"x".repeat(17 - ending.length)}${ending}`), options);
      expect(over).toEqual({ records: [], error: { code: "record_too_large", line: 1 } });
    }
  });

  it("reads a record's first maxFields fields (MAX_COLUMNS unless told) and counts the rest; the record limit bounds the count", () => {
    // A parser that did more than constant work per byte (or per field) would not finish this within the test timeout.
    const wide = parseSync([bytesOf(`${"sku,".repeat(199_999)}sku\nA-1\n`)]);
    expect(wide.error).toBeNull();
    expect(wide.records.map((r) => [r.fields.length, r.width])).toEqual([[MAX_COLUMNS, 200_000], [1, undefined]]);
    expect(parseSync([bytesOf('a,"b",c,"d""",e\nx,y\n')], { maxFields: 2 }).records.map((r) => [r.fields, r.width])).toEqual([
      [["a", "b"], 5],
      [["x", "y"], undefined],
    ]);
    const widest = bytesOf(`${",".repeat(DEFAULT_MAX_RECORD_BYTES - 1)}\n`);
    expect(parseSync([widest]).records[0]!.width).toBe(DEFAULT_MAX_RECORD_BYTES);
    const tooWide = bytesOf(`${",".repeat(DEFAULT_MAX_RECORD_BYTES)}\n`);
    expect(summarize(parseSync([tooWide]))).toEqual({ records: [], error: { code: "record_too_large", line: 1 } });
  });

  it("defers an error until the records before it have been returned", () => {
    const parser = new CsvParser();
    expect(parser.push(bytesOf('1\n2\n"3"x\n')).map((r) => r.fields)).toEqual([["1"], ["2"]]);
    expect(() => parser.push(bytesOf("4\n"))).toThrow(FileFormatError);
    expect(() => parser.finish()).toThrow(FileFormatError);
  });

  it("rejects unsupported options", () => {
    expect(() => new CsvParser({ delimiter: "|" as ";" })).toThrow(RangeError);
    expect(() => new CsvParser({ startOffset: -1 })).toThrow(RangeError);
    expect(() => new CsvParser({ startLine: 0 })).toThrow(RangeError);
    expect(() => new CsvParser({ maxFields: 0 })).toThrow(RangeError);
  });
});

describe("CsvParser encodings", () => {
  /** Positions of consecutive pieces of a UTF-16 file after its 2-byte byte order mark: two bytes per code unit. */
  const utf16Positions = (pieces: string[]) => {
    let offset = 2;
    return pieces.map((piece) => {
      const start = offset;
      offset += 2 * piece.length;
      return { start, end: offset };
    });
  };
  const pieces = ["sku,name\r\n", '1,"Café, crème"\r\n', '2,"日本\r\n語"\r\n', "3,😀🎉 ok\r\n", "4,x"];

  for (const byteOrder of ["le", "be"] as const) {
    const encoding = `utf-16${byteOrder}` as const;

    it(`reads ${encoding} after its byte order mark whatever the chunk boundaries, with the file's byte offsets`, async () => {
      const bytes = utf16Bytes(pieces.join(""), byteOrder, true);
      const at = utf16Positions(pieces);
      const { records, error } = await expectAllSplits(bytes, { encoding }, false);
      expect(error).toBeNull();
      expect(records).toEqual([
        { fields: ["sku", "name"], line: 1, nextLine: 2, ...at[0] },
        { fields: ["1", "Café, crème"], line: 2, nextLine: 3, ...at[1] },
        { fields: ["2", "日本\r\n語"], line: 3, nextLine: 5, ...at[2] },
        { fields: ["3", "😀🎉 ok"], line: 5, nextLine: 6, ...at[3] },
        { fields: ["4", "x"], line: 6, nextLine: 6, ...at[4] },
      ]);
      expect(records.at(-1)!.end).toBe(bytes.length);
    });

    it(`resumes ${encoding} mid-file from any record's end offset (no byte order mark there)`, async () => {
      const full = await expectResumesAfterEveryRecord(utf16Bytes(`${pieces.join("")}\r\n\r\n5,"é\n😀"`, byteOrder, true), { encoding });
      expect(full.map((r) => r.line)).toEqual([1, 2, 3, 5, 6, 8]);
    });

    it(`fails on a lone surrogate or a character cut off at the end in ${encoding}, naming its line`, async () => {
      for (const [text, line] of [
        ['a\n"x\r\ny\uD800"\n2\n', 3],
        ["a\nb,\uDC00\n", 2],
        ["a\nb,\uD83D\uD83D\uDE00\n", 2],
        ["a\nb\uD83D", 2],
      ] as const) {
        const { records, error } = await expectAllSplits(utf16Bytes(text, byteOrder, true), { encoding }, false);
        expect(records.map((r) => r.fields), JSON.stringify(text)).toEqual([["a"]]);
        expect(error, JSON.stringify(text)).toEqual({ code: "invalid_utf16", line });
      }
      const oddByte = await expectAllSplits(bytesOf(utf16Bytes("a\nb", byteOrder, true), [0x41]), { encoding });
      expect(oddByte).toEqual({ records: [expect.objectContaining({ fields: ["a"] })], error: { code: "invalid_utf16", line: 2 } });
      const raw = parseSync([utf16Bytes("a\nb\uD800\n", byteOrder, false)], { encoding }).error as Error;
      expect(raw.message).toMatch(/^Line 2 contains bytes that are not valid UTF-16/);
    });
  }

  it("reads UTF-16 without a byte order mark when the caller knows its byte order", async () => {
    const { records } = await expectAllSplits(utf16Bytes("a,é\n", "be", false), { encoding: "utf-16be" });
    expect(records).toEqual([{ fields: ["a", "é"], line: 1, start: 0, end: 8, nextLine: 2 }]);
  });

  it("reads Windows-1252 byte for byte: € “ ” – é are one byte each, offsets are the file's", async () => {
    const text = 'sku,name\r\n1,Café €5\r\n2,"“quoted” – ok, ""x"""\r\n';
    const bytes = windows1252Bytes(text);
    expect(bytes.length).toBe(text.length);
    const { records, error } = await expectAllSplits(bytes, { encoding: "windows-1252" });
    expect(error).toBeNull();
    expect(records).toEqual([
      { fields: ["sku", "name"], line: 1, start: 0, end: 10, nextLine: 2 },
      { fields: ["1", "Café €5"], line: 2, start: 10, end: 21, nextLine: 3 },
      { fields: ["2", '“quoted” – ok, "x"'], line: 3, start: 21, end: text.length, nextLine: 4 },
    ]);
    // The bytes a UTF-8 byte order mark is made of are characters in Windows-1252, not a mark.
    expect(parseSync([bytesOf([0xef, 0xbb, 0xbf], "a\n")], { encoding: "windows-1252" }).records[0]!.fields).toEqual(["ï»¿a"]);
    await expectResumesAfterEveryRecord(bytes, { encoding: "windows-1252" });
  });
});

describe("detectDelimiter", () => {
  it("picks the most frequent delimiter outside quotes, defaulting to comma", () => {
    expect(detectDelimiter("sku,name,price")).toBe(",");
    expect(detectDelimiter("sku;name;price")).toBe(";");
    expect(detectDelimiter("sku\tname\tprice")).toBe("\t");
    expect(detectDelimiter('sku;"name, with, commas";price')).toBe(";");
    expect(detectDelimiter('"a;b;c;d",x,y')).toBe(",");
    expect(detectDelimiter("sku")).toBe(",");
    expect(detectDelimiter("")).toBe(",");
    expect(detectDelimiter("a,b;c")).toBe(",");
  });

  it("reads the header line the parser uses: the first line with content", () => {
    expect(readCsvHead("sku;name;price\r\n1,2,3,4,5,6\n")).toEqual({ complete: true, sep: null, delimiter: ";" });
    expect(readCsvHead("\r\nsku;name;price\r\nA-1;Shirt;1\r\n")).toEqual({ complete: true, sep: null, delimiter: ";" });
    expect(readCsvHead("\n\r\n\rsku\tname\tprice\n1,2,3,4\n")).toEqual({ complete: true, sep: null, delimiter: "\t" });
    // The line goes on past the text: not complete, the caller reads on (or, at the end of the file, takes it).
    expect(readCsvHead("\r\n\nsku;na")).toEqual({ complete: false, sep: null, delimiter: ";" });
    expect(readCsvHead("\r\n")).toMatchObject({ complete: false, sep: null });
    expect(readCsvHead("")).toMatchObject({ complete: false, sep: null });
  });

  it("takes an Excel sep= first line (any delimiter, any case, quoted or not) as the delimiter and not the header", () => {
    expect(readCsvHead("sep=;\r\nsku,name,price\r\n")).toEqual({ complete: true, sep: ";", delimiter: ";" });
    expect(readCsvHead('"sep=,"\nsku;name;price\n')).toEqual({ complete: true, sep: ",", delimiter: "," });
    expect(readCsvHead("SEP=\t\rsku,name")).toEqual({ complete: true, sep: "\t", delimiter: "\t" });
    expect(readCsvHead('"sep=;"\n')).toEqual({ complete: true, sep: ";", delimiter: ";" });
    // Until its line ends, a first line like "sep=;" may still go on into something else.
    expect(readCsvHead("sep=;")).toEqual({ complete: false, sep: ";", delimiter: ";" });
    expect(readCsvHead("sep=;x")).toMatchObject({ complete: false, sep: null });
    // Anything else is a header line.
    for (const text of ["sep=;;\nx\n", "sep=|\nx\n", " sep=;\nx\n", "sep=;x,y;z\n", "\nsep=;\nx\n", "sep= ;\n", "'sep=;'\n"]) {
      expect(readCsvHead(text).sep, JSON.stringify(text)).toBeNull();
    }
  });

  it("judges the header line by its first 64 KiB, so the answer does not depend on how much text was read", () => {
    const capped = CSV_HEAD_MAX_CHARS / 2;
    // Past the cap the line turns semicolon-separated: only its first part counts, read whole or cut.
    const text = `${",".repeat(capped)}${";".repeat(2 * capped)}\n`;
    expect(readCsvHead(text)).toEqual({ complete: true, sep: null, delimiter: "," });
    expect(readCsvHead(text.slice(0, capped))).toEqual({ complete: true, sep: null, delimiter: "," });
    expect(readCsvHead(text.slice(0, capped - 1))).toMatchObject({ complete: false });
    // After more blank lines than the cap, the rest of the head (up to twice the cap) is the header's.
    const late = `${"\n".repeat(capped + 10)}a;b;c\n`;
    expect(readCsvHead(late)).toEqual({ complete: true, sep: null, delimiter: ";" });
    expect(readCsvHead(`${"\n".repeat(CSV_HEAD_MAX_CHARS)}a;b;c\n`)).toEqual({ complete: true, sep: null, delimiter: "," });
  });
});

function quoteField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
