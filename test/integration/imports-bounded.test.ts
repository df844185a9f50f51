// Inputs of any size and shape stay bounded, through the upload and the queue: every product cell has a length its
// rule reads at most, a record's work is bounded (a CSV record's cells beyond MAX_COLUMNS are counted, not read; an
// NDJSON line of more than MAX_LINE_VALUES values is refused unparsed), and a slice's budget is checked at every record,
// so a chunk of rows that add nothing to it still hands over (the guards that make a hand-over mid-chunk exact are
// exercised with duplicates and failures in imports-reliability.test.ts). How long the event loop waits was measured by a
// benchmark (scripts/bench/RESULTS.md, "Event loop"), not here.
import { describe, expect, it } from "vitest";
import { productColumns, productFields } from "../../src/catalog/fields.ts";
import type { Env } from "../../src/config.ts";
import { adversarialCell, MIB } from "../adversarial-cells.ts";
import { importDirect, type QueuedJobOptions } from "../consumer-helpers.ts";
import { createTenant } from "../helpers.ts";
import { importFile, rowErrors } from "../imports-helpers.ts";

// A cell of nearly a mebibyte: its row still fits the record limit.
const CELL_LENGTH = MIB - 64;
const csvCell = (text: string) => `"${text.replaceAll('"', '""')}"`;

describe("a mebibyte cell in any column", () => {
  // With blank_cells=keep, the blank cells of a row are columns it does not give: each row's one error is its long cell.
  const expected = productColumns.map((column, i) => {
    const cell = adversarialCell(column, CELL_LENGTH);
    const { label, maxLength } = productFields[column];
    const message = `${label} is too long: ${CELL_LENGTH} characters, the limit is ${maxLength}.`;
    return { line: i + 2, column, code: "too_long", message, value: cell.slice(0, 200), severity: "error", cell };
  });

  it.each([
    ["CSV", "text/csv", [productColumns.join(","), ...expected.map((e) => productColumns.map((c) => (c === e.column ? csvCell(e.cell) : c === "sku" ? `S-${e.line}` : "")).join(","))]],
    ["NDJSON", "application/x-ndjson", expected.map((e) => JSON.stringify({ sku: `S-${e.line}`, [e.column]: e.cell }))],
  ] as const)("is refused for its length in %s, as a row error naming the column and its limit", async (_, type, lines) => {
    const t = await createTenant();
    const job = await importFile(t.key, `${lines.join("\n")}\n`, { type, query: "blank_cells=keep" });
    // An NDJSON file has no header line: its rows start on line 1.
    const shift = type === "text/csv" ? 0 : 1;
    expect(job).toMatchObject({ status: "completed", processed_rows: productColumns.length, rejected_rows: productColumns.length, error_count: productColumns.length });
    expect(await rowErrors(t.key, job.id)).toEqual(expected.map(({ cell: _, ...e }) => ({ ...e, line: e.line - shift })));
  });
});

describe("records of any shape", () => {
  it("reads a CSV row of a million commas as a ragged row, and an empty one as wide as a header may be as skipped", async () => {
    const t = await createTenant();
    const file = `sku,name,price\nA-1,One,1\n${",".repeat(1_000_000)}\n${",".repeat(999)}\nA-2,Two,2\n`;
    const job = await importFile(t.key, file);
    expect(job).toMatchObject({ status: "completed", processed_rows: 4, created: 2, rejected_rows: 1, skipped_rows: 1 });
    expect(await rowErrors(t.key, job.id)).toEqual([
      { line: 3, column: null, code: "ragged_row", message: "This row has 1,000,001 values but the header has 3 columns.", value: ",".repeat(200), severity: "error" },
    ]);
  });

  it("fails a CSV file on a header of a million columns, counting them", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `sku${",".repeat(999_999)}\nA-1\n`);
    expect(job).toMatchObject({ status: "failed", processed_rows: 0 });
    expect(job.failure_reason).toBe("Line 1: The header has 1,000,000 columns; at most 1,000 are accepted. Keep the product columns (sku, name, price, …) and remove the others.");
  });

  it("refuses an NDJSON line of 95,000 unknown keys as a row error, without listing its keys", async () => {
    const t = await createTenant();
    const keys = Array.from({ length: 95_000 }, (_, i) => `"k${i}":1`).join(",");
    const file = `{"sku":"N-1","name":"One","price":"1"}\n{"sku":"N-2",${keys}}\n{"sku":"N-3","name":"Three","price":"3"}\n`;
    const job = await importFile(t.key, file, { type: "application/x-ndjson" });
    expect(job).toMatchObject({ status: "completed", processed_rows: 3, created: 2, rejected_rows: 1, ignored_columns: [], ignored_columns_omitted: 0 });
    expect(await rowErrors(t.key, job.id)).toMatchObject([{ line: 2, column: null, code: "too_many_values", value: `{"sku":"N-2",${keys}}`.slice(0, 200) }]);
  });
});

describe("the slice's budget, at every record", () => {
  // Rows that add nothing to a chunk: refused ones (with a blank name and price, which cannot be cleared), and empty
  // spreadsheet rows (skipped).
  const refused = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 2 ? ",," : `R-${i},,`)).join("\n");
  const CSV = `sku,name,price\n${refused(10)}\n`;
  const NDJSON = `${Array.from({ length: 10 }, (_, i) => (i % 2 ? `{"sku":"R-${i}","price":"${i}%"}` : `{not json ${i}`)).join("\n")}\n`;

  async function sliced(file: string, options: QueuedJobOptions, vars: Partial<Record<keyof Env, string>>) {
    const undisturbed = await importDirect((await createTenant()).tenantId, file, options);
    const budgeted = await importDirect((await createTenant()).tenantId, file, { ...options, vars });
    expect(budgeted.snapshot.counters).toEqual(undisturbed.snapshot.counters);
    expect(budgeted.snapshot.errors).toEqual(undisturbed.snapshot.errors);
    expect(budgeted.snapshot.counters).toMatchObject({ status: "completed", processed_rows: 10, created: 0 });
    return budgeted.delivered.map((m) => m.checkpointByte);
  }

  it.each([
    ["CSV", CSV, { format: "csv" }, [0, "R-3", "R-6", "R-9"]],
    ["NDJSON", NDJSON, { format: "ndjson" }, [0, '{"sku":"R-3"', "{not json 6", '{"sku":"R-9"']],
  ] as const)("hands a %s file of rows that fill no chunk over where IMPORT_SLICE_ROWS runs out, mid-chunk", async (_, file, options, at) => {
    const offsets = at.map((needle) => (needle === 0 ? 0 : new TextEncoder().encode(file.slice(0, file.indexOf(needle))).byteLength));
    expect(await sliced(file, options, { IMPORT_SLICE_ROWS: "3" })).toEqual(offsets);
  });

  it("hands over mid-chunk when the wall-time budget is spent", async () => {
    const big = `sku,name,price\n${Array.from({ length: 10 }, (_, i) => `R-${i},${"x".repeat(200_000)},`).join("\n")}\n`;
    expect((await sliced(big, { format: "csv" }, { IMPORT_SLICE_MS: "1" })).length).toBeGreaterThan(1);
  });
});
