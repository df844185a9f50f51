// A preset reads a platform's own product CSV export (a Shopify or WooCommerce export: its column names, several rows
// per product, rows that are no product) into our rows. It is a step of the CSV row source (csv-source.ts): the
// source parses records and keeps the checkpoint; after the header line, a preset turns each record's cells into rows,
// and what it carries from one row to the next is part of the CSV source's state, committed with each chunk.
import { optionGivenTwice } from "../../../catalog/product.ts";
import { cutText } from "../../../text.ts";
import { type HeaderError, type HeaderLayout, layoutHeader } from "../header.ts";
import { addFieldProblem, type CellProblems, type RecordSpan, type RowOutcome, type RowRules } from "../rows.ts";

export const presetNames = ["shopify", "woocommerce"] as const;
export type PresetName = (typeof presetNames)[number];

/** A record's cells named by its header's columns (a column the header lacks is absent). */
export type Cells = Readonly<Partial<Record<string, string>>>;

/** Turns records into rows, one record at a time in file order; our own columns are read through one too. */
export interface CellRows {
  /** `span`: where the record is in the file (a preset that carries cells from a record names it as their context). */
  row(line: number, cells: Cells, span?: RecordSpan): RowOutcome;
  /**
   * What the reader carries to the next rows (a JSON value, which `Preset.rows` reads back), when it changed since the
   * last call: committed with the chunk.
   */
  takeState(): { carried: unknown } | undefined;
}

export interface Preset {
  readonly name: PresetName;
  /** Whether a header is this platform's export: it has every column of one of the preset's signatures. */
  detects(names: ReadonlySet<string>): boolean;
  /** The header read as the preset's columns, or why the file cannot be read with it. */
  readHeader(fields: readonly string[]): HeaderLayout<string> | HeaderError;
  /**
   * The rows after a header with these columns; `carried` is what was carried up to the checkpoint, as takeState gave
   * it (null at the start), validated here (see readSourceState).
   */
  rows(columns: readonly (string | null)[], carried: unknown, rules: RowRules): CellRows;
}

/** A preset's columns: the column a header name (trimmed, lower-cased) holds, and the columns a header needs. */
export interface PresetColumns<K extends string> {
  platform: string;
  columnOf(name: string): K | null;
  /** Each required column with the names a message gives for it. */
  required: readonly { column: K; names: readonly string[] }[];
}

/**
 * A preset from what sets it apart: its columns, the header signatures its export is recognised by (every column of
 * one of them), and how it reads the rows.
 */
export function definePreset<K extends string>(preset: {
  name: PresetName;
  columns: PresetColumns<K>;
  signatures: readonly (readonly string[])[];
  rows: Preset["rows"];
}): Preset {
  return {
    name: preset.name,
    detects: (names) => preset.signatures.some((signature) => signature.every((name) => names.has(name))),
    readHeader: (fields) => presetHeader(fields, preset.columns),
    rows: preset.rows,
  };
}

/** Reads a header with a preset's columns: the header checks every CSV header gets, then the preset's required columns. */
function presetHeader<K extends string>(fields: readonly string[], columns: PresetColumns<K>): HeaderLayout<K> | HeaderError {
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

/**
 * A cell carried from row to row (and stored with the checkpoint), cut to a bound: one that fits a field of at most
 * `limit` characters is kept whole (a character is at most two UTF-16 units), and one that is longer is still longer
 * once cut, so it is refused the same way.
 */
export function carriedCell(cell: string, limit: number): string {
  return cutText(cell, 2 * limit + 2);
}

/**
 * A variant's options from (name, value) pairs in order, as the product rules take them (an object of its own
 * properties: a name like "__proto__" reaches the rules, which refuse it). An exact repeat of a name, which an object
 * cannot hold, is a problem of the options as the rules report one: an error, or with on_invalid=skip_field a warning
 * (the row is imported without its options).
 */
export function optionsOf(pairs: readonly (readonly [string, string])[], rules: RowRules, problems: CellProblems): Record<string, string> | undefined {
  const seen = new Set<string>();
  for (const [name] of pairs) {
    if (seen.has(name)) return void addFieldProblem(problems, optionGivenTwice(name), rules);
    seen.add(name);
  }
  return Object.fromEntries(pairs);
}
