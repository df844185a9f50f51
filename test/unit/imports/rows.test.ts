import { describe, expect, it } from "vitest";
import { fieldList } from "../../../src/catalog/fields.ts";
import { KEEP_ALL, keepMask, STORED_COLUMNS, storedFields, validatedRow, type ValidRow } from "../../../src/imports/sources/rows.ts";

const rules = { currency: "USD", blankCells: "clear", onInvalid: "reject_row" } as const;

describe("storedFields", () => {
  it("gives each product value at its STORED_COLUMNS position (the column order the commit's SQL uses)", () => {
    const row = validatedRow(
      2,
      { sku: "A-1", name: "Shirt", description: "Soft", price: "19.99", currency: "EUR", stock: "3", status: "draft", brand: "Acme", category: "Tops", barcode: "4006381333931", image_url: "https://x.example/a.jpg", tags: "b,a" },
      { currency: "USD", blankCells: "clear", onInvalid: "reject_row" },
    ) as ValidRow;
    expect(row.ok).toBe(true);
    const byColumn = Object.fromEntries(STORED_COLUMNS.map((column, i) => [column, storedFields(row, "USD")[i]]));
    expect(byColumn).toEqual({
      sku: "A-1",
      name: "Shirt",
      description: "Soft",
      price_minor: 1999,
      currency: "EUR",
      stock: 3,
      status: "draft",
      brand: "Acme",
      category: "Tops",
      barcode: "4006381333931",
      image_url: "https://x.example/a.jpg",
      tags: '["b","a"]',
      // Not given: a new product's empty values.
      variant_group: null,
      options: "{}",
    });
  });
});

describe("keepMask", () => {
  it("sets the bit of every field a row does not give: a field's bit is its position in the field table and STORED_COLUMNS", () => {
    expect(keepMask((validatedRow(2, { sku: "A-1" }, rules) as ValidRow).product)).toBe(KEEP_ALL);
    // Each field given alone (a blank cell clears it), but a name is never blank and a price and its currency go together.
    const price = { price: "1", currency: "EUR" };
    const alone: Record<string, Record<string, string>> = { name: { name: "Shirt" }, price, currency: price };
    const priceBits = (1 << STORED_COLUMNS.indexOf("price_minor")) | (1 << STORED_COLUMNS.indexOf("currency"));
    fieldList.slice(1).forEach((field, i) => {
      const bit = i + 1;
      expect(STORED_COLUMNS[bit]).toBe(field.column);
      const row = validatedRow(2, { sku: "A-1", ...(alone[field.name] ?? { [field.name]: "" }) }, rules) as ValidRow;
      expect(row.ok, field.name).toBe(true);
      expect(keepMask(row.product), field.name).toBe(KEEP_ALL & ~(alone[field.name] === price ? priceBits : 1 << bit));
    });
  });
});
