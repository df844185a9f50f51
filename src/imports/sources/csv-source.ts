// The row source of CSV files (see contract.ts): our columns, named by the header line (through the job's column
// mapping if it has one), or a preset's (a Shopify or WooCommerce export, presets/), named by the upload or
// recognised by its header. Its own state (CsvState), committed from the header line on, is how the header was read
// and what the preset carries from row to row; the file's encoding, the preset and the ignored header columns are
// also facts the job shows.
import { z } from "zod";
import { isBlank } from "../../catalog/product.ts";
import { type ColumnMapping, mappedFields, mappingHint } from "./column-mapping.ts";
import { CSV_HEAD_MAX_CHARS, CsvParser, type CsvDelimiter, csvDelimiters, type CsvHead, type CsvRecord, MAX_COLUMNS, readCsvHead } from "../read/csv.ts";
import { decodeLeniently, FileEncoding } from "../read/encoding.ts";
import { checkHeaderWidth, IgnoredColumns, isKnownColumn, mapHeader, mapRow } from "./header.ts";
import { rowRules } from "./options.ts";
import { detectPreset, type Preset, presetNamed, presetNames } from "./presets/index.ts";
import type { CellRows } from "./presets/preset.ts";
import { type Checkpoint, PermanentImportError, type ResumeState, type RowSource, type SourceOptions, type SourceStateChange } from "./contract.ts";
import { placed, type RecordSpan, rejectedRow, type RowOutcome, type RowRules, skippedRow, validatedRow, withSkuCell } from "./rows.ts";
import { parseSourceState } from "./state.ts";

/** The CSV source's own state: how the header line was read, so that every continuation reads the rows alike. */
const csvStateSchema = z
  .object({
    /** Per header position: the column it holds (ours, or the preset's), or null if ignored. */
    columns: z.array(z.string().nullable()).max(MAX_COLUMNS),
    delimiter: z.enum(csvDelimiters),
    /** The preset the rows are read with (named, or recognised from the header), or null: our own columns. */
    preset: z.enum(presetNames).nullable(),
    /** What the preset carries from row to row up to the checkpoint (its own JSON, which it reads back); null: none. */
    carried: z.unknown(),
  })
  // Our own columns are product fields, and carry nothing from row to row.
  .refine((state) => state.preset !== null || state.columns.every((c) => c === null || isKnownColumn(c)), { message: "not a product field", path: ["columns"] })
  .refine((state) => state.preset !== null || state.carried === null, { message: "carried without a preset", path: ["carried"] });

type CsvState = z.output<typeof csvStateSchema>;

/** The delimiter a CSV job's file was read with, from the source state it committed (null before its header was read). */
export function csvDelimiterOf(sourceState: string | null): CsvDelimiter | null {
  return sourceState === null ? null : parseSourceState(csvStateSchema, sourceState).delimiter;
}

// The bytes that hold the first CSV_HEAD_MAX_CHARS characters: a UTF-16 unit takes at most three bytes of UTF-8 (two
// of UTF-16, one of Windows-1252), and a byte order mark comes before them.
const HEAD_MAX_BYTES = 3 * CSV_HEAD_MAX_CHARS + 3;

/** How the rows after the header are read: the header's columns, and what turns a record's cells into a row. */
interface HeaderColumns {
  columns: (string | null)[];
  rows: CellRows;
}

export class CsvRowSource implements RowSource {
  position: Checkpoint;
  private parser: CsvParser | null = null;
  private records: CsvRecord[] = [];
  private taken = 0;
  /** From the header line; kept in the state and reused by every continuation. */
  private header: HeaderColumns | null = null;
  private delimiter: CsvDelimiter;
  /** The file starts with an Excel `sep=` line: its first record is no header. */
  private sepLine = false;
  /** The first bytes last read for the file's start, and what they say (see head). */
  private lastHead: { bytes: Uint8Array; head: CsvHead } | null = null;
  private readonly encoding: FileEncoding;
  /** The state as committed with the last chunk, or to be committed with the next one (see takeStateChange). */
  private state: CsvState | null;
  private stateChanged = false;
  /** The preset the header line just read is read with (named or recognised), for the job to show. */
  private presetRead: Preset | null = null;
  /** Where the header line just read ends: the rows start there. */
  private headerRead: number | null = null;
  private readonly ignored: IgnoredColumns;
  private readonly options: SourceOptions;
  private readonly rules: RowRules;
  /** The upload's column mapping, applied to the header line. */
  private readonly columnMapping: ColumnMapping | null;
  /** The preset the upload named, or (once the header is read) the one its header was recognised as. */
  private preset: Preset | null;

  constructor(resume: ResumeState, options: SourceOptions) {
    this.position = resume.position;
    this.options = options;
    this.rules = rowRules(options);
    this.columnMapping = options.mapping;
    this.ignored = new IgnoredColumns(resume.ignoredColumns.names, resume.ignoredColumns.omittedKeys);
    this.encoding = new FileEncoding({ encoding: resume.encoding, checkpointByte: resume.position.byte }, options.charset ?? null);
    this.state = resume.sourceState === null ? null : parseSourceState(csvStateSchema, resume.sourceState);
    const preset = this.state ? this.state.preset : options.preset;
    this.preset = preset === null ? null : presetNamed(preset);
    this.delimiter = this.state?.delimiter ?? ",";
    if (this.state) this.header = this.headerColumns(this.state.columns, this.state.carried);
  }

