import { describe, expect, it } from "vitest";
import { STORED_COLUMNS, storedFields, validatedRow, type ValidRow } from "../../../src/imports/sources/rows.ts";

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
