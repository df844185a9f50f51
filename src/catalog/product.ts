/**
 * The product row: a CSV row (every value a string, blank = "") or an NDJSON row (strings, numbers, booleans, arrays,
 * objects or null) validated and normalised by the rules of the field table (fields.ts), one rule per field; plus the
 * API's product (a zod schema, as every request and response of the API), from the same table.
 *
 * A row gives only the fields its file has: a column absent from the header (a key absent from the object) is a field
 * the row leaves alone, and so is a blank cell with `blank_cells=keep`. Otherwise a blank cell clears the field to its
 * empty value (name and price cannot be cleared).
 *
 * Rows are not run through zod: an import validates millions of them, and a zod object of twelve transforms costs far
 * more per row than calling the same twelve parsers (Workers run zod without its JIT). Each parser reports problems
 * with a stable snake_case code.
 */
import { z } from "zod";
import { type Field, fieldList, type ProductColumn, productColumns, productFields } from "./fields.ts";
import { type CellReader, productOf, readFields } from "./row-fields.ts";
import { charLength, type Ctx, type FieldProblem, optionGivenTwiceMessage, priceCode, productLimits, reject } from "./field-rules.ts";
import { decimalToMinor, isCurrencyCode, type DecimalParts } from "./money.ts";
import { productStatuses } from "../model/product-status.ts";
import type { RowErrorCode } from "../model/row-error-codes.ts";
import { cutText, quote } from "../text.ts";

export { productLimits, productStatuses };
export { skuSchema, type ProductOptions } from "./field-rules.ts";

/** What an invalid field does to its row: rejects it, or (optional fields only) is left out with a warning. */
export const onInvalidModes = ["reject_row", "skip_field"] as const;
export type OnInvalid = (typeof onInvalidModes)[number];

/** What a blank cell means: clear the field to its empty value, or leave the field alone. */
export const blankCellsModes = ["clear", "keep"] as const;
export type BlankCells = (typeof blankCellsModes)[number];

type Fields = typeof productFields;

/** A field's value once its rule has read it; a price is held in minor units of its currency. */
type FieldValue<C extends ProductColumn> = C extends "price" ? number : ReturnType<Fields[C]["rule"]>;

/**
 * A validated, normalised product row: the SKU and the fields the row gives, each under its key in the field table. A
 * field the row does not give is undefined (left alone for an existing product; a new product gets its empty value).
 */
export type ProductInput = {
  sku: string;
  /** Lower-cased SKU; SKUs are unique case-insensitively. */
  skuKey: string;
  /** A price given without a currency: in minor units once the product's currency is known (see catalog-lookup.ts). */
  pendingPrice: DecimalParts | undefined;
} & { [C in Exclude<ProductColumn, "sku"> as Fields[C]["key"]]: FieldValue<C> | undefined };

export interface RowFieldError {
  /** Input field name, e.g. "price"; null when the row as a whole is unusable (as for every row error, see RowError). */
  column: string | null;
  code: RowErrorCode;
  message: string;
  /** The offending raw value as text, cut to 200 characters. */
  value: string;
}

export type RowValidationResult =
  | { ok: true; product: ProductInput; /** Fields left out with on_invalid=skip_field, and why. */ warnings: RowFieldError[] | undefined }
  | { ok: false; errors: RowFieldError[] };

const SHORTEST_CELL_LIMIT = Math.min(...fieldList.map((field) => field.maxLength));

function tooLongMessage(field: Field, length: number): string {
  return `${field.label} is too long: ${length} characters, the limit is ${field.maxLength}.`;
}

/** A text cell's length in characters once trimmed when that is over `max`, else null (one comparison for most cells). */
function lengthOver(value: unknown, max: number): number | null {
  if (typeof value !== "string" || value.length <= max) return null;
  const length = charLength(value.trim());
  return length > max ? length : null;
}

/** Whether the rules refuse this cell of `column` for its length, before anything else (see the field table). */
export function isCellTooLong(column: ProductColumn, value: unknown): boolean {
  return lengthOver(value, productFields[column].maxLength) !== null;
}

