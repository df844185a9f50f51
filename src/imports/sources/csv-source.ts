// The row source of CSV files (see row-source.ts): our columns, named by the header line (through the job's column
// mapping if it has one), or a preset's (a Shopify or WooCommerce export, presets/), named by the request or
// recognised by its header. Its state, committed with the first chunk, is the file's encoding, the header's columns,
// the delimiter and the preset; the ignored header columns go into the job's list; what a preset carries from row to
// row is committed with each chunk as the job's source state.
import { isBlank } from "../../catalog/product.ts";
import type { JobRow } from "../../db/queries/jobs.ts";
import { type ColumnMapping, mappedFields, mappingHint, storedMapping } from "./column-mapping.ts";
import { CSV_HEAD_MAX_CHARS, CsvParser, type CsvDelimiter, type CsvHead, type CsvRecord, readCsvHead } from "../read/csv.ts";
import { decodeLeniently, FileEncoding } from "../read/encoding.ts";
import { checkHeaderWidth, IgnoredColumns, mapHeader, mapRow } from "./header.ts";
import { type JobOptions, rowRules } from "../jobs/job.ts";
import { detectPreset, type Preset, presetNamed, storedPreset } from "./presets/index.ts";
import type { CellRows } from "./presets/preset.ts";
import { PermanentImportError, type RowSource } from "./contract.ts";
import { rejectedRow, type RowOutcome, type RowRules, skippedRow, validatedRow } from "./rows.ts";
import type { Checkpoint, SourceStateChange } from "../commit/write.ts";

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
  /** From the header line; stored on the job with the first chunk and reused by every continuation. */
  private header: HeaderColumns | null = null;
  private delimiter: CsvDelimiter;
  /** The file starts with an Excel `sep=` line: its first record is no header. */
  private sepLine = false;
  /** The first bytes last read for the file's start, and what they say (see head). */
  private lastHead: { bytes: Uint8Array; head: CsvHead } | null = null;
  private readonly encoding: FileEncoding;
  private newHeader: SourceStateChange["header"];
  private readonly ignored: IgnoredColumns;
  private readonly options: JobOptions;
  private readonly rules: RowRules;
  /** The request's column mapping, applied to the header line. */
  private readonly columnMapping: ColumnMapping | null;
  /** The preset the request named, or (once the header is read) the one its header was recognised as. */
  private preset: Preset | null;
  /** Whether a header may be recognised as a preset's: only when the request said nothing of how to read the file. */
  private readonly mayDetect: boolean;

  constructor(job: JobRow, options: JobOptions) {
    this.position = { byte: job.checkpointByte, line: job.checkpointLine };
    this.options = options;
    this.rules = rowRules(options);
    this.columnMapping = storedMapping(job);
    this.ignored = IgnoredColumns.ofJob(job);
    const preset = storedPreset(job);
    this.preset = preset === null ? null : presetNamed(preset);
    this.mayDetect = job.preset === null && job.profile === null && job.mapping === null;
    this.delimiter = (job.delimiter ?? ",") as CsvDelimiter;
    this.encoding = new FileEncoding(job, options.charset ?? null);
    if (job.columns !== null) this.header = this.headerColumns(JSON.parse(job.columns) as (string | null)[], job.sourceState);
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
    if (this.newHeader) change.header = this.newHeader;
    this.newHeader = undefined;
    const ignored = this.ignored.takeChange();
    if (ignored) change.ignoredColumns = ignored;
    const sourceState = this.header?.rows.takeState();
    if (sourceState !== undefined) change.sourceState = sourceState;
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
    this.newHeader = { columns: JSON.stringify(header.columns), delimiter: this.delimiter, preset: this.preset?.name ?? null };
    for (const name of header.ignored) this.ignored.add(name);
  }

  /** The header's columns: a preset's (named by the request, or recognised from the header), or ours. */
  private layout(fields: string[]) {
    this.preset ??= this.mayDetect ? detectPreset(fields) : null;
    return this.preset ? this.preset.readHeader(fields) : mapHeader(fields, mappedFields(this.columnMapping));
  }

  /** Our own columns are read as they are named; a preset's by the preset, carrying on from `state`. */
  private headerColumns(columns: (string | null)[], state: string | null): HeaderColumns {
    const rows: CellRows = this.preset
      ? this.preset.rows(columns, state, this.rules)
      : { row: (line, cells) => validatedRow(line, cells, this.rules), takeState: () => undefined };
    return { columns, rows };
  }

  private row(record: CsvRecord, header: HeaderColumns): RowOutcome {
    // An empty spreadsheet row (Excel's ",,,,", a line of spaces) is no product; one wider than any header is ragged.
    if (record.width === undefined && record.fields.every(isBlank)) return skippedRow(record.line);
    const mapped = mapRow(header, record.fields, record.width);
    if (!mapped.ok) return rejectedRow(record.line, null, mapped.code, mapped.message, record.fields.join(this.delimiter));
    return header.rows.row(record.line, mapped.values);
  }
}
