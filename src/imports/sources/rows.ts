// What a row source yields for each row, the same for every input shape: a validated product or the row's errors.
import { type Field, fieldList, IMPORT_CURRENCY, type StoredColumn } from "../../catalog/fields.ts";
import {
  type BlankCells,
  byColumnOrder,
  type OnInvalid,
  type RowFieldError,
  productLimits,
  type ProductInput,
  skuKeyOf,
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
  /**
   * "error": the row was rejected; "warning": it was imported without the field (on_invalid=skip_field), or skipped for
   * a reason the merchant can fix.
   */
  severity: Severity;
}

export type Severity = "error" | "warning";

/**
 * The product columns in the order a row travels to D1 (arrays keep the JSON parameter compact): the field table's, so
 * column i is the field of keep-mask bit i.
 */
export const STORED_COLUMNS: readonly StoredColumn[] = fieldList.map((field) => field.column);

/** The columns that hold JSON text (a list, an object): a row sends their values nested in its JSON. */
export const NESTED_COLUMNS: ReadonlySet<StoredColumn> = new Set(fieldList.filter((field) => field.type === "json").map((field) => field.column));

/** Where a row's keep mask travels, after its STORED_COLUMNS values (see rowJson). */
export const KEEP_MASK_INDEX = STORED_COLUMNS.length;

export interface ValidRow extends FailedRecord {
  ok: true;
  line: number;
  product: ProductInput;
  /** Made once (see rowJson()): the JSON that sizes the chunk is the JSON that is sent. */
  json: string | null;
  /** The fields left out of the row (on_invalid=skip_field), each a warning. */
  warnings?: RowError[];
}

/** Where a record is in the imported file: its first line, and its bytes [start, end) with its line break. */
export interface RecordSpan {
  line: number;
  start: number;
  end: number;
}

/**
 * Where a row's record is, for the job's failed rows (see failedRecordJson in write.ts): a valid row keeps it too, as
 * the catalog may still refuse it (see catalog-lookup.ts).
 */
interface FailedRecord {
  /** The record's place in the file (set by the row source). */
  span?: RecordSpan;
  /** The record its product cells came from (a Shopify variant's handle's first row), which goes along with it. */
  context?: RecordSpan;
}

interface RejectedRow extends FailedRecord {
  ok: false;
  line: number;
  errors: RowError[];
  skipped?: false;
  /** The SKU key the record names, when it names one the rules accept: a replace-mode import does not archive it. */
  skuKey?: string;
}

/**
 * A record that is no product: counted, not imported. Skipped by design (a Shopify image row, a WooCommerce parent, an
 * empty spreadsheet row) in silence; skipped for a reason the merchant can fix (a Shopify variant without a SKU) with
 * a warning that says so.
 */
interface SkippedRow extends FailedRecord {
  ok: false;
  line: number;
  errors: readonly [];
  skipped: true;
  /** Why the merchant's record was left out, when it is something to fix: it then counts as a failed row. */
  warnings?: RowError[];
  /** As a rejected row's: a skipped record that names a SKU still names it. */
  skuKey?: string;
}

export type RowOutcome = ValidRow | RejectedRow | SkippedRow;

/** A stored column's value: JSON text for a list or an object. */
type StoredValue = string | number | null;

/**
 * Appends the product's values to `values` in STORED_COLUMNS order and returns its keep mask: bit i set when the row
 * does not give STORED_COLUMNS[i], which an existing product then keeps, and which a new product gets its empty value
 * for (the import's currency for the currency). A row without a name or price is only ever sent for an existing product
 * (see catalog-lookup.ts); its placeholders are never stored. `nested`: lists and objects as they are (the JSON a row
 * travels in nests them), else as their JSON text. One walk of the field table's list, as for every row.
 */
function pushColumnValues(values: unknown[], p: ProductInput, currency: string, nested: boolean): number {
  const product = p as unknown as Readonly<Record<string, unknown>>;
  let mask = 0;
  for (let i = 0; i < fieldList.length; i++) {
    const field = fieldList[i] as Field;
    let value = product[field.key];
    if (value === undefined) {
      mask |= 1 << i;
      value = field.empty === IMPORT_CURRENCY ? currency : field.empty;
    }
    values.push(nested || field.type !== "json" ? value : JSON.stringify(value));
  }
  return mask;
}