/** The problem of an option named twice (in a cell's JSON, an NDJSON object, a preset's option columns). */
export function optionGivenTwice(name: string): RowFieldError {
  return { column: "options", code: "invalid_options", message: optionGivenTwiceMessage(name), value: cutText(name, productLimits.errorValueLength) };
}

// ---------------------------------------------------------------------------
// The row check: each field's rule, from the field table

/** The fields on_invalid=skip_field may leave out; the SKU, name and price (and the currency the price is read in) are what a product is. */
const SKIPPABLE: ReadonlySet<string> = new Set(fieldList.filter((field) => field.skippable).map((field) => field.name));
/** Each field's position in the table. */
const COLUMN_ORDER: ReadonlyMap<string, number> = new Map(productColumns.map((column, i) => [column, i]));

const importCurrencies = new Map<string, string>();

/** The ISO 4217 code `defaultCurrency` names (trimmed, upper-cased); throws a RangeError if it names none. */
function importCurrency(defaultCurrency: string): string {
  const cached = importCurrencies.get(defaultCurrency);
  if (cached !== undefined) return cached;
  const code = defaultCurrency.trim().toUpperCase();
  if (!isCurrencyCode(code)) throw new RangeError(`Default currency ${quote(defaultCurrency)} is not an ISO 4217 code.`);
  importCurrencies.set(defaultCurrency, code);
  return code;
}

const INVALID_ROW: RowValidationResult = {
  ok: false,
  errors: [{ column: null, code: "invalid_row", message: "The row must be an object of column values.", value: "" }],
};

/**
 * Runs a row's field rules and ties each reported problem to its field and raw value. A text cell longer than its
 * field takes (the table's maxLength) is refused before its rule sees it, so every rule works on a bounded text.
 */
class RowCheck implements Ctx, CellReader {
  readonly problems: FieldProblem[] = [];
  errors: RowFieldError[] | undefined;
  readonly currency: string;
  /** blank_cells=keep: a blank cell leaves its field alone. */
  private readonly keep: boolean;

  constructor(currency: string, keep: boolean) {
    this.currency = currency;
    this.keep = keep;
  }

  /** Whether the row gives this field: its column (key) is there, and with blank_cells=keep it is not blank. */
  isGiven(value: unknown): boolean {
    return value !== undefined && !(this.keep && isBlank(value));
  }

  field(field: Field, value: unknown): unknown {
    // Most cells are shorter than any field's limit: one comparison, no lookup of their field's.
    const length = typeof value === "string" && value.length > SHORTEST_CELL_LIMIT ? lengthOver(value, field.maxLength) : null;
    const parsed = length === null ? field.rule(value, this) : reject(this, "too_long", tooLongMessage(field, length));
    if (this.problems.length > 0) {
      this.errors ??= [];
      for (const problem of this.problems) this.errors.push({ column: field.name, ...problem, value: displayValue(value) });
      this.problems.length = 0;
    }
    return parsed;
  }
}

/** A cell that says nothing: absent, null or only whitespace (a blank cell, the empty spreadsheet row's cells). */
export function isBlank(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === "string" && value.trim() === "");
}

/**
 * Validates and normalises one CSV or NDJSON row, reporting every field error of the row in the fields' order. Only
 * the fields the row gives are read (see ProductInput); a rejected field's parser returns FAILED (undefined).
 * A price is converted to minor units with the row's currency; without one it waits for the product's (pendingPrice).
 * Throws a RangeError if `defaultCurrency` is not an ISO 4217 code, which is a programming error.
 */
