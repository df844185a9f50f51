// The CSV error report. Cells that a spreadsheet would run as a formula (starting with = + - @ tab, CR or NUL)
// get a leading apostrophe, as OWASP recommends against CSV injection (the characters of ASVS 5.0 V1.2.10);
// then ordinary RFC 4180 quoting.
import type { ImportErrorRow } from "../../db/queries/import-errors.ts";

const FORMULA_START = /^[=+\-@\t\r\0]/;

/** A cell of a CSV file whose cells are separated by `delimiter` (a cell that holds it is quoted). */
export function csvCell(value: string | number | null, delimiter = ","): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /["\r\n]/.test(text) || text.includes(delimiter) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const ERROR_REPORT_HEADER = "line,column,code,message,value,severity\r\n";

export function errorReportLine(row: ImportErrorRow): string {
  return `${[row.line, row.column, row.code, row.message, row.value, row.severity].map((cell) => csvCell(cell)).join(",")}\r\n`;
}

/** Streams every stored error, page by page, so the report never sits whole in memory. */
export function errorReportStream(fetchPage: (afterSeq: number | undefined) => Promise<ImportErrorRow[]>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let afterSeq: number | undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(ERROR_REPORT_HEADER));
      }
      const rows = await fetchPage(afterSeq);
      if (rows.length === 0) {
        controller.close();
        return;
      }
      afterSeq = rows[rows.length - 1]?.seq;
      controller.enqueue(encoder.encode(rows.map(errorReportLine).join("")));
    },
  });
}
