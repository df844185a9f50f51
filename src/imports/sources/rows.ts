// What a row source yields for each row, the same for every input shape: a validated product or the row's errors.
import {
  type BlankCells,
  byColumnOrder,
  newProductDefaults,
  type OnInvalid,
  type RowFieldError,
  productLimits,
  type ProductInput,
  type ProductOptions,
  validateProductRow,
} from "../../catalog/product.ts";
import type { RowErrorCode } from "../../model/row-error-codes.ts";
import { cutText } from "../../text.ts";

export interface RowError {
  line: number;
  /** The field the error is about; null when it is about the row as a whole (a ragged CSV row, a line that is not JSON). */
  column: string | null;
  /** One of the catalog's (model/row-error-codes.ts). */
  code: RowErrorCode;
  message: string;
  value: string | null;
  /** "error": the row was rejected; "warning": it was imported without the field (on_invalid=skip_field). */
  severity: Severity;
}

export type Severity = "error" | "warning";

/** The product columns in the order a row travels to D1 (arrays keep the JSON parameter compact). */
export const STORED_COLUMNS = [
  "sku", "name", "description", "price_minor", "currency", "stock", "status", "brand", "category", "barcode", "image_url", "tags",
  "variant_group", "options",
] as const;

/** Where a row's keep mask travels, after its STORED_COLUMNS values (see rowJson). */
export const KEEP_MASK_INDEX = STORED_COLUMNS.length;

export interface ValidRow {
  ok: true;
  line: number;
  product: ProductInput;
  /** Made once (see rowJson()): the JSON that sizes the chunk is the JSON that is sent. */
  json: string | null;
  /** The fields left out of the row (on_invalid=skip_field), each a warning. */
  warnings?: RowError[];
}

interface RejectedRow {
  ok: false;
  line: number;
  errors: RowError[];
  skipped?: false;
}

/** A record that is no product (a Shopify image row, a WooCommerce parent, an empty spreadsheet row): counted, not imported. */
interface SkippedRow {
  ok: false;
  line: number;
  errors: readonly [];
  skipped: true;
}

export type RowOutcome = ValidRow | RejectedRow | SkippedRow;

/**
 * The product's values in STORED_COLUMNS order, and its keep mask: bit i set when the row does not give column i,
 * which an existing product then keeps; a new product gets the empty value sent in its place. A row without a name
 * or price is only ever sent for an existing product (see catalog-lookup.ts); its placeholders are never stored.
 */
function columnValues<T, O>(p: ProductInput, tags: (t: string[]) => T, options: (o: ProductOptions) => O, currency: string) {
  const d = newProductDefaults;
  const values = [
    p.sku,
    p.name ?? "",
    p.description === undefined ? d.description : p.description,
    p.priceMinor ?? 0,
    p.currency ?? currency,
    p.stock ?? d.stock,
    p.status ?? d.status,
    p.brand === undefined ? d.brand : p.brand,
    p.category === undefined ? d.category : p.category,
    p.barcode === undefined ? d.barcode : p.barcode,
    p.imageUrl === undefined ? d.imageUrl : p.imageUrl,
    tags(p.tags ?? d.tags),
    p.group === undefined ? d.group : p.group,
    options(p.options ?? d.options),
  ] as const;
  return values;
}

const bit = (absent: boolean, i: number) => (absent ? 1 << i : 0);

/** Bit i set when the row does not give STORED_COLUMNS[i] (see columnValues). */
export function keepMask(p: ProductInput): number {
  return (
    bit(p.name === undefined, 1) | bit(p.description === undefined, 2) | bit(p.priceMinor === undefined, 3) |
    bit(p.currency === undefined, 4) | bit(p.stock === undefined, 5) | bit(p.status === undefined, 6) |
    bit(p.brand === undefined, 7) | bit(p.category === undefined, 8) | bit(p.barcode === undefined, 9) |
    bit(p.imageUrl === undefined, 10) | bit(p.tags === undefined, 11) | bit(p.group === undefined, 12) |
    bit(p.options === undefined, 13)
  );
}

const asIs = <T>(value: T) => value;

/**
 * The row as it travels to D1: its STORED_COLUMNS values and keep mask as a JSON array, tags and options nested (SQL
 * stores their JSON text, which is exactly JSON.stringify's). The SKU key is not sent: SQL lower-cases the SKU, which
 * is printable ASCII, the same way. `currency`: the import's, for a new product whose row has none.
 */
export function rowJson(row: ValidRow, currency: string): string {
  row.json ??= rowJsonWithMask(row, currency, keepMask(row.product));
  return row.json;
}

/** The keep mask of a row that gives no field but its SKU. */
export const KEEP_ALL = (1 << STORED_COLUMNS.length) - 2;

