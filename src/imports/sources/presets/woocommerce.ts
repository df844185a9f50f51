// The WooCommerce preset: a WooCommerce product CSV export (ID, Type, SKU, Name, Published, …, Regular price,
// Categories, Tags, Images, Parent, …, Attribute 1 name, Attribute 1 value(s), …).
//
// Each row is one product of its own, complete: nothing is carried between rows. Simple, variation and external
// products become ours; variable and grouped products are parents of others and are skipped. A variation's group is
// its Parent as WooCommerce writes it (the parent's SKU, or `id:<parent ID>` for a parent without one), and its
// options are its attributes (a variation has one value of each). Lists in a cell (categories, tags, images) are
// separated by commas, a comma inside a value escaped as `\,`; a description's line breaks are written as `\n`.
import { z } from "zod";
import { isBlank, isCellTooLong } from "../../../catalog/product.ts";
import { type CellProblems, rejectedRow, type RowOutcome, type RowRules, skippedRow, validatedRow, withProblems } from "../rows.ts";
import { readSourceState } from "../state.ts";
import { quote } from "../../../text.ts";
import {
  type CellRows,
  type Cells,
  definePreset,
  optionsOf,
  type PresetColumns,
} from "./preset.ts";

type WooColumn =
  | "type" | "sku" | "name" | "published" | "description" | "stock" | "regular price" | "categories" | "tags"
  | "images" | "parent" | "brands" | "barcode";

// WooCommerce's attribute columns, numbered from 1 (their names are the columns' keys).
const ATTRIBUTE = /^attribute (\d+) (name|value\(s\))$/;

const NAMED: ReadonlyMap<string, WooColumn> = new Map<string, WooColumn>([
  ["type", "type"], ["sku", "sku"], ["name", "name"], ["published", "published"], ["description", "description"],
  ["stock", "stock"], ["regular price", "regular price"], ["categories", "categories"], ["tags", "tags"],
  ["images", "images"], ["parent", "parent"], ["brands", "brands"], ["gtin, upc, ean, or isbn", "barcode"],
]);

const COLUMNS: PresetColumns<string> = {
  platform: "WooCommerce",
  columnOf: (name) => NAMED.get(name) ?? (ATTRIBUTE.test(name) ? name : null),
  required: [
    { column: "type", names: ["Type"] },
    { column: "sku", names: ["SKU"] },
  ],
};

// Columns a file of our own format does not have together (Regular price keeps a file of ours with its own id, type
// and parent columns from being taken for an export).
const SIGNATURES = [["id", "type", "sku", "parent", "regular price"]];

const PRODUCT_TYPES = new Set(["simple", "variation", "external"]);
const PARENT_TYPES = new Set(["variable", "grouped"]);

// The longest Type cell split into types: WooCommerce writes a few ("simple, downloadable, virtual").
const MAX_TYPE_LENGTH = 100;

// Published: 1 published, 0 private, -1 draft, 2 pending review (as WooCommerce's exporter writes them).
const STATUS_OF_PUBLISHED: ReadonlyMap<string, string> = new Map([["1", "active"], ["0", "draft"], ["-1", "draft"], ["2", "draft"]]);

class WooCommerceRows implements CellRows {
  /** The attribute columns, (name column, value column) per attribute number, in header order. */
  private readonly attributes: (readonly [string, string])[];
  private readonly rules: RowRules;

  constructor(columns: readonly (string | null)[], rules: RowRules) {
    this.rules = rules;
    const byNumber = new Map<string, { name?: string; value?: string }>();
    for (const column of columns) {
      const match = column === null ? null : ATTRIBUTE.exec(column);
      if (!match) continue;
      const [, number = "", part] = match;
      const attribute = byNumber.get(number) ?? {};
      if (part === "name") attribute.name = column as string;
      else attribute.value = column as string;
      byNumber.set(number, attribute);
    }
    this.attributes = [...byNumber.values()].flatMap((a) => (a.name && a.value ? [[a.name, a.value] as const] : []));
  }

