// The presets' header recognition, their header errors, the bounds of what a Shopify export carries from row to row,
// and WooCommerce cells no longer than the rules take.
import { describe, expect, it } from "vitest";
import { productFields } from "../../../src/catalog/fields.ts";
import { MAX_COLUMNS } from "../../../src/imports/read/csv.ts";
import { detectPreset, presetNamed } from "../../../src/imports/sources/presets/index.ts";
import type { RowOutcome } from "../../../src/imports/sources/rows.ts";
import { UnreadableSourceState } from "../../../src/imports/sources/state.ts";
import { adversarialCell, MIB } from "../../adversarial-cells.ts";
import { SHOPIFY_CLASSIC_HEADER, SHOPIFY_CURRENT_HEADER, WOO_CURRENT_HEADER, WOO_SAMPLE_HEADER } from "../../preset-exports.ts";

const RULES = { currency: "USD", blankCells: "clear", onInvalid: "reject_row" } as const;

describe("detectPreset", () => {
  it("recognises Shopify's classic and current headers and WooCommerce's sample and current headers, whatever their case", () => {
    expect(detectPreset(SHOPIFY_CLASSIC_HEADER)?.name).toBe("shopify");
    expect(detectPreset(SHOPIFY_CURRENT_HEADER)?.name).toBe("shopify");
    expect(detectPreset(SHOPIFY_CLASSIC_HEADER.map((name) => ` ${name.toUpperCase()} `))?.name).toBe("shopify");
    expect(detectPreset(WOO_SAMPLE_HEADER)?.name).toBe("woocommerce");
    expect(detectPreset(WOO_CURRENT_HEADER)?.name).toBe("woocommerce");
  });

  it("takes a header of our own for ours, even with columns named like an export's", () => {
    expect(detectPreset(["sku", "name", "price", "stock", "status", "tags", "description", "barcode"])).toBeNull();
    expect(detectPreset(["sku", "name", "price", "id", "type", "parent", "title"])).toBeNull();
    expect(detectPreset(["Handle", "Title", "Vendor"])).toBeNull();
  });

  it("does not look at a header wider than any CSV header may be", () => {
    expect(detectPreset([...SHOPIFY_CLASSIC_HEADER, ...Array.from({ length: MAX_COLUMNS }, (_, i) => `c${i}`)])).toBeNull();
  });
});

describe("a named preset's header", () => {
  it("names the columns the export lacks", () => {
    expect(presetNamed("shopify").readHeader(["sku", "name", "price"])).toEqual({
      ok: false,
      code: "missing_columns",
      message: 'The header is missing the column(s) "Handle" or "URL handle" that a Shopify product export has; it cannot be read as one.',
    });
    expect(presetNamed("woocommerce").readHeader(SHOPIFY_CLASSIC_HEADER)).toMatchObject({
      ok: false,
      message: 'The header is missing the column(s) "SKU" that a WooCommerce product export has; it cannot be read as one.',
    });
  });

  it("refuses one column under both of its names, as any header naming a column twice", () => {
    expect(presetNamed("shopify").readHeader(["Handle", "URL handle", "SKU"])).toMatchObject({ ok: false, code: "duplicate_columns" });
  });

  it("lists the export's columns it does not read as ignored", () => {
    const header = presetNamed("woocommerce").readHeader(["ID", "Type", "SKU", "Attribute 1 name", "Attribute 1 visible", "Sale price"]);
    expect(header).toEqual({ ok: true, columns: [null, "type", "sku", "attribute 1 name", null, null], ignored: ["ID", "Attribute 1 visible", "Sale price"] });
  });
});