  canStart(firstBytes: Uint8Array): boolean {
    if (!this.encoding.canDecide(firstBytes)) return false;
    return this.header !== null || this.head(firstBytes).complete;
  }

  push(bytes: Uint8Array): void {
    if (!this.parser) {
      const encoding = this.encoding.decide(bytes);
      // The first slice reads the delimiter from the file's start (a sep line, else the header line) unless the
      // client chose one.
      if (!this.header) {
        const head = this.head(bytes);
        this.delimiter = this.options.delimiter ?? head.delimiter;
        this.sepLine = head.sep !== null;
      }
      this.parser = new CsvParser({ startOffset: this.position.byte, startLine: this.position.line, delimiter: this.delimiter, encoding });
      this.lastHead = null;
    }
    this.records = this.parser.push(bytes);
    this.taken = 0;
  }

  finish(): boolean {
    if (!this.parser) this.push(new Uint8Array(0));
    this.records = (this.parser as CsvParser).finish();
    this.taken = 0;
    return this.records.length > 0;
  }

  next(): RowOutcome | null {
    while (this.taken < this.records.length) {
      const record = this.records[this.taken++] as CsvRecord;
      this.position = { byte: record.end, line: record.nextLine };
      if (this.header) return this.row(record, this.header);
      if (this.sepLine) this.sepLine = false;
      else this.readHeader(record);
    }
    return null;
  }

  takeStateChange(): SourceStateChange {
    const change: SourceStateChange = this.encoding.takeChange();
    if (this.presetRead) change.preset = this.presetRead.name;
    this.presetRead = null;
    if (this.headerRead !== null) change.headerBytes = this.headerRead;
    this.headerRead = null;
    const ignored = this.ignored.takeChange();
    if (ignored) change.ignoredColumns = ignored;
    const carried = this.header?.rows.takeState();
    if (carried && this.state) {
      this.state = { ...this.state, carried: carried.carried };
      this.stateChanged = true;
    }
    if (this.stateChanged) change.sourceState = JSON.stringify(this.state);
    this.stateChanged = false;
    return change;
  }

  checkComplete(): void {
    if (!this.header) {
      throw new PermanentImportError("The file is empty: it has no header line. The first line must name the columns (sku and the fields to import: name, price, stock, …).");
    }
  }

  /**
   * How the file starts (a sep line, the header line's delimiter), from its first bytes in its encoding. The first
   * push gets the bytes canStart last said yes to: they are read once.
   */
  private head(firstBytes: Uint8Array): CsvHead {
    if (this.lastHead?.bytes !== firstBytes) {
      const head = readCsvHead(decodeLeniently(firstBytes.subarray(0, HEAD_MAX_BYTES), this.encoding.decide(firstBytes)));
      this.lastHead = { bytes: firstBytes, head };
    }
    return this.lastHead.head;
  }

  private readHeader(record: CsvRecord): void {
    // A header wider than any accepted is refused on its count before any column is looked at.
    const header = checkHeaderWidth(record.width ?? record.fields.length) ?? this.layout(record.fields);
    if (!header.ok) {
      const hint = this.columnMapping && header.code === "missing_columns" ? mappingHint(this.columnMapping, record.fields) : "";
      throw new PermanentImportError(`Line ${record.line}: ${header.message}${hint}`);
    }
    this.header = this.headerColumns(header.columns, null);
    this.state = { columns: header.columns, delimiter: this.delimiter, preset: this.preset?.name ?? null, carried: null };
    this.stateChanged = true;
    this.presetRead = this.preset;
    this.headerRead = record.end;
    for (const name of header.ignored) this.ignored.add(name);
  }

  /** The header's columns: a preset's (named by the request, or recognised from the header), or ours. */
  private layout(fields: string[]) {
    this.preset ??= this.options.detectPreset ? detectPreset(fields) : null;
    return this.preset ? this.preset.readHeader(fields) : mapHeader(fields, mappedFields(this.columnMapping));
  }

  /** Our own columns are read as they are named; a preset's by the preset, carrying on from `carried`. */
  private headerColumns(columns: (string | null)[], carried: unknown): HeaderColumns {
    const rows: CellRows = this.preset
      ? this.preset.rows(columns, carried, this.rules)
      : { row: (line, cells) => validatedRow(line, cells, this.rules), takeState: () => undefined };
    return { columns, rows };
  }

  private row(record: CsvRecord, header: HeaderColumns): RowOutcome {
    const span: RecordSpan = { line: record.line, start: record.start, end: record.end };
    return placed(this.readRow(record, header, span), span);
  }

  private readRow(record: CsvRecord, header: HeaderColumns, span: RecordSpan): RowOutcome {
    // An empty spreadsheet row (Excel's ",,,,", a line of spaces) is no product; one wider than any header is ragged.
    if (record.width === undefined && record.fields.every(isBlank)) return skippedRow(record.line);
    const mapped = mapRow(header, record.fields, record.width);
    // A row that is not imported still names the SKU in its SKU column (a ragged row's by the header's position).
    if (!mapped.ok) {
      const rejected = rejectedRow(record.line, null, mapped.code, mapped.message, record.fields.join(this.delimiter));
      return withSkuCell(rejected, record.fields[header.columns.indexOf("sku")]);
    }
    return withSkuCell(header.rows.row(record.line, mapped.values, span), mapped.values.sku);
  }
}
