// The catalog's severities hold for the product rules: with on_invalid=skip_field, each `error_or_warning` code is a
// warning on a field the row is imported without, and each `error` code the rules make still rejects the row.
import { describe, expect, it } from "vitest";
import { validateProductRow } from "../../../src/catalog/product.ts";
import { type RowErrorCode, rowErrorCodes, rowErrorSeverity } from "../../../src/model/row-error-codes.ts";

const row = (cells: Record<string, unknown>) => ({ sku: "A-1", name: "Shirt", price: "19.99", ...cells });

/** A row with one problem of each code the product rules report, on a field the row can do without where there is one. */
const cases: [RowErrorCode, Record<string, unknown>][] = [
  ["invalid_type", row({ stock: true })],
  ["too_long", row({ brand: "b".repeat(300) })],
  ["scientific_notation", row({ barcode: "3.65275E+11" })],
  ["negative", row({ stock: "-1" })],
  ["too_large", row({ stock: "99999999999" })],
  ["invalid_integer", row({ stock: "1.5" })],
  ["invalid_status", row({ status: "sold" })],
  ["invalid_url", row({ image_url: "not a url" })],
  ["invalid_barcode", row({ barcode: "123" })],
  ["invalid_tag", row({ tags: ["a,b"] })],
  ["too_many_tags", row({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`).join(",") })],
  ["tag_too_long", row({ tags: "t".repeat(65) })],
  ["invalid_options", row({ options: "not json" })],
  ["too_many_options", row({ options: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`o${i}`, "x"])) })],
  ["required", row({ name: "" })],
  ["invalid_sku", row({ sku: "A 1" })],
  ["invalid_price", row({ price: "abc" })],
  ["thousands_separator", row({ price: "1,299.00" })],
  ["decimal_comma", row({ price: "19,99" })],
  ["currency_symbol", row({ price: "$19.99" })],
  ["too_many_decimals", row({ price: "19.999", currency: "USD" })],
  ["invalid_currency", row({ currency: "ABC" })],
  ["currency_without_price", { sku: "A-1", currency: "EUR" }],
];

describe("the row-error code catalog", () => {
  it.each(cases)("%s is a warning with on_invalid=skip_field exactly when the catalog says it may be", (code, raw) => {
    const result = validateProductRow(raw, "USD", "clear", "skip_field");
    if (rowErrorSeverity(code) === "error_or_warning") {
      expect(result.ok && result.warnings?.map((w) => w.code)).toEqual([code]);
    } else {
      expect(!result.ok && result.errors.map((e) => e.code)).toEqual([code]);
    }
  });

  it("is checked against every code that may be a warning", () => {
    const warnings = rowErrorCodes.filter((code) => rowErrorSeverity(code) === "error_or_warning");
    expect(cases.map(([code]) => code)).toEqual(expect.arrayContaining(warnings));
  });
});
