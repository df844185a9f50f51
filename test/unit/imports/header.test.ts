import { describe, it, expect } from "vitest";
import { KNOWN_COLUMNS, mapHeader, mapRow, type HeaderMapping } from "../../../src/imports/header.ts";
import { CsvParser } from "../../../src/imports/csv.ts";

function mapped(fields: string[]): HeaderMapping {
  const result = mapHeader(fields);
  if (!result.ok) throw new Error(`unexpected header error: ${result.message}`);
  return result;
}

describe("mapHeader", () => {
  it("maps trimmed, case-insensitive names to known columns and lists ignored ones", () => {
    expect(mapHeader([" SKU ", "Name", "cost", "PRICE", "Image_URL", "", "Notes"])).toEqual({
      ok: true,
      columns: ["sku", "name", null, "price", "image_url", null, null],
      ignored: ["cost", "Notes"],
    });
  });

  it("accepts every known column", () => {
    expect(mapped([...KNOWN_COLUMNS]).columns).toEqual([...KNOWN_COLUMNS]);
  });

  it("names the missing required columns and what was found", () => {
    expect(mapHeader(["sku", "name", "cost"])).toEqual({
      ok: false,
      code: "missing_columns",
      message: 'The header is missing the required column(s) "price". Found: sku, name, cost.',
    });
    const result = mapHeader(["Title", "Cost"]);
    expect(result).toMatchObject({ ok: false, code: "missing_columns" });
    expect(!result.ok && result.message).toBe(
      'The header is missing the required column(s) "sku", "name", "price". Found: Title, Cost.',
    );
  });

  it("hints at a wrong delimiter when the whole header is one field", () => {
    const result = mapHeader(["sku;name;price"]);
    expect(result).toMatchObject({ ok: false, code: "missing_columns" });
    expect(!result.ok && result.message).toContain("different delimiter");
  });

  it("rejects known columns that appear more than once, naming them and their positions", () => {
    const result = mapHeader(["sku", "name", "price", "Price", "notes", "notes", "SKU"]);
    expect(result).toMatchObject({ ok: false, code: "duplicate_columns" });
    expect(!result.ok && result.message).toBe(
      'The header contains the column(s) "sku" (columns 1 and 7) and "price" (columns 3 and 4) more than once. Keep one of each.',
    );
  });

  it("rejects an empty header", () => {
    expect(mapHeader([])).toMatchObject({ ok: false, code: "empty_header" });
    expect(mapHeader(["", "  ", ""])).toMatchObject({ ok: false, code: "empty_header" });
  });
});

describe("mapRow", () => {
  const mapping = mapped(["sku", "Name", "cost", "price"]);

  it("names the fields of a row, dropping ignored columns and keeping values untouched", () => {
    expect(mapRow(mapping, ["A1", " Widget ", "3", ""])).toEqual({
      ok: true,
      values: { sku: "A1", name: " Widget ", price: "" },
    });
  });

  it("reports a ragged row with expected and actual counts instead of throwing", () => {
    expect(mapRow(mapping, ["A1", "Widget", "3"])).toEqual({
      ok: false,
      code: "ragged_row",
      expected: 4,
      actual: 3,
      message: "This row has 3 values but the header has 4 columns.",
    });
    expect(mapRow(mapping, ["A1", "Widget", "3", "9.99", ""])).toMatchObject({ ok: false, expected: 4, actual: 5 });
    expect(mapRow(mapped(["sku", "name", "price"]), ["x"])).toMatchObject({
      message: "This row has 1 value but the header has 3 columns.",
    });
  });

  it("works with parsed CSV records end to end", () => {
    const parser = new CsvParser({ delimiter: ";" });
    const records = [...parser.push(new TextEncoder().encode("SKU;Name;Price\nA1;Café;9,99\nA2;Short\n")), ...parser.finish()];
    const [header, ...rows] = records;
    const headerMapping = mapped(header!.fields);
    expect(rows.map((row) => ({ line: row.line, result: mapRow(headerMapping, row.fields) }))).toEqual([
      { line: 2, result: { ok: true, values: { sku: "A1", name: "Café", price: "9,99" } } },
      {
        line: 3,
        result: {
          ok: false,
          code: "ragged_row",
          expected: 3,
          actual: 2,
          message: "This row has 2 values but the header has 3 columns.",
        },
      },
    ]);
  });
});
