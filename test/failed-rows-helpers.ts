// GET …/failed-rows as the failed-rows tests read it.
import { expect } from "vitest";
import { request } from "./helpers.ts";
import { rowErrors } from "./imports-helpers.ts";

export const ERROR_COLUMNS = "_error_line,_error_column,_error_code,_error_message";

export async function failedRows(key: string, jobId: string): Promise<{ res: Response; bytes: Uint8Array }> {
  const res = await request(`/api/v1/products/import/${jobId}/failed-rows`, { key });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

export async function failedRowsText(key: string, jobId: string, encoding = "utf-8"): Promise<string> {
  const { res, bytes } = await failedRows(key, jobId);
  expect(res.status).toBe(200);
  return new TextDecoder(encoding).decode(bytes);
}

/** The message the job's error list gives for a line (its problems joined as the failed-rows file joins them). */
export async function messagesByLine(key: string, jobId: string): Promise<Map<number, string>> {
  const byLine = new Map<number, string>();
  for (const e of await rowErrors(key, jobId)) byLine.set(e.line, byLine.has(e.line) ? `${byLine.get(e.line)} ${e.message}` : e.message);
  return byLine;
}

/** A cell as the failed-rows file writes it with `delimiter`: quoted when it holds the delimiter or a quote. */
export const cell = (text: string, delimiter = ",") => (text.includes(delimiter) || text.includes('"') ? `"${text.replaceAll('"', '""')}"` : text);