/** The row as it travels to D1 with `mask` in the keep mask's place (a dry run compares with another mask, see dry-run.ts). */
export function rowJsonWithMask(row: ValidRow, currency: string, mask: number): string {
  // Pushed, not spread: this runs for every row of an import.
  const values: unknown[] = columnValues(row.product, asIs, asIs, currency) as unknown as unknown[];
  values.push(mask);
  return JSON.stringify(values);
}

/** A product's stored column values; tags and options as their JSON text, as the columns hold them. */
export type StoredFields = ReturnType<typeof columnValues<string, string>>;

/** What a row that gives no field but its SKU sends for each column (see columnValues), as stored. */
export function absentFieldValues(currency: string): StoredFields {
  const none: ProductInput = {
    sku: "", skuKey: "", name: undefined, description: undefined, priceMinor: undefined, pendingPrice: undefined, currency: undefined,
    stock: undefined, status: undefined, brand: undefined, category: undefined, barcode: undefined, imageUrl: undefined,
    tags: undefined, group: undefined, options: undefined,
  };
  return columnValues(none, JSON.stringify, JSON.stringify, currency);
}

/** The values the row's product would be stored with, as a new product (see columnValues). */
export function storedFields(row: ValidRow, currency: string): StoredFields {
  return columnValues(row.product, JSON.stringify, JSON.stringify, currency);
}

/** What a row source needs to turn named values into rows: the import's currency and what a blank cell means. */
export interface RowRules {
  currency: string;
  blankCells: BlankCells;
  onInvalid: OnInvalid;
}

/** Validates a row's named values (the product rules of catalog/product.ts). */
export function validatedRow(line: number, raw: Record<string, unknown>, rules: RowRules): RowOutcome {
  const result = validateProductRow(raw, rules.currency, rules.blankCells, rules.onInvalid);
  if (!result.ok) return { ok: false, line, errors: rowErrors(line, result.errors, "error") };
  const row: ValidRow = { ok: true, line, product: result.product, json: null };
  if (result.warnings) row.warnings = rowErrors(line, result.warnings, "warning");
  return row;
}

function rowErrors(line: number, errors: RowFieldError[], severity: Severity): RowError[] {
  return errors.map((e) => ({ line, column: e.column, code: e.code, message: e.message, value: e.value, severity }));
}

/** A row with one error; `value` is cut to the length error values have. */
export function rejectedRow(line: number, column: string | null, code: RowErrorCode, message: string, value: string): RejectedRow {
  return { ok: false, line, errors: [{ line, column, code, message, value: cutText(value, productLimits.errorValueLength), severity: "error" }] };
}

/**
 * A problem a row gets from elsewhere than its own validation (a preset's carried product-level cell, an option an
 * NDJSON object gives twice), before it is tied to a line.
 */
export type CellError = Omit<RowError, "line" | "severity">;

/** Problems found outside a row's own validation: errors reject the row, warnings (on_invalid=skip_field) go with it. */
export interface CellProblems {
  errors: CellError[];
  warnings: CellError[];
}

/**
 * A problem of a field the row is read without: an error, or with on_invalid=skip_field a warning (the row is imported
 * without the field). Only for a field that policy may leave out.
 */
export function addFieldProblem(problems: CellProblems, problem: CellError, rules: RowRules): void {
  (rules.onInvalid === "skip_field" ? problems.warnings : problems.errors).push(problem);
}

/**
 * The row with the problems found outside its own validation, in column order with its own. Errors reject it;
 * warnings go with it when it is imported. A rejected row's problems are all errors, as validation reports them.
 */
export function withProblems(outcome: RowOutcome, line: number, extra: CellProblems): RowOutcome {
  if (extra.errors.length === 0 && extra.warnings.length === 0) return outcome;
  const tied = (problems: readonly CellError[], severity: Severity): RowError[] => problems.map((e) => ({ line, ...e, severity }));
  if (outcome.ok && extra.errors.length === 0) {
    outcome.warnings = [...tied(extra.warnings, "warning"), ...(outcome.warnings ?? [])].sort(byColumnOrder);
    return outcome;
  }
  const own = outcome.ok ? (outcome.warnings ?? []) : outcome.errors;
  return { ok: false, line, errors: [...tied([...extra.errors, ...extra.warnings], "error"), ...tied(own, "error")].sort(byColumnOrder) };
}

/** The row's problems as they are stored: a rejected row's errors, or the warnings of a row imported without a field. */
export function problemsOf(row: RowOutcome): readonly RowError[] {
  return row.ok ? (row.warnings ?? []) : row.errors;
}

export function skippedRow(line: number): SkippedRow {
  return { ok: false, line, errors: [], skipped: true };
}
