// The Shopify preset: a Shopify product CSV export, with the classic header (Handle, Title, Body (HTML), …, Variant
// SKU, …) or the current one (Title, URL handle, Description, …, SKU, …); one set of columns reads both.
//
// Shopify writes a product as rows under its handle: one per variant, and more for its further images. The
// product-level cells (title, description, vendor, category, tags, status, product image, option names) are on the
// handle's first row only. Each row with a SKU becomes one of our products: the product-level cells of its handle's
// first row, validated there once, are carried onto it (and committed with the checkpoint, so a slice that starts
// mid-product has them); its name is the title plus its option values; its group the handle. Rows without a SKU are
// skipped: an image row in silence, a variant without one (Shopify allows it) with a warning on its line.
import { z } from "zod";
import { isBlank, type ProductInput, productLimits, validateProductRow } from "../../../catalog/product.ts";
import { productStatuses } from "../../../model/product-status.ts";
import { rowErrorCodes } from "../../../model/row-error-codes.ts";
import { type CellError, type CellProblems, type RecordSpan, rejectedRow, type RowOutcome, type RowRules, skippedRow, validatedRow, withProblems } from "../rows.ts";
import { readSourceState } from "../state.ts";
import {
  carriedCell,
  type CellRows,
  type Cells,
  definePreset,
  optionsOf,
  type PresetColumns,
} from "./preset.ts";

const OPTION_COUNT = 3;
type OptionColumn = `option${1 | 2 | 3} ${"name" | "value"}`;
const OPTION_NAME = ["option1 name", "option2 name", "option3 name"] as const satisfies readonly OptionColumn[];
const OPTION_VALUE = ["option1 value", "option2 value", "option3 value"] as const satisfies readonly OptionColumn[];

type ShopifyColumn =
  | "handle" | "title" | "description" | "vendor" | "category" | "tags" | "published" | "status"
  | "sku" | "stock" | "price" | "barcode" | "product image" | "variant image" | OptionColumn;

// Header names as matched (trimmed, lower-cased): the classic export's, then the current one's where they differ.
const BY_NAME: ReadonlyMap<string, ShopifyColumn> = new Map<string, ShopifyColumn>([
  ["handle", "handle"], ["url handle", "handle"],
  ["title", "title"],
  ["body (html)", "description"], ["description", "description"],
  ["vendor", "vendor"],
  ["product category", "category"],
  ["tags", "tags"],
  ["published", "published"], ["published on online store", "published"],
  ["status", "status"],
  ["variant sku", "sku"], ["sku", "sku"],
  ["variant inventory qty", "stock"], ["inventory quantity", "stock"],
  ["variant price", "price"], ["price", "price"],
  ["variant barcode", "barcode"], ["barcode", "barcode"],
  ["image src", "product image"], ["product image url", "product image"],
  ["variant image", "variant image"], ["variant image url", "variant image"],
  ...[...OPTION_NAME, ...OPTION_VALUE].map((c) => [c, c] as const),
]);

const COLUMNS: PresetColumns<ShopifyColumn> = {
  platform: "Shopify",
  columnOf: (name) => BY_NAME.get(name) ?? null,
  required: [
    { column: "handle", names: ["Handle", "URL handle"] },
    { column: "sku", names: ["Variant SKU", "SKU"] },
  ],
};

// Columns no file of our own format has together: the classic export's, and the current one's.
const SIGNATURES = [["handle", "variant sku"], ["title", "url handle", "sku"]];

// The value Shopify gives the one option of a product without variants ("Title": "Default Title"): no option.
const DEFAULT_TITLE = "Default Title";

// Product-level fields are validated with this SKU in place of the variants' own, which are validated on their rows.
const ANY_SKU = "X";

const cellErrorSchema = z.object({ column: z.string().nullable(), code: z.enum(rowErrorCodes), message: z.string(), value: z.string().nullable() });

/**
 * What a handle's first row gives its other rows; it is committed with each chunk that changes it (a slice may start
 * mid-product) and read back through this schema.
 */
