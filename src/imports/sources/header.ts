import { type ProductColumn, productColumns } from "../../catalog/fields.ts";
import { hash53 } from "../../hash.ts";
import { shorten } from "../../text.ts";
import { MAX_COLUMNS } from "../read/csv.ts";
import { isFailedRowColumn } from "../../model/failed-rows.ts";

/**
 * Maps a CSV header to the known product columns, and CSV rows to named values; lists the columns a job ignores
 * (CSV header columns and NDJSON keys alike).
 */

// Only the SKU: a file updates the fields it has columns for (a stock feed is `sku,stock`). Whether a row has what a
// new product needs is known once the catalog is asked (see catalog-lookup.ts).
const REQUIRED_COLUMNS: readonly ProductColumn[] = ["sku"];

/** Most ignored column names a job lists (CSV header columns or NDJSON keys); see IgnoredColumns. */
export const MAX_IGNORED_COLUMNS = 100;
/** Longest column name repeated back (in ignored_columns and in messages); a longer one is cut, ending in "…". */
export const MAX_NAME_LENGTH = 100;
/** Names (and positions of each) a header error lists at most; the rest are counted. */
const MAX_LISTED = 5;

/** A header read as the columns of one input shape: ours (ProductColumn), or a preset's (presets/). */
export interface HeaderLayout<K extends string> {
  ok: true;
  /** Per header position: the column it holds, or null if ignored. */
  columns: (K | null)[];
  /** Ignored column names as spelled in the file (blank names are left out). */
  ignored: string[];
}

export type HeaderMapping = HeaderLayout<ProductColumn>;

type HeaderErrorCode = "missing_columns" | "duplicate_columns" | "empty_header" | "too_many_columns";

export interface HeaderError {
  ok: false;
  code: HeaderErrorCode;
  message: string;
}

type MappedRow<K extends string = ProductColumn> =
  | { ok: true; values: Partial<Record<K, string>> }
  | { ok: false; code: "ragged_row"; expected: number; actual: number; message: string };

// The product row schema owns the list of columns; CSV headers and NDJSON keys are matched against this one set.
const KNOWN = new Set<string>(productColumns);

export function isKnownColumn(name: string): name is ProductColumn {
  return KNOWN.has(name);
}

/**
 * The product field a file's column holds, by its name trimmed and lower-cased (a CSV header name, an NDJSON key);
 * null when the column is ignored. A request's column mapping gives its own (column-mapping.ts).
 */
export type FieldOf = (normalizedName: string) => ProductColumn | null;

/** Columns named like our fields hold them. */
export const ownFields: FieldOf = (name) => (isKnownColumn(name) ? name : null);

export function normalizeColumnName(name: string): string {
  return name.trim().toLowerCase();
}

/** A column name as messages and ignored_columns repeat it: bounded in length. */
export function displayName(name: string): string {
  return shorten(name, MAX_NAME_LENGTH);
}

/**
 * Maps header fields to known columns (names are trimmed and lower-cased, then named by `fieldOf`); only the SKU is
 * required.
 */
export function mapHeader(fields: readonly string[], fieldOf: FieldOf = ownFields): HeaderMapping | HeaderError {
  const layout = layoutHeader(fields, fieldOf);
  return layout.ok ? (findMissing(layout.columns, fields) ?? layout) : layout;
}

/**
 * Reads header fields as the columns `columnOf` names (it gets each name trimmed and lower-cased; null: ignored),
 * refusing a header that is too wide, empty, or names a column twice. Linear in the number of columns, and a header
 * over MAX_COLUMNS is rejected before any of its columns is looked at.
 */
export function layoutHeader<K extends string>(fields: readonly string[], columnOf: (name: string) => K | null): HeaderLayout<K> | HeaderError {
  const tooWide = checkHeaderWidth(fields.length);
  if (tooWide) return tooWide;
  const names = fields.map((field) => field.trim());
  if (names.every((name) => name === "")) {
    return {
      ok: false,
      code: "empty_header",
      message: "The first line of the file must be a header with the column names, for example: sku, name, price.",
    };
  }
  const columns = names.map((name) => columnOf(name.toLowerCase()));
  return (
    findDuplicates(columns) ?? {
      ok: true,
      columns,
      // The columns a failed-rows file adds are read past without a word: the file goes back as it came.
      ignored: names.filter((name, index) => columns[index] === null && name !== "" && !isFailedRowColumn(name.toLowerCase())),
    }
  );
}

/** A header of `width` columns refused for its count (null when it has at most MAX_COLUMNS). */
export function checkHeaderWidth(width: number): HeaderError | null {
  if (width <= MAX_COLUMNS) return null;
  return {
    ok: false,
    code: "too_many_columns",
    message:
      `The header has ${formatCount(width)} columns; at most ${formatCount(MAX_COLUMNS)} are accepted. ` +
      "Keep the product columns (sku, name, price, …) and remove the others.",
  };
}

