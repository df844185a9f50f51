// The row sources driven as the slice drives them: pieces pushed, rows taken, state committed and resumed from.
import { describe, expect, it } from "vitest";
import type { JobRow } from "../../../src/db/queries/jobs.ts";
import type { RowSource } from "../../../src/imports/row-source.ts";
import type { RowOutcome } from "../../../src/imports/rows.ts";
import { openRowSource } from "../../../src/imports/sources.ts";
import type { SourceStateChange } from "../../../src/imports/write.ts";
import { bytesOf, splitAt } from "./parser-helpers.ts";

/** What of a job a source reads, as a job stands at its start. */
function jobAtStart(format: JobRow["format"]): JobRow {
  return { format, checkpointByte: 0, checkpointLine: 1, columns: null, delimiter: null, mapping: null, ignoredColumns: "[]", ignoredOmittedKeys: "[]", processedRows: 0 } as JobRow;
}

/** The job after committing what `source` took so far, as the commit stores it. */
function committed(job: JobRow, source: RowSource, rows: number, change: SourceStateChange): JobRow {
  return {
    ...job,
    checkpointByte: source.position.byte,
    checkpointLine: source.position.line,
    processedRows: job.processedRows + rows,
    columns: change.header?.columns ?? job.columns,
    delimiter: change.header?.delimiter ?? job.delimiter,
    ignoredColumns: change.ignoredColumns ? JSON.stringify(change.ignoredColumns.names) : job.ignoredColumns,
    ignoredOmittedKeys: change.ignoredColumns ? JSON.stringify(change.ignoredColumns.omittedKeys) : job.ignoredOmittedKeys,
  };
}

/** Rows of `bytes` from the job's checkpoint on; stops after `limit` rows (the slice's hand-over). */
function rowsOf(job: JobRow, bytes: Uint8Array, pieces: number[], limit = Infinity): { source: RowSource; rows: RowOutcome[] } {
  const source = openRowSource(job, { currency: "USD", delimiter: null });
  const rows: RowOutcome[] = [];
  const feed = (): boolean => {
    for (let row = source.next(); row; row = source.next()) {
      rows.push(row);
      if (rows.length >= limit) return false;
    }
    return true;
  };
  // As the slice does, the first bytes are gathered until the source can start from them.
  let head: Uint8Array | null = new Uint8Array(0);
  for (const piece of splitAt(bytes.subarray(job.checkpointByte), pieces)) {
    if (head) {
      head = bytesOf(head, piece);
      if (!source.canStart(head)) continue;
    }
    source.push(head ?? piece);
    head = null;
    if (!feed()) return { source, rows };
  }
  if (head) {
    source.push(head);
    if (!feed()) return { source, rows };
  }
  while (source.finish()) if (!feed()) break;
  return { source, rows };
}

const summary = (rows: RowOutcome[]) => rows.map((r) => (r.ok ? { line: r.line, sku: r.product.sku } : { line: r.line, codes: r.errors.map((e) => e.code) }));

describe.each([
  ["csv", 'sku;name;price;colour\n\nA-1;One;1;red\n"A-2";"Two\nlines";2;blue\nA-3;Three\nA-4;Four;4;x\n'],
  ["ndjson", '{"sku":"A-1","name":"One","price":1}\n\n{"sku":"A-2","name":"Two","price":"2","colour":1}\nnot json\n{"SKU":"A-4","Name":"Four","price":4,"weight":2}\n'],
] as const)("the %s row source", (format, text) => {
  const bytes = bytesOf(text);
  const whole = rowsOf(jobAtStart(format), bytes, []);

  it("gives the same rows whatever pieces the bytes arrive in", () => {
    expect(whole.rows).toHaveLength(4);
    for (let i = 0; i <= bytes.length; i++) expect(summary(rowsOf(jobAtStart(format), bytes, [i]).rows), `split at ${i}`).toEqual(summary(whole.rows));
  });

  it("resumes after any row from what it committed: the rest of the rows, and the same ignored columns", () => {
    for (let k = 1; k <= whole.rows.length; k++) {
      const first = rowsOf(jobAtStart(format), bytes, [], k);
      const job = committed(jobAtStart(format), first.source, k, first.source.takeStateChange());
      const rest = rowsOf(job, bytes, []);
      expect(summary([...first.rows, ...rest.rows]), `after row ${k}`).toEqual(summary(whole.rows));
      const end = committed(job, rest.source, rest.rows.length, rest.source.takeStateChange());
      expect(JSON.parse(end.ignoredColumns)).toEqual(format === "csv" ? ["colour"] : ["colour", "weight"]);
    }
  });
});
