import { describe, expect, it } from "vitest";
import { productColumns } from "../../../src/catalog/fields.ts";
import { checkMapping, MAX_MAPPING_ENTRIES, mappedFields, mappingHint, overlayMapping } from "../../../src/imports/sources/column-mapping.ts";
import { mapHeader } from "../../../src/imports/sources/header.ts";

describe("checkMapping", () => {
  it("keeps names trimmed as spelled and fields as we name them, in the order given", () => {
    expect(checkMapping({ " Item No. ": "SKU", Qty: " stock " })).toEqual({ ok: true, mapping: { "Item No.": "sku", Qty: "stock" } });
  });

  it("takes a column named __proto__ like any other", () => {
    const check = checkMapping(JSON.parse('{"__proto__":"sku"}'));
    expect(check.ok && Object.entries(check.mapping)).toEqual([["__proto__", "sku"]]);
  });

  it("names every problem at once", () => {
    const check = checkMapping({ A: "stok", B: "price", C: "price", a: "name", "": "sku", D: ["sku"] });
    expect(check.ok ? [] : check.problems).toEqual([
      'maps "A" to "stok", which is no product field; the fields are ' + productColumns.join(", "),
      'gives the column "A" twice (as "A" and "a"); names match trimmed and case-insensitively',
      'has an empty column name (mapped to "sku")',
      'maps "D" to a list, which is no product field; the fields are ' + productColumns.join(", "),
      'maps "B" and "C" to the same field "price"; map one column to each field',
    ]);
  });

  it("refuses more entries than fields before looking at any", () => {
    const many = new Proxy(Object.fromEntries(Array.from({ length: MAX_MAPPING_ENTRIES + 1 }, (_, i) => [`c${i}`, "sku"])), {
      get: () => {
        throw new Error("an entry was read");
      },
    });
    expect(checkMapping(many)).toEqual({ ok: false, problems: [`has ${MAX_MAPPING_ENTRIES + 1} entries; at most ${MAX_MAPPING_ENTRIES} (one per product field)`] });
  });
});

describe("mappedFields", () => {
  it("names a column by the mapping first, then by our own names for the fields it does not map", () => {
    const fieldOf = mappedFields({ Net: "price", price: "stock", Title: "name" });
    expect(["net", "price", "title", "name", "sku", "stock", "other"].map(fieldOf)).toEqual(["price", "stock", "name", null, "sku", null, null]);
  });

  it("without a mapping, names columns by our own names", () => {
    expect(["sku", "price", "net"].map(mappedFields(null))).toEqual(["sku", "price", null]);
  });

  it("drives the header mapping: a mapped column and a column named like its field are not duplicates", () => {
    const header = mapHeader(["Item No.", "Title", "Net", "price"], mappedFields({ "Item No.": "sku", Title: "name", Net: "price" }));
    expect(header).toEqual({ ok: true, columns: ["sku", "name", "price", null], ignored: ["price"] });
  });
});

describe("overlayMapping", () => {
  it("replaces the base's entries for the request's columns and fields, and keeps the rest", () => {
    const base = { "Item No.": "sku", Title: "name", Net: "price", Qty: "stock" } as const;
    expect(overlayMapping(base, { QTY: "tags", Gross: "price" })).toEqual({ "Item No.": "sku", Title: "name", QTY: "tags", Gross: "price" });
    expect(overlayMapping(base, { Title: "description" })).toEqual({ "Item No.": "sku", Net: "price", Qty: "stock", Title: "description" });
  });
});

describe("mappingHint", () => {
  it("says which mapped columns the header lacks and which columns it ignored for a mapped field", () => {
    expect(mappingHint({ Net: "price", Title: "name" }, ["sku", "Title", "price"])).toBe(
      ' With the column mapping, the mapping\'s column(s) "Net" (→ price) are not in the header; the column(s) "price" are ignored because the mapping reads that field from another column.',
    );
    expect(mappingHint({ Net: "price" }, ["Net", "sku"])).toBe("");
  });
});
