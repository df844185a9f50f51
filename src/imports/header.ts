import { type ProductColumn, productColumns } from "../catalog/product.ts";

/**
 * Maps a CSV header to the known product columns, and CSV rows to named values.
 */

// The product row schema owns the list of columns; the header only maps names onto it.
export const KNOWN_COLUMNS = productColumns;

export type { ProductColumn };

export const REQUIRED_COLUMNS: readonly ProductColumn[] = ["sku", "name", "price"];

export interface HeaderMapping {
  ok: true;
  /** Per header position: the known column it holds, or null if ignored. */
  columns: (ProductColumn | null)[];
  /** Ignored column names as spelled in the file (blank names are left out). */
  ignored: string[];
}

export type HeaderErrorCode = "missing_columns" | "duplicate_columns" | "empty_header";

export interface HeaderError {
  ok: false;
  code: HeaderErrorCode;
  message: string;
}

export type ProductFields = Partial<Record<ProductColumn, string>>;

export type MappedRow =
  | { ok: true; values: ProductFields }
  | { ok: false; code: "ragged_row"; expected: number; actual: number; message: string };

const KNOWN = new Set<string>(KNOWN_COLUMNS);

function isKnownColumn(name: string): name is ProductColumn {
  return KNOWN.has(name);
}

export function normalizeColumnName(name: string): string {
  return name.trim().toLowerCase();
}

/** Maps header fields to known columns (names are trimmed and lower-cased). */
export function mapHeader(fields: readonly string[]): HeaderMapping | HeaderError {
  const names = fields.map((field) => field.trim());
  if (names.every((name) => name === "")) {
    return {
      ok: false,
      code: "empty_header",
      message: `The first line of the file must be a header with the column names, for example: ${REQUIRED_COLUMNS.join(", ")}.`,
    };
  }
  const columns = names.map((name) => {
    const normalized = name.toLowerCase();
    return isKnownColumn(normalized) ? normalized : null;
  });
  return (
    findDuplicates(columns) ??
    findMissing(columns, names) ?? {
      ok: true,
      columns,
      ignored: names.filter((name, index) => columns[index] === null && name !== ""),
    }
  );
}

function findDuplicates(columns: readonly (ProductColumn | null)[]): HeaderError | null {
  const positions = new Map<ProductColumn, number[]>();
  columns.forEach((column, index) => {
    if (column !== null) positions.set(column, [...(positions.get(column) ?? []), index + 1]);
  });
  const duplicates = [...positions].filter(([, at]) => at.length > 1);
  if (duplicates.length === 0) return null;
  const described = duplicates.map(([column, at]) => `"${column}" (columns ${joinWithAnd(at.map(String))})`);
  return {
    ok: false,
    code: "duplicate_columns",
    message: `The header contains the column(s) ${joinWithAnd(described)} more than once. Keep one of each.`,
  };
}

function findMissing(columns: readonly (ProductColumn | null)[], names: readonly string[]): HeaderError | null {
  const missing = REQUIRED_COLUMNS.filter((required) => !columns.includes(required));
  if (missing.length === 0) return null;
  const found = names.filter((name) => name !== "");
  const hint =
    found.length === 1 && /[,;\t]/.test(found[0]!)
      ? " The columns may be separated by a different delimiter than the one used to read the file."
      : "";
  return {
    ok: false,
    code: "missing_columns",
    message:
      `The header is missing the required column(s) ${missing.map((name) => `"${name}"`).join(", ")}. ` +
      `Found: ${found.join(", ")}.${hint}`,
  };
}

function joinWithAnd(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/**
 * Names a CSV row's fields by the header mapping. A row whose field count
 * differs from the header's is a row error for the caller to report.
 */
export function mapRow(mapping: HeaderMapping, fields: readonly string[]): MappedRow {
  const columns = mapping.columns;
  if (fields.length !== columns.length) {
    return {
      ok: false,
      code: "ragged_row",
      expected: columns.length,
      actual: fields.length,
      message: `This row has ${countOf(fields.length, "value")} but the header has ${countOf(columns.length, "column")}.`,
    };
  }
  const values: ProductFields = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i];
    if (column) values[column] = fields[i]!;
  }
  return { ok: true, values };
}

function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
