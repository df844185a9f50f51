// What a row source yields for each row, the same for every input shape: a validated product or the row's errors.
import { productLimits, type ProductInput, validateProductRow } from "../catalog/product.ts";
import { cutText } from "../text.ts";

export interface RowError {
  line: number;
  /** The field the error is about; null when it is about the row as a whole (a ragged CSV row, a line that is not JSON). */
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

export interface RejectedRow {
  ok: false;
  line: number;
  errors: RowError[];
  skipped?: false;
}

/** A record that is no product (a Shopify image row, a WooCommerce parent, an empty spreadsheet row): counted, not imported. */
export interface SkippedRow {
  ok: false;
  line: number;
  errors: readonly [];
  skipped: true;
}

export type RowOutcome = ValidRow | RejectedRow | SkippedRow;

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

/** Validates a row's named values (the product rules of catalog/product.ts). */
export function validatedRow(line: number, raw: Record<string, unknown>, currency: string): RowOutcome {
  const result = validateProductRow(raw, currency);
  if (result.ok) return { ok: true, line, product: result.product, json: null };
  return { ok: false, line, errors: result.errors.map((e) => ({ line, column: e.column, code: e.code, message: e.message, value: e.value })) };
}

/** A row with one error; `value` is cut to the length error values have. */
export function rejectedRow(line: number, column: string | null, code: string, message: string, value: string): RejectedRow {
  return { ok: false, line, errors: [{ line, column, code, message, value: cutText(value, productLimits.errorValueLength) }] };
}

export function skippedRow(line: number): SkippedRow {
  return { ok: false, line, errors: [], skipped: true };
}