export function validateProductRow(
  raw: Record<string, unknown>,
  defaultCurrency: string,
  blankCells: BlankCells = "clear",
  onInvalid: OnInvalid = "reject_row",
): RowValidationResult {
  const row = new RowCheck(importCurrency(defaultCurrency), blankCells === "keep");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return INVALID_ROW;
  const values = readFields(raw, row);
  const price = values.price as DecimalParts | undefined;
  const currency = values.currency as string | undefined;

  // A stored price is in minor units of its currency: a new currency without a price would silently change what the
  // stored price means (¥1999 is not $19.99), so the two only change together.
  if (currency !== undefined && price === undefined && !row.errors?.some((e) => e.column === "price")) {
    row.errors ??= [];
    row.errors.push({
      column: "currency",
      code: "currency_without_price",
      message: "A currency is given without a price; give the price in that currency too, as a price and its currency change together.",
      value: displayValue(raw.currency),
    });
  }
  // Precision depends on the currency, so it is checked once both are valid, and reported with the price.
  let priceMinor: number | undefined;
  if (price !== undefined && currency !== undefined) {
    const minor = priceInMinorUnits(price, currency);
    if (minor.ok) priceMinor = minor.minor;
    else {
      row.errors ??= [];
      row.errors.push({ column: "price", code: minor.code, message: minor.message, value: displayValue(raw.price) });
      row.errors.sort(byColumnOrder);
    }
  }
  let warnings: RowFieldError[] | undefined;
  if (row.errors !== undefined) {
    if (onInvalid === "reject_row" || !row.errors.every((e) => SKIPPABLE.has(e.column ?? ""))) return { ok: false, errors: row.errors };
    warnings = row.errors;
    // A skipped field is one the row does not give: left alone, as if its column were absent.
    for (const warning of warnings) values[warning.column as ProductColumn] = undefined;
  }
  values.price = priceMinor;
  return { ok: true, product: productOf(values, priceMinor === undefined ? price : undefined) as ProductInput, warnings };
}

/**
 * The SKU key of a cell that holds a SKU the rules accept (trimmed, lower-cased), whatever the rest of its row: what a
 * row that is not imported still names (see mentionedSku in imports/sources/rows.ts). Undefined for any other cell.
 */
export function skuKeyOf(value: unknown): string | undefined {
  const field = productFields.sku;
  if (typeof value !== "string" || lengthOver(value, field.maxLength) !== null) return undefined;
  const ctx: Ctx = { problems: [], currency: "" };
  const sku = field.rule(value, ctx) as string | undefined;
  return ctx.problems.length === 0 && sku !== undefined ? sku.toLowerCase() : undefined;
}

/** A valid price in the minor units of `currency`, or why it has too many decimals for it. */
export function priceInMinorUnits(price: DecimalParts, currency: string): { ok: true; minor: number } | { ok: false; code: RowErrorCode; message: string } {
  const minor = decimalToMinor(price, currency, "Price");
  return minor.ok ? minor : { ok: false, code: priceCode(minor), message: minor.message };
}

/** Sorts problems by their field's place in the field table (row-level ones, column null, first). */
export function byColumnOrder(a: { column: string | null }, b: { column: string | null }): number {
  return (COLUMN_ORDER.get(a.column ?? "") ?? -1) - (COLUMN_ORDER.get(b.column ?? "") ?? -1);
}

/** The raw cell as text for error reports, cut to a bounded length. */
function displayValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (value === null || value === undefined) text = "";
  else if (typeof value === "object") text = safeJson(value);
  else text = String(value);
  return cutText(text, productLimits.errorValueLength);
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------
// API response

/** A product as the API returns it; registered as "Product" for OpenAPI documents. */
export const productResponseSchema = z
  .object({
    ...(Object.fromEntries(fieldList.map((field) => [field.name, field.response])) as { [C in ProductColumn]: Fields[C]["response"] }),
    created_at: z.iso.datetime().meta({ description: "ISO 8601 timestamp (UTC)." }),
    updated_at: z.iso.datetime().meta({ description: "ISO 8601 timestamp (UTC)." }),
  })
  .meta({ id: "Product", title: "Product", description: "A product in the catalog." });

export type ProductResponse = z.infer<typeof productResponseSchema>;

/** A product's fields as the API returns them, from its stored columns (`stored`: a column's value). */
export function productJson(stored: (column: string) => unknown): Omit<ProductResponse, "created_at" | "updated_at"> {
  const json: Record<string, unknown> = {};
  for (const field of fieldList) {
    const value = stored(field.column);
    json[field.name] = field.shown ? field.shown(value, stored) : field.type === "json" ? JSON.parse(value as string) : value;
  }
  return json as Omit<ProductResponse, "created_at" | "updated_at">;
}
