// Where an earlier failed-rows file's problems sit in a record: the CSV cut respects quotes and the delimiter, in every
// encoding; the NDJSON `_errors` members go and every other byte stays.
import { describe, expect, it } from "vitest";
import { codecOf } from "../../../src/imports/jobs/failed-rows-codec.ts";
import { csvCutAt, csvErrorColumns, withoutNdjsonErrors } from "../../../src/imports/jobs/failed-rows-cut.ts";
import { utf16Bytes } from "./parser-helpers.ts";

const utf8 = codecOf("utf-8");
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("csvErrorColumns and csvCutAt", () => {
  it("find the trailing _error_* columns after a byte order mark and a sep line, and cut a record before them", () => {
    const head = '\uFEFFsep=;\r\n"sku";"a;""b""";_ERROR_LINE ;"_error_message"\r\n';
    expect(csvErrorColumns(bytes(head), utf8, ";")).toEqual({ keep: 2, at: bytes(head.slice(0, head.indexOf(";_ERROR"))).length });
    const record = bytes('x;"1;""2""\r\n3";4;5\r\n');
    expect(text(record.subarray(0, csvCutAt(record, utf8, ";", 2)))).toBe('x;"1;""2""\r\n3"');
    expect(csvCutAt(bytes("x;y\r\n"), utf8, ";", 2)).toBeUndefined();
    expect(csvCutAt(bytes("x;y"), utf8, ";", 2)).toBeUndefined();
  });

  it("leave a header alone whose _error_* columns are not all last, or that has none", () => {
    expect(csvErrorColumns(bytes("sku,_error_code,name,_error_line\n"), utf8, ",")).toBeNull();
    expect(csvErrorColumns(bytes("sku,name\n"), utf8, ",")).toBeNull();
    expect(csvErrorColumns(bytes("_error_line,_error_code\n"), utf8, ",")).toBeNull();
  });

  it("read UTF-16 by code units", () => {
    const codec = codecOf("utf-16be");
    const header = utf16Bytes("sku,name,_error_line\n", "be", true);
    const cut = csvErrorColumns(header, codec, ",");
    expect(cut).toEqual({ keep: 2, at: header.length - 2 * "_error_line\n".length - 2 });
    const record = utf16Bytes('A,"日,本",3\n', "be", false);
    expect(csvCutAt(record, codec, ",", 2)).toBe(record.length - 2 * ",3\n".length);
  });
});

describe("withoutNdjsonErrors", () => {
  it.each([
    ['{"sku":"a","_errors":[{"x":1}]}', '{"sku":"a"}'],
    ['{ "_errors" : [] , "sku":"a" }', '{  "sku":"a" }'],
    ['{"_errors":1,"_errors":2,"sku":"a","_errors":{"_errors":3}}', '{"sku":"a"}'],
    ['{"_errors":[]}', "{}"],
    ['{"\\u005ferrors":[],"sku":"a"}', '{"sku":"a"}'],
    ['{"sku":"_errors","n":{"_errors":[]},"s":"\\"_errors\\":1"}', '{"sku":"_errors","n":{"_errors":[]},"s":"\\"_errors\\":1"}'],
    ['{"sku":"a","_errors":[]', '{"sku":"a","_errors":[]'],
    ['[{"_errors":[]}]', '[{"_errors":[]}]'],
    ['{"_errors":[]} x', '{"_errors":[]} x'],
  ])("%s is %s", (line, expected) => {
    expect(text(withoutNdjsonErrors(bytes(`${line}\n`), utf8))).toBe(`${expected}\n`);
  });
});
