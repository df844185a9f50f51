import { describe, it, expect } from "vitest";
import { productColumns } from "../../../src/catalog/fields.ts";
import { IgnoredColumns, MAX_IGNORED_COLUMNS, MAX_NAME_LENGTH, mapHeader, mapRow, type HeaderMapping } from "../../../src/imports/sources/header.ts";
import { CsvParser, MAX_COLUMNS } from "../../../src/imports/read/csv.ts";

/** `items` behind a proxy that counts the reads of its elements and throws once they exceed `budget`. */
function countingReads(items: string[], budget: number): { array: string[]; reads: () => number } {
  let reads = 0;
  const array = new Proxy(items, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && /^\d+$/.test(prop) && ++reads > budget) throw new Error(`read column ${prop} beyond a budget of ${budget} reads`);
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { array, reads: () => reads };
}

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
    expect(mapped([...productColumns]).columns).toEqual([...productColumns]);
  });

  it("needs only a sku column, and names what was found without one", () => {
    expect(mapHeader(["sku", "stock"])).toMatchObject({ ok: true, columns: ["sku", "stock"] });
    expect(mapHeader(["SKU"])).toMatchObject({ ok: true, columns: ["sku"] });
    const result = mapHeader(["Title", "Cost"]);
    expect(result).toEqual({ ok: false, code: "missing_columns", message: 'The header is missing the required column "sku". Found: Title, Cost.' });
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

  it("rejects a header of more than MAX_COLUMNS columns before looking at any of them (200,000 columns)", () => {
    // Every column read throws: the header must be rejected on its count alone, whatever its width.
    const fields = countingReads(Array.from({ length: 200_000 }, () => "sku"), 0);
    const result = mapHeader(fields.array);
    expect(result).toEqual({
      ok: false,
      code: "too_many_columns",
      message: `The header has 200,000 columns; at most ${MAX_COLUMNS.toLocaleString("en-US")} are accepted. Keep the product columns (sku, name, price, …) and remove the others.`,
    });
    expect(fields.reads()).toBe(0);
  });

  it("maps a header of exactly MAX_COLUMNS columns, reading each column once", () => {
    const names = ["sku", "name", "price", ...Array.from({ length: MAX_COLUMNS - 3 }, (_, i) => `extra ${i}`)];
    const fields = countingReads(names, names.length);
    const result = mapped(fields.array);
    expect(result.columns).toHaveLength(MAX_COLUMNS);
    expect(result.ignored).toHaveLength(MAX_COLUMNS - 3);
    expect(fields.reads()).toBe(MAX_COLUMNS);
  });

  it("names a few positions of a column repeated many times and counts the rest", () => {
    const names = ["name", "price", ...Array.from({ length: MAX_COLUMNS - 2 }, () => "SKU")];
    const fields = countingReads(names, names.length);
    expect(mapHeader(fields.array)).toEqual({
      ok: false,
      code: "duplicate_columns",
      message: 'The header contains the column(s) "sku" (columns 3, 4, 5, 6, 7 and 993 more) more than once. Keep one of each.',
    });
    expect(fields.reads()).toBe(MAX_COLUMNS);
    const many = mapHeader([...productColumns, ...productColumns]);
    expect(!many.ok && many.message).toBe(
      'The header contains the column(s) "sku" (columns 1 and 15), "name" (columns 2 and 16), "description" (columns 3 and 17), ' +
        '"price" (columns 4 and 18), "currency" (columns 5 and 19) and 9 other columns more than once. Keep one of each.',
    );
  });

  it("lists a few of the columns found when required ones are missing, each cut to a bounded length", () => {
    const long = "x".repeat(500_000);
    const result = mapHeader([long, ...Array.from({ length: MAX_COLUMNS - 1 }, (_, i) => `c${i}`)]);
    expect(result).toMatchObject({ ok: false, code: "missing_columns" });
    const message = !result.ok ? result.message : "";
    expect(message).toBe(
      `The header is missing the required column "sku". Found: ${"x".repeat(MAX_NAME_LENGTH - 1)}…, c0, c1, c2, c3 and 995 more.`,
    );
    // The delimiter hint still looks at the whole name.
    const one = mapHeader([`sku;name;price${";".repeat(1000)}`]);
    expect(!one.ok && one.message).toContain("different delimiter");
    expect(!one.ok && one.message.length).toBeLessThan(400);
  });

  it("rejects an empty header", () => {
    expect(mapHeader([])).toMatchObject({ ok: false, code: "empty_header" });
    expect(mapHeader(["", "  ", ""])).toMatchObject({ ok: false, code: "empty_header" });
  });
});

describe("IgnoredColumns", () => {
  it("lists each name once whatever its case and spaces, as first spelled, skipping blank names", () => {
    const ignored = new IgnoredColumns();
    for (const name of ["Colour", "colour", " COLOUR ", "", "  ", "weight", "Colour"]) ignored.add(name);
    expect(ignored.names).toEqual(["Colour", "weight"]);
    expect(ignored.omittedCount).toBe(0);
  });

  it("lists at most MAX_IGNORED_COLUMNS names, each cut to MAX_NAME_LENGTH, and counts each name left out once", () => {
    const ignored = new IgnoredColumns();
    ignored.add("y".repeat(100_000));
    for (let i = 1; i < MAX_IGNORED_COLUMNS; i++) ignored.add(`c${i}`);
    ignored.add("C1");
    expect(ignored.omittedCount).toBe(0);
    for (const name of ["one more", "One More", "two more", " one more "]) ignored.add(name);
    expect(ignored.omittedCount).toBe(2);
    expect(ignored.names).toHaveLength(MAX_IGNORED_COLUMNS);
    expect(ignored.names[0]).toBe(`${"y".repeat(MAX_NAME_LENGTH - 1)}…`);
    expect(ignored.names.at(-1)).toBe(`c${MAX_IGNORED_COLUMNS - 1}`);
  });

  it("counts up to MAX_COLUMNS names in all", () => {
    const ignored = new IgnoredColumns();
    for (let i = 0; i < 3 * MAX_COLUMNS; i++) ignored.add(`k${i}`);
    expect(ignored.names.length + ignored.omittedCount).toBe(MAX_COLUMNS);
  });

  it("carries on from a stored list: a name listed or counted before is not new", () => {
    const full = Array.from({ length: MAX_IGNORED_COLUMNS }, (_, i) => `c${i}`);
    const first = new IgnoredColumns(full);
    first.add("new");
    const change = first.takeChange()!;
    expect(change).toMatchObject({ names: full });
    expect(change.omittedKeys).toHaveLength(1);
    const resumed = new IgnoredColumns(change.names, change.omittedKeys);
    for (const name of ["C0", "NEW", "newer"]) resumed.add(name);
    expect(resumed.omittedCount).toBe(2);
    expect(resumed.takeChange()?.omittedKeys).toHaveLength(2);
    expect(resumed.takeChange()).toBeUndefined();
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
