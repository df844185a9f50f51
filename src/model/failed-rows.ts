// The names the failed-rows file (GET …/failed-rows) adds to the merchant's records: CSV columns after the file's own,
// or a key of each NDJSON object. An upload reads past them without a word (they are not listed as ignored columns),
// so the file goes back as it is once its cells are fixed.

/** The CSV columns appended to each failed record: where it is, which column, the code and the message. */
export const FAILED_ROW_COLUMNS = ["_error_line", "_error_column", "_error_code", "_error_message"] as const;

/** The NDJSON key that holds a failed record's problems. */
export const FAILED_ROW_KEY = "_errors";

/** The `_error_code` of a record that comes along as context (a Shopify handle's first row), not for a problem of its own. */
export const CONTEXT_CODE = "context";

const NAMES: ReadonlySet<string> = new Set<string>([...FAILED_ROW_COLUMNS, FAILED_ROW_KEY]);

/** Whether a column name (trimmed, lower-cased) or NDJSON key is one the failed-rows file added. */
export function isFailedRowColumn(normalizedName: string): boolean {
  return NAMES.has(normalizedName);
}