function findDuplicates<K extends string>(columns: readonly (K | null)[]): HeaderError | null {
  const positions = new Map<K, number[]>();
  columns.forEach((column, index) => {
    if (column === null) return;
    const at = positions.get(column);
    if (at) at.push(index + 1);
    else positions.set(column, [index + 1]);
  });
  const duplicates = [...positions].filter(([, at]) => at.length > 1);
  if (duplicates.length === 0) return null;
  const described = duplicates.map(([column, at]) => `"${column}" (columns ${listed(at.map(String), "more")})`);
  return {
    ok: false,
    code: "duplicate_columns",
    message: `The header contains the column(s) ${listed(described, "other columns")} more than once. Keep one of each.`,
  };
}

function findMissing(columns: readonly (ProductColumn | null)[], fields: readonly string[]): HeaderError | null {
  const missing = REQUIRED_COLUMNS.filter((required) => !columns.includes(required));
  if (missing.length === 0) return null;
  const found = fields.map((field) => field.trim()).filter((name) => name !== "");
  const hint =
    found.length === 1 && /[,;\t]/.test(found[0]!)
      ? " The columns may be separated by a different delimiter than the one used to read the file."
      : "";
  return {
    ok: false,
    code: "missing_columns",
    message:
      `The header is missing the required column ${missing.map((name) => `"${name}"`).join(", ")}. ` +
      `Found: ${listed(found.map(displayName), "more", ", ")}.${hint}`,
  };
}

/**
 * The first MAX_LISTED items, the rest counted: "1, 2, 3, 4, 5 and 995 more". With fewer, all of them joined with
 * `last` before the last one ("1 and 7").
 */
function listed(items: readonly string[], more: string, last = " and "): string {
  if (items.length > MAX_LISTED) return `${items.slice(0, MAX_LISTED).join(", ")} and ${formatCount(items.length - MAX_LISTED)} ${more}`;
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")}${last}${items[items.length - 1]}`;
}

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * The ignored column names a job lists, the same way for CSV header columns and NDJSON keys: each name once
 * whatever its case and surrounding spaces, as first spelled, cut to MAX_NAME_LENGTH, at most MAX_IGNORED_COLUMNS
 * names. The names left out are counted, each once (by a hash of its key, which a continuation carries on from), up
 * to MAX_COLUMNS names in all: a CSV header has no more, and an NDJSON file with more unknown keys is not counted
 * further. What it holds is what a job stores, so a continuation carries on from the stored list.
 */
export class IgnoredColumns {
  readonly names: string[] = [];
  /** Hashes of the keys of the names left out. */
  private readonly omitted: Set<number>;
  /** The listed names as spelled: the common case of a key seen again costs one lookup. */
  private readonly spelled = new Set<string>();
  private readonly keys = new Set<string>();
  /** What of the list is committed (see takeChange). */
  private committed: { listed: number; omitted: number };

  constructor(names: readonly string[] = [], omittedKeys: readonly number[] = []) {
    this.omitted = new Set(omittedKeys);
    for (const name of names) this.add(name);
    this.committed = { listed: this.names.length, omitted: this.omitted.size };
  }

  /** How many distinct names were left out of the list. */
  get omittedCount(): number {
    return this.omitted.size;
  }

  /** The list when it changed since the last call (or since it was made): a chunk then commits it. */
  takeChange(): IgnoredColumnsChange | undefined {
    if (this.names.length === this.committed.listed && this.omitted.size === this.committed.omitted) return undefined;
    this.committed = { listed: this.names.length, omitted: this.omitted.size };
    return { names: [...this.names], omittedKeys: [...this.omitted] };
  }

  add(name: string): void {
    if (this.spelled.has(name)) return;
    const full = this.names.length >= MAX_IGNORED_COLUMNS;
    // Full and no more counted: nothing this name could change.
    if (full && this.names.length + this.omitted.size >= MAX_COLUMNS) return;
    const shown = displayName(name);
    const key = normalizeColumnName(shown);
    if (key === "" || this.keys.has(key)) {
      // Another spelling of a listed name (or a blank one): remembered, so its next rows cost one lookup too.
      this.spelled.add(name);
      return;
    }
    if (full) {
      this.omitted.add(hash53(key));
      return;
    }
    this.names.push(shown);
    this.spelled.add(name);
    this.keys.add(key);
  }
}

/** The job's ignored columns as a chunk commits them. */
export interface IgnoredColumnsChange {
  names: string[];
  omittedKeys: number[];
}

/**
 * Names a CSV row's fields by the header's columns (ours or a preset's). A row whose field count (`width`: more than
 * `fields` holds when its parser left the rest unread) differs from the header's is a row error for the caller to report.
 */
export function mapRow<K extends string = ProductColumn>(mapping: { columns: readonly (K | null)[] }, fields: readonly string[], width = fields.length): MappedRow<K> {
  const columns = mapping.columns;
  if (width !== columns.length) {
    return {
      ok: false,
      code: "ragged_row",
      expected: columns.length,
      actual: width,
      message: `This row has ${countOf(width, "value")} but the header has ${countOf(columns.length, "column")}.`,
    };
  }
  const values: Partial<Record<K, string>> = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i];
    if (column) values[column] = fields[i]!;
  }
  return { ok: true, values };
}

function countOf(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? "" : "s"}`;
}
