import { getTableConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { fieldList, IMPORT_CURRENCY } from "../../../src/catalog/fields.ts";
import { productStatuses, validateProductRow } from "../../../src/catalog/product.ts";
import { products } from "../../../src/db/schema.ts";

// src/db/schema.ts is written by hand (drizzle-kit generates the migrations from it, and the products routes read
// typed rows from it); these tests hold it to the field table, so that a field and its column cannot drift apart.
describe("the products table and the field table", () => {
  const columns = getTableConfig(products).columns;

  it.each(fieldList.map((field) => [field.name, field] as const))("stores %s as the field table says", (_, field) => {
    const column = columns.find((c) => c.name === field.column);
    expect(column, field.column).toBeDefined();
    expect(column?.columnType).toBe(field.type === "integer" ? "SQLiteInteger" : "SQLiteText");
    // A field whose empty value is null is the only kind a product may lack.
    expect(column?.notNull).toBe(field.empty !== null);
    if (field.type === "json") expect(column?.default).toBe(JSON.stringify(field.empty));
    if (field.name === "status") expect(column?.enumValues).toEqual([...productStatuses]);
  });

  it("has no column besides the fields' but the import's own", () => {
    const own = ["tenant_id", "sku_key", "keep_mask", "seen_seq", "version", "created_at", "updated_at"];
    expect(columns.map((c) => c.name).filter((name) => !own.includes(name)).sort()).toEqual(fieldList.map((field) => field.column).sort());
  });
});

describe("the field table", () => {
  it("starts with the SKU, which every row gives (its keep-mask bit is never set)", () => {
    expect(fieldList[0]?.name).toBe("sku");
  });

  // Name and price cannot be cleared (a blank one is refused), and the SKU is what names the product.
  const clearable = fieldList.filter((field) => !["sku", "name", "price"].includes(field.name));

  it.each(clearable.map((field) => [field.name, field] as const))("clears %s to its empty value on a blank cell", (_, field) => {
    // A currency changes only with a price (currency_without_price).
    const result = validateProductRow({ sku: "X", [field.name]: "", ...(field.name === "currency" ? { price: "1" } : {}) }, "EUR");
    expect(result.ok).toBe(true);
    const product = (result.ok ? result.product : {}) as Record<string, unknown>;
    expect(product[field.key]).toEqual(field.empty === IMPORT_CURRENCY ? "EUR" : field.empty);
  });

  it("lets on_invalid=skip_field leave out every field but the SKU, name, price and currency", () => {
    expect(fieldList.filter((field) => !field.skippable).map((field) => field.name)).toEqual(["sku", "name", "price", "currency"]);
  });
});
