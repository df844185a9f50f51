// From parsed records to validated products or row errors, the same way for CSV and NDJSON.
import { productLimits, type ProductInput, validateProductRow } from "../catalog/product.ts";
import { cutText } from "../text.ts";
import type { CsvRecord } from "./csv.ts";
import { displayName, type HeaderMapping, type IgnoredColumns, isKnownColumn, mapRow, normalizeColumnName } from "./header.ts";
import type { NdjsonRecord } from "./ndjson.ts";

export const ERROR_VALUE_LENGTH = productLimits.errorValueLength;

export interface RowError {
  line: number;
  column: string | null;
  code: string;
  message: string;
  value: string | null;
}

/** The product columns in the order a row travels to D1 (arrays keep the JSON parameter compact). */
export const STORED_COLUMNS = ["sku", "name", "description", "price_minor", "currency", "stock", "status", "brand", "category", "barcode", "image_url", "tags"] as const;


export interface ValidRow {
  ok: true;
  line: number;
  product: ProductInput;
  /** Made once (see rowJson()): the JSON that sizes the chunk is the JSON that is sent. */
  json: string | null;
}

export type RowOutcome = ValidRow | { ok: false; line: number; errors: RowError[] };

/** The product's values in STORED_COLUMNS order, with tags in the form the caller needs. */
function columnValues<T>(p: ProductInput, tags: T) {
  return [p.sku, p.name, p.description, p.priceMinor, p.currency, p.stock, p.status, p.brand, p.category, p.barcode, p.imageUrl, tags] as const;
}

/**
 * The row as it travels to D1: its STORED_COLUMNS values as a JSON array, tags as a nested array (SQL stores its
 * JSON text, which is exactly JSON.stringify(tags)). The SKU key is not sent: SQL lower-cases the SKU, which is
 * printable ASCII, the same way.
 */
export function rowJson(row: ValidRow): string {
  row.json ??= JSON.stringify(columnValues(row.product, row.product.tags));
  return row.json;
}

/** A product's stored column values; tags as their JSON text, as the column holds them. */
export type StoredFields = ReturnType<typeof columnValues<string>>;

/** The values the row's product would be stored with. */
export function storedFields(row: ValidRow): StoredFields {
  return columnValues(row.product, JSON.stringify(row.product.tags));
}

/** Cuts a value to ERROR_VALUE_LENGTH UTF-16 units, never between the two halves of a surrogate pair. */
function cut(text: string): string {
  return cutText(text, ERROR_VALUE_LENGTH);
}

function fromValidation(line: number, raw: Record<string, unknown>, currency: string): RowOutcome {
  const result = validateProductRow(raw, currency);
  if (result.ok) return { ok: true, line, product: result.product, json: null };
  return { ok: false, line, errors: result.errors.map((e) => ({ line, column: e.column, code: e.code, message: e.message, value: e.value })) };
}

export function csvRow(record: CsvRecord, mapping: HeaderMapping, delimiter: string, currency: string): RowOutcome {
  const mapped = mapRow(mapping, record.fields);
  if (!mapped.ok) {
    const error = { line: record.line, column: null, code: mapped.code, message: mapped.message, value: cut(record.fields.join(delimiter)) };
    return { ok: false, line: record.line, errors: [error] };
  }
  return fromValidation(record.line, mapped.values, currency);
}

/**
 * NDJSON keys are matched like CSV header names (trimmed, case-insensitive); unknown keys are listed in `ignored`
 * (see IgnoredColumns). A field given twice ("sku" and "SKU") is a row error, as a CSV header with a duplicate
 * column is an error of the file.
 */
export function ndjsonRow(record: NdjsonRecord, currency: string, ignored: IgnoredColumns): RowOutcome {
  if (!record.value) {
    const error = record.error ?? { code: "invalid_json", message: "This line is not valid JSON." };
    return { ok: false, line: record.line, errors: [{ line: record.line, column: null, code: error.code, message: error.message, value: cut(record.raw ?? "") }] };
  }
  const raw: Record<string, unknown> = {};
  const spelled = new Map<string, string>();
  for (const [key, value] of Object.entries(record.value)) {
    const name = normalizeColumnName(key);
    if (!isKnownColumn(name)) {
      ignored.add(key);
      continue;
    }
    const earlier = spelled.get(name);
    if (earlier !== undefined) {
      const message = `The field "${name}" is given twice in this object (as "${displayName(earlier)}" and "${displayName(key)}"); give it once.`;
      return { ok: false, line: record.line, errors: [{ line: record.line, column: name, code: "duplicate_field", message, value: cut(String(value)) }] };
    }
    spelled.set(name, key);
    raw[name] = value;
  }
  return fromValidation(record.line, raw, currency);
}