const carriedSchema = z.object({
  /** The handle (cut, see carriedCell) whose rows follow. */
  handle: z.string(),
  /** Product-level fields as validated on the handle's first row; a field the row did not give is absent. */
  fields: z.object({
    name: z.string().optional(),
    description: z.string().nullable().optional(),
    brand: z.string().nullable().optional(),
    category: z.string().nullable().optional(),
    tags: z.array(z.string()).optional(),
    status: z.enum(productStatuses).optional(),
    image_url: z.string().nullable().optional(),
  }),
  /**
   * Product-level cells that were refused (errors), or left out with on_invalid=skip_field (warnings): reported on each
   * of the handle's variants, as their own cells' would be.
   */
  errors: z.array(cellErrorSchema),
  warnings: z.array(cellErrorSchema),
  /** Option1–3 Name as the first row gives them (cut, see carriedCell); null when blank or absent. */
  optionNames: z.array(z.string().nullable()).length(OPTION_COUNT),
  /**
   * Where the first row is in the file: a failed variant's failed-rows record takes it along, so that the variant
   * re-imports with its product's cells. Absent in a state saved before it was kept.
   */
  first: z.object({ line: z.int().min(1), start: z.int().min(0), end: z.int().min(0) }).optional(),
});

type Carried = z.output<typeof carriedSchema>;
type ProductFields = Carried["fields"];

class ShopifyRows implements CellRows {
  private carried: Carried | null;
  private changed = false;
  private readonly hasProductImage: boolean;
  private readonly rules: RowRules;

  constructor(columns: readonly (string | null)[], carried: unknown, rules: RowRules) {
    this.rules = rules;
    this.carried = readSourceState(carriedSchema.nullable(), carried);
    this.hasProductImage = columns.includes("product image");
  }

  row(line: number, cells: Cells, span?: RecordSpan): RowOutcome {
    const handle = (cells.handle ?? "").trim();
    const key = carriedCell(handle, productLimits.groupLength);
    // A row of another handle starts a product, whatever it holds (an image row starts one as well as a variant).
    if (key !== "" && key !== this.carried?.handle) {
      const product = this.productOf(key, cells);
      this.carried = span ? { ...product, first: span } : product;
      this.changed = true;
    }
    if (key === "" || !this.carried) {
      if (isBlank(cells.sku)) return isVariant(cells) ? skippedRow(line, VARIANT_WITHOUT_SKU) : skippedRow(line);
      const message = "Handle is required: each row of a Shopify export names its product in the Handle (URL handle) column.";
      return rejectedRow(line, "group", "required", message, "");
    }
    const outcome = isBlank(cells.sku) ? (isVariant(cells) ? skippedRow(line, VARIANT_WITHOUT_SKU) : skippedRow(line)) : this.variant(line, cells, handle, this.carried);
    // A failed variant's record needs its product's cells to re-import: the handle's first row goes along (a valid
    // variant may still be refused by the catalog).
    if (this.carried.first) outcome.context = this.carried.first;
    return outcome;
  }