/** Bit i set when the row does not give STORED_COLUMNS[i] (see pushColumnValues); bit 0, the SKU's, never is. */
export function keepMask(p: ProductInput): number {
  const product = p as unknown as Readonly<Record<string, unknown>>;
  let mask = 0;
  for (let i = 1; i < fieldList.length; i++) if (product[(fieldList[i] as Field).key] === undefined) mask |= 1 << i;
  return mask;
}

/** The SKU key a row names (see RejectedRow.skuKey), or undefined. */
export function mentionedSku(row: RowOutcome): string | undefined {
  return row.ok ? row.product.skuKey : row.skuKey;
}

/**
 * A row that is not imported, with the SKU key its record's SKU cell names (when the cell holds a SKU the rules accept
 * and the row does not say already): a SKU on a rejected row is still "mentioned" for a replace-mode import. Only rows
 * that are not imported pay for the look.
 */
export function withSkuCell(row: RowOutcome, skuCell: unknown): RowOutcome {
  if (row.ok || row.skuKey !== undefined) return row;
  const skuKey = skuKeyOf(skuCell);
  if (skuKey !== undefined) row.skuKey = skuKey;
  return row;
}

/**
 * The row as it travels to D1: its STORED_COLUMNS values and keep mask as a JSON array, tags and options nested (SQL
 * stores their JSON text, which is exactly JSON.stringify's). The SKU key is not sent: SQL lower-cases the SKU, which
 * is printable ASCII, the same way. `currency`: the import's, for a new product whose row has none.
 */
export function rowJson(row: ValidRow, currency: string): string {
  if (row.json === null) {
    const values: unknown[] = [];
    const mask = pushColumnValues(values, row.product, currency, true);
    values.push(mask);
    row.json = JSON.stringify(values);
  }
  return row.json;
}

/** The keep mask of a row that gives no field but its SKU. */
export const KEEP_ALL = (1 << STORED_COLUMNS.length) - 2;

/** The row as it travels to D1 with `mask` in the keep mask's place (a dry run compares with another mask, see dry-run.ts). */
export function rowJsonWithMask(row: ValidRow, currency: string, mask: number): string {
  const values: unknown[] = [];
  pushColumnValues(values, row.product, currency, true);
  values.push(mask);
  return JSON.stringify(values);
}

/** A product's stored column values, in STORED_COLUMNS order; tags and options as their JSON text, as the columns hold them. */
export type StoredFields = readonly StoredValue[];

/** What a row that gives no field but its SKU sends for each column (see pushColumnValues), as stored. */
export function absentFieldValues(currency: string): StoredFields {
  return storedValues({ sku: "" } as ProductInput, currency);
}

/** The values the row's product would be stored with, as a new product (see pushColumnValues). */
export function storedFields(row: ValidRow, currency: string): StoredFields {
  return storedValues(row.product, currency);
}

function storedValues(p: ProductInput, currency: string): StoredFields {
  const values: StoredValue[] = [];
  pushColumnValues(values, p, currency, false);
  return values;
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
  if (!result.ok) return withSkuCell({ ok: false, line, errors: rowErrors(line, result.errors, "error") }, raw.sku);
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
  const errors = [...tied([...extra.errors, ...extra.warnings], "error"), ...tied(own, "error")].sort(byColumnOrder);
  const skuKey = mentionedSku(outcome);
  return skuKey === undefined ? { ok: false, line, errors } : { ok: false, line, errors, skuKey };
}

/** The row's problems as they are stored: a rejected row's errors, or the warnings of a row imported without a field. */
export function problemsOf(row: RowOutcome): readonly RowError[] {
  return row.ok || row.skipped ? (row.warnings ?? []) : row.errors;
}

/** A record that is no product; `why`: the problem to report on its line when the merchant can fix it. */
export function skippedRow(line: number, why?: CellError): SkippedRow {
  const row: SkippedRow = { ok: false, line, errors: [], skipped: true };
  if (why) row.warnings = [{ line, ...why, severity: "warning" }];
  return row;
}

/** The row with its record's place in the file. */
export function placed(row: RowOutcome, span: RecordSpan): RowOutcome {
  row.span = span;
  return row;
}

/** Whether the row is one of the job's failed rows: rejected, or skipped for a reason the merchant can fix. */
export function isFailedRow(row: RowOutcome): row is RejectedRow | SkippedRow {
  return !row.ok && (!row.skipped || (row.warnings !== undefined && row.warnings.length > 0));
}