  row(line: number, cells: Cells): RowOutcome {
    // "simple, downloadable, virtual": the kind of product, and what else it is; a longer cell is one unknown type.
    const cell = cells.type ?? "";
    const types = cell.length > MAX_TYPE_LENGTH ? [cell] : cell.split(",").map((t) => t.trim().toLowerCase());
    if (types.some((t) => PARENT_TYPES.has(t))) return skippedRow(line);
    const kind = types.find((t) => PRODUCT_TYPES.has(t)) ?? (types.every((t) => t === "") ? "simple" : undefined);
    if (kind === undefined) {
      const type = cell.trim();
      const message = `WooCommerce product type ${quote(type)} is not imported: simple, variation and external products are, and variable and grouped parents are skipped.`;
      return rejectedRow(line, null, "unsupported_product_type", message, type);
    }
    const variation = kind === "variation";

    const raw: Record<string, unknown> = { sku: cells.sku };
    if (cells.name !== undefined) raw.name = cells.name;
    if (cells.description !== undefined) raw.description = descriptionOf(cells.description);
    if (cells["regular price"] !== undefined) raw.price = cells["regular price"];
    // Blank: WooCommerce does not manage the stock; "parent": a variation's stock is its parent's. Either way, ours is left alone.
    if (!isBlank(cells.stock) && cells.stock?.trim().toLowerCase() !== "parent") raw.stock = cells.stock;
    if (cells.published !== undefined) raw.status = STATUS_OF_PUBLISHED.get(cells.published.trim()) ?? cells.published;
    if (cells.images !== undefined) raw.image_url = firstItem(cells.images);
    if (cells.barcode !== undefined) raw.barcode = cells.barcode;
    if (cells.parent !== undefined) raw.group = cells.parent;
    // A variation has no categories, tags or brands of its own (its parent's stand for it): they are left alone.
    if (!variation) {
      if (cells.categories !== undefined) raw.category = firstItem(cells.categories);
      if (cells.brands !== undefined) raw.brand = firstItem(cells.brands);
      // A list longer than the tags a product takes is left whole, for the rules to refuse before it is split.
      if (cells.tags !== undefined) raw.tags = isCellTooLong("tags", cells.tags) ? cells.tags : listItems(cells.tags);
    }
    if (!variation || this.attributes.length === 0) return validatedRow(line, raw, this.rules);
    // A variation's attributes are its options; one left blank ("any Size") is no option.
    const pairs: [string, string][] = [];
    for (const [nameColumn, valueColumn] of this.attributes) {
      const name = (cells[nameColumn] ?? "").trim();
      const value = unescapeList(cells[valueColumn] ?? "").trim();
      if (name !== "" && value !== "") pairs.push([name, value]);
    }
    const problems: CellProblems = { errors: [], warnings: [] };
    const options = optionsOf(pairs, this.rules, problems);
    if (options) raw.options = options;
    return withProblems(validatedRow(line, raw, this.rules), line, problems);
  }

  takeState(): undefined {
    return undefined;
  }
}

/** WooCommerce writes a description's line breaks as `\n`, and a `\n` of its text as `\\n`. */
function descriptionOf(cell: string): string {
  return cell.replace(/\\(\\)?n/g, (_, escaped: string | undefined) => (escaped ? "\\n" : "\n"));
}

/** The items of a list cell: separated by commas, `\,` a comma inside an item. */
function listItems(cell: string): string[] {
  return cell.split(/(?<!\\),/).map((item) => unescapeList(item).trim()).filter((item) => item !== "");
}

/** The first item of a list cell as written ("Clothing > Tshirts" of "Clothing > Tshirts, Music"); blank when none. */
function firstItem(cell: string): string {
  const end = cell.search(/(?<!\\),/);
  return unescapeList(end === -1 ? cell : cell.slice(0, end)).trim();
}

function unescapeList(text: string): string {
  return text.replaceAll("\\,", ",");
}

export const woocommerce = definePreset({
  name: "woocommerce",
  columns: COLUMNS,
  signatures: SIGNATURES,
  rows: (columns, carried, rules) => {
    // A WooCommerce export's rows stand alone: nothing is carried.
    readSourceState(z.null(), carried);
    return new WooCommerceRows(columns, rules);
  },
});