describe("the Shopify carried state", () => {
  function rowsOf(header: readonly string[], records: readonly Record<string, string>[]) {
    const layout = presetNamed("shopify").readHeader(header);
    if (!layout.ok) throw new Error(layout.message);
    const reader = presetNamed("shopify").rows(layout.columns, null, RULES);
    const rows: RowOutcome[] = records.map((cells, i) => reader.row(i + 2, cells));
    return { rows, state: reader.takeState() };
  }

  it("is bounded whatever the first row holds: a refused cell is carried as its error, with its value cut", () => {
    const huge = "x".repeat(1_000_000);
    const { rows, state } = rowsOf(["Handle", "Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Variant SKU", "Variant Price"], [
      { handle: "h", title: "T", description: huge, "option1 name": huge, "option1 value": "S", sku: "A", price: "1" },
      { handle: "h", "option1 value": "M", sku: "B", price: "1" },
    ]);
    expect(JSON.stringify(state).length).toBeLessThan(2_000);
    for (const row of rows) {
      expect(row.ok).toBe(false);
      const errors = row.ok ? [] : row.errors;
      expect(errors.map((e) => [e.column, e.code])).toEqual([["description", "too_long"], ["options", "invalid_options"]]);
      expect(errors[0]?.message).toBe("Description is too long: 1000000 characters, the limit is 10000.");
      expect(errors[0]?.value).toHaveLength(200);
    }
  });

  it("is written only when a row starts another product", () => {
    const layout = presetNamed("shopify").readHeader(["Handle", "Title", "Variant SKU", "Variant Price"]);
    if (!layout.ok) throw new Error(layout.message);
    const reader = presetNamed("shopify").rows(layout.columns, null, RULES);
    reader.row(2, { handle: "a", title: "A", sku: "A-1", price: "1" });
    expect(reader.takeState()?.carried).toMatchObject({ handle: "a", fields: { name: "A" } });
    reader.row(3, { handle: "a", sku: "A-2", price: "1" });
    expect(reader.takeState()).toBeUndefined();
    reader.row(4, { handle: "b", title: "B", sku: "B-1", price: "1" });
    expect(reader.takeState()?.carried).toMatchObject({ handle: "b", fields: { name: "B" } });
  });

  it("is read back as it was written, and refused when it is not", () => {
    const layout = presetNamed("shopify").readHeader(["Handle", "Title", "Variant SKU", "Variant Price"]);
    if (!layout.ok) throw new Error(layout.message);
    const reader = presetNamed("shopify").rows(layout.columns, null, RULES);
    reader.row(2, { handle: "a", title: "A", sku: "A-1", price: "1" });
    const carried: unknown = JSON.parse(JSON.stringify(reader.takeState()?.carried));
    const resumed = presetNamed("shopify").rows(layout.columns, carried, RULES).row(3, { handle: "a", sku: "A-2", price: "2" });
    expect(resumed).toMatchObject({ ok: true, product: { sku: "A-2", name: "A", group: "a" } });
    const errors = [{ column: "name", code: "no_such_code", message: "m", value: null }];
    for (const broken of [{ handle: "a" }, { ...(carried as object), fields: { status: "sold" } }, { ...(carried as object), errors }, "a", undefined]) {
      expect(() => presetNamed("shopify").rows(layout.columns, broken, RULES), JSON.stringify(broken)).toThrow(UnreadableSourceState);
    }
    expect(() => presetNamed("woocommerce").rows([], { handle: "a" }, RULES)).toThrow(UnreadableSourceState);
  });
});

describe("a WooCommerce variation's attributes", () => {
  const header = ["ID", "Type", "SKU", "Name", "Regular price", "Attribute 1 name", "Attribute 1 value(s)", "Attribute 2 name", "Attribute 2 value(s)"];
  const cells = { type: "variation", sku: "V-1", name: "V", "regular price": "1", "attribute 1 name": "Color", "attribute 1 value(s)": "Red\\, dark", "attribute 2 name": "Color", "attribute 2 value(s)": "Blue" };

  function rowOf(values: Record<string, string>, onInvalid: "reject_row" | "skip_field"): RowOutcome {
    const layout = presetNamed("woocommerce").readHeader(header);
    if (!layout.ok) throw new Error(layout.message);
    return presetNamed("woocommerce").rows(layout.columns, null, { ...RULES, onInvalid }).row(2, values);
  }

  it("are its options, a value's escaped comma read back", () => {
    const row = rowOf({ ...cells, "attribute 2 name": "Size" }, "reject_row");
    expect(row.ok && row.product.options).toEqual({ Color: "Red, dark", Size: "Blue" });
  });

  it("refuse a name given twice, which with on_invalid=skip_field leaves the options out with a warning", () => {
    const error = { line: 2, column: "options", code: "invalid_options", message: 'Option "Color" is given twice.', value: "Color" };
    // The rejected row still names its SKU (replace mode does not archive it).
    expect(rowOf(cells, "reject_row")).toEqual({ ok: false, line: 2, errors: [{ ...error, severity: "error" }], skuKey: "v-1" });
    const skipped = rowOf(cells, "skip_field");
    expect(skipped).toMatchObject({ ok: true, warnings: [{ ...error, severity: "warning" }] });
    expect(skipped.ok && skipped.product.options).toBeUndefined();
  });
});

describe("WooCommerce cells of any length", () => {
  const header = ["ID", "Type", "SKU", "Name", "Regular price", "Tags"];

  function rowOf(values: Record<string, string>): RowOutcome {
    const layout = presetNamed("woocommerce").readHeader(header);
    if (!layout.ok) throw new Error(layout.message);
    return presetNamed("woocommerce").rows(layout.columns, null, RULES).row(2, values);
  }

  it("refuse a Type cell longer than any list of types as one type, without splitting it", () => {
    const type = `simple${",".repeat(MIB)}`;
    expect(rowOf({ type, sku: "W-1", name: "W", "regular price": "1" })).toMatchObject({
      ok: false,
      errors: [{ column: null, code: "unsupported_product_type", value: type.slice(0, 200) }],
    });
  });

  it("refuse a tags list longer than a product's tags for its length, without splitting it", () => {
    const tags = adversarialCell("tags", MIB);
    expect(rowOf({ type: "simple", sku: "W-1", name: "W", "regular price": "1", tags })).toMatchObject({
      ok: false,
      errors: [{ column: "tags", code: "too_long", message: `The tag list is too long: ${MIB} characters, the limit is ${productFields.tags.maxLength}.` }],
    });
  });
});
