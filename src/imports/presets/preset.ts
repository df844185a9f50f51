// A preset reads a platform's own product CSV export (a Shopify or WooCommerce export: its column names, several rows
// per product, rows that are no product) into our rows. It is a step of the CSV row source (csv-source.ts): the
// source parses records and keeps the checkpoint; after the header line, a preset turns each record's cells into rows,
// and what it carries from one row to the next is committed with each chunk as the job's source state.
import { productColumns, productLimits } from "../../catalog/product.ts";
import { cutText, quote } from "../../text.ts";
import { type HeaderError, type HeaderLayout, layoutHeader } from "../header.ts";
import type { RowError, RowOutcome, RowRules } from "../rows.ts";

export const presetNames = ["shopify", "woocommerce"] as const;
export type PresetName = (typeof presetNames)[number];

/** A record's cells named by its header's columns (a column the header lacks is absent). */
export type Cells = Readonly<Partial<Record<string, string>>>;

/** Turns records into rows, one record at a time in file order; our own columns are read through one too. */
export interface CellRows {
  row(line: number, cells: Cells): RowOutcome;
  /** What the reader carries to the next rows, when it changed since the last call (JSON, committed with the chunk). */
  takeState(): string | undefined;
}

export interface Preset {
  readonly name: PresetName;
  /** Whether a header is this platform's export: it has every column of one of the preset's signatures. */
  detects(names: ReadonlySet<string>): boolean;
  /** The header read as the preset's columns, or why the file cannot be read with it. */
  readHeader(fields: readonly string[]): HeaderLayout<string> | HeaderError;
  /** The rows after a header with these columns; `state` is what was carried up to the checkpoint (null at the start). */
  rows(columns: readonly (string | null)[], state: string | null, rules: RowRules): CellRows;
}

/** A preset's columns: the column a header name (trimmed, lower-cased) holds, and the columns a header needs. */
export interface PresetColumns<K extends string> {
  platform: string;
  columnOf(name: string): K | null;
  /** Each required column with the names a message gives for it. */
  required: readonly { column: K; names: readonly string[] }[];
}

/** Reads a header with a preset's columns: the header checks every CSV header gets, then the preset's required columns. */
export function presetHeader<K extends string>(fields: readonly string[], columns: PresetColumns<K>): HeaderLayout<K> | HeaderError {
  const layout = layoutHeader(fields, columns.columnOf);
  if (!layout.ok) return layout;
  const missing = columns.required.filter((r) => !layout.columns.includes(r.column));
  if (missing.length === 0) return layout;
  const named = missing.map((r) => r.names.map((n) => `"${n}"`).join(" or "));
  return {
    ok: false,
    code: "missing_columns",
    message: `The header is missing the column(s) ${named.join(", ")} that a ${columns.platform} product export has; it cannot be read as one.`,
  };
}

/** Whether `names` holds every name of one of the signatures. */
export function hasSignature(names: ReadonlySet<string>, signatures: readonly (readonly string[])[]): boolean {
  return signatures.some((signature) => signature.every((name) => names.has(name)));
}

export function isBlank(cell: string | undefined): boolean {
  return cell === undefined || cell.trim() === "";
}

/**
 * A cell carried from row to row (and stored with the checkpoint), cut to a bound: one that fits a field of at most
 * `limit` characters is kept whole (a character is at most two UTF-16 units), and one that is longer is still longer
 * once cut, so it is refused the same way.
 */
export function carriedCell(cell: string, limit: number): string {
  return cutText(cell, 2 * limit + 2);
}

/** An error a row gets from elsewhere than its own cells (a carried product-level cell), before it is tied to a line. */
export type CellError = Omit<RowError, "line">;

const COLUMN_ORDER: ReadonlyMap<string, number> = new Map(productColumns.map((column, i) => [column, i]));

/** The row rejected with `extra` errors besides its own, in column order as every row's errors are. */
export function withErrors(outcome: RowOutcome, line: number, extra: readonly CellError[]): RowOutcome {
  if (extra.length === 0) return outcome;
  const errors: RowError[] = [...extra.map((e) => ({ line, ...e })), ...(outcome.ok ? [] : outcome.errors)];
  const order = (e: RowError) => COLUMN_ORDER.get(e.column ?? "") ?? -1;
  errors.sort((a, b) => order(a) - order(b));
  return { ok: false, line, errors };
}

/**
 * A variant's options from (name, value) pairs in order, as the product rules take them (an object; its own
 * properties, so a name like "__proto__" is a name like any other); an exact repeat of a name is an error of its own,
 * since an object keeps one of them.
 */
export function optionsOf(pairs: readonly (readonly [string, string])[]): { options: Record<string, string>; error: CellError | null } {
  const seen = new Set<string>();
  for (const [name] of pairs) {
    if (seen.has(name)) {
      const message = `Option ${quote(name)} is given twice.`;
      return { options: {}, error: { column: "options", code: "invalid_options", message, value: cutText(name, productLimits.errorValueLength) } };
    }
    seen.add(name);
  }
  return { options: Object.fromEntries(pairs), error: null };
}