  takeState(): { carried: Carried | null } | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return { carried: this.carried };
  }

  /** The product-level cells of a handle's first row, validated once: the fields given, and the cells refused. */
  private productOf(handle: string, cells: Cells): Carried {
    const raw: Record<string, unknown> = { sku: ANY_SKU };
    if (cells.title !== undefined) raw.name = cells.title;
    if (cells.description !== undefined) raw.description = cells.description;
    if (cells.vendor !== undefined) raw.brand = cells.vendor;
    if (cells.category !== undefined) raw.category = cells.category;
    if (cells.tags !== undefined) raw.tags = cells.tags;
    const status = statusOf(cells);
    if (status !== undefined) raw.status = status;
    if (cells["product image"] !== undefined) raw.image_url = cells["product image"];
    const errors: CellError[] = [];
    let warnings: CellError[] = [];
    let fields: ProductFields = {};
    // Each field is validated on its own, so a second pass without the refused cells keeps the others.
    for (let pass = 0; pass < 2; pass++) {
      const result = validateProductRow(raw, this.rules.currency, this.rules.blankCells, this.rules.onInvalid);
      if (result.ok) {
        fields = productFields(result.product);
        warnings = result.warnings ?? [];
        break;
      }
      for (const error of result.errors) {
        errors.push(error);
        if (error.column !== null) delete raw[error.column];
      }
    }
    const optionNames = OPTION_NAME.map((column) => {
      const name = (cells[column] ?? "").trim();
      return name === "" ? null : carriedCell(name, productLimits.optionNameLength);
    });
    return { handle, fields, errors, warnings, optionNames };
  }

  private variant(line: number, cells: Cells, handle: string, carried: Carried): RowOutcome {
    const { fields } = carried;
    const raw: Record<string, unknown> = { sku: cells.sku, group: handle };
    const problems: CellProblems = { errors: [], warnings: [] };

    const pairs = optionPairs(cells, carried.optionNames);
    if (pairs) {
      const options = optionsOf(pairs, this.rules, problems);
      if (options) raw.options = options;
    }
    if (fields.name !== undefined) raw.name = pairs && pairs.length > 0 ? `${fields.name} - ${pairs.map(([, value]) => value).join(" / ")}` : fields.name;

    // The variant's own image, else the product's.
    const variantImage = cells["variant image"];
    const ownImage = !isBlank(variantImage);
    if (ownImage || (!this.hasProductImage && variantImage !== undefined)) raw.image_url = variantImage;

    if (cells.price !== undefined) raw.price = cells.price;
    // A blank quantity is a variant whose inventory Shopify does not track: its stock is left alone.
    if (!isBlank(cells.stock)) raw.stock = cells.stock;
    if (cells.barcode !== undefined) raw.barcode = cells.barcode;

    // A refused product image is no problem of a variant with an image of its own.
    const given = (e: CellError) => !(ownImage && e.column === "image_url");
    problems.errors.push(...carried.errors.filter(given));
    problems.warnings.push(...carried.warnings.filter(given));
    const outcome = validatedRow(line, raw, this.rules);
    if (outcome.ok) {
      // The product-level fields were validated once, on the handle's first row (the name is the variant's own).
      const p = outcome.product;
      p.description = fields.description;
      p.brand = fields.brand;
      p.category = fields.category;
      p.tags = fields.tags;
      p.status = fields.status;
      if (!ownImage && this.hasProductImage) p.imageUrl = fields.image_url;
    }
    return withProblems(outcome, line, problems);
  }
}

/** What a variant row without a SKU is told: it is skipped, and how the merchant gets it in. */
const VARIANT_WITHOUT_SKU: CellError = {
  column: "sku",
  code: "variant_without_sku",
  message: "This variant has no SKU, which Shopify allows but a product here needs: it was not imported. Give it a SKU (Variant SKU) and import it again.",
  value: "",
};

/** Whether a row gives a variant (its price, stock, barcode, image or an option value), not only a further image. */
function isVariant(cells: Cells): boolean {
  const variantCells = [cells.price, cells.stock, cells.barcode, cells["variant image"], ...OPTION_VALUE.map((column) => cells[column])];
  return variantCells.some((cell) => cell !== undefined && !isBlank(cell));
}

function productFields(p: ProductInput): ProductFields {
  return { name: p.name, description: p.description, brand: p.brand, category: p.category, tags: p.tags, status: p.status, image_url: p.imageUrl };
}

/**
 * The product's status: Status (Shopify's `unlisted` is an active product shown only by its link), else Published
 * (TRUE: active, FALSE: draft; another value is refused as a status would be); blank when both are.
 */
function statusOf(cells: Cells): string | undefined {
  const status = cells.status?.trim();
  if (status) return status.toLowerCase() === "unlisted" ? "active" : status;
  const published = cells.published?.trim();
  if (published) {
    const flag = published.toLowerCase();
    return flag === "true" ? "active" : flag === "false" ? "draft" : published;
  }
  return cells.status ?? cells.published;
}

/** The row's real options, (name, value) in order; undefined when the header has no option values. */
function optionPairs(cells: Cells, names: readonly (string | null)[]): [string, string][] | undefined {
  let given = false;
  const pairs: [string, string][] = [];
  for (let i = 0; i < OPTION_COUNT; i++) {
    const cell = cells[OPTION_VALUE[i] as OptionColumn];
    if (cell === undefined) continue;
    given = true;
    const value = cell.trim();
    if (value === "" || value === DEFAULT_TITLE) continue;
    // A value without a name is refused by the option rules, which name it.
    pairs.push([names[i] ?? "", value]);
  }
  return given ? pairs : undefined;
}

export const shopify = definePreset({
  name: "shopify",
  columns: COLUMNS,
  signatures: SIGNATURES,
  rows: (columns, carried, rules) => new ShopifyRows(columns, carried, rules),
});
