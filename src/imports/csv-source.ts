// The row source of CSV files (see row-source.ts): our columns, named by the header line (through the job's column
// mapping if it has one). Its state, committed with the first chunk, is the file's encoding, the header mapping and
// the delimiter; the ignored header columns go into the job's list.
import type { JobRow } from "../db/queries/jobs.ts";
import { type ColumnMapping, mappedFields, mappingHint, storedMapping } from "./column-mapping.ts";
import { CSV_HEAD_MAX_CHARS, CsvParser, type CsvDelimiter, type CsvHead, type CsvRecord, readCsvHead } from "./csv.ts";
import { decodeLeniently, FileEncoding } from "./encoding.ts";
import { type HeaderMapping, IgnoredColumns, mapHeader, mapRow } from "./header.ts";
import { type JobOptions, rowRules } from "./job.ts";
import { PermanentImportError, type RowSource } from "./row-source.ts";
import { rejectedRow, type RowOutcome, type RowRules, skippedRow, validatedRow } from "./rows.ts";
import type { Checkpoint, SourceStateChange } from "./write.ts";

// The bytes that hold the first CSV_HEAD_MAX_CHARS characters: a UTF-16 unit takes at most three bytes of UTF-8 (two
// of UTF-16, one of Windows-1252), and a byte order mark comes before them.
const HEAD_MAX_BYTES = 3 * CSV_HEAD_MAX_CHARS + 3;

export class CsvRowSource implements RowSource {
  position: Checkpoint;
  private parser: CsvParser | null = null;
  private records: CsvRecord[] = [];
  private taken = 0;
  /** From the header line; stored on the job with the first chunk and reused by every continuation. */
  private mapping: Pick<HeaderMapping, "columns"> | null;
  private delimiter: CsvDelimiter;
  /** The file starts with an Excel `sep=` line: its first record is no header. */
  private sepLine = false;
  private readonly encoding: FileEncoding;
  private newHeader: SourceStateChange["header"];
  private readonly ignored: IgnoredColumns;
  private readonly options: JobOptions;
  private readonly rules: RowRules;
  /** The request's column mapping, applied to the header line. */
  private readonly columnMapping: ColumnMapping | null;

  constructor(job: JobRow, options: JobOptions) {
    this.position = { byte: job.checkpointByte, line: job.checkpointLine };
    this.options = options;
    this.rules = rowRules(options);
    this.columnMapping = storedMapping(job);
    this.ignored = IgnoredColumns.ofJob(job);
    this.mapping = job.columns === null ? null : { columns: JSON.parse(job.columns) as HeaderMapping["columns"] };
    this.delimiter = (job.delimiter ?? ",") as CsvDelimiter;
    this.encoding = new FileEncoding(job, options.charset ?? null);
  }

  canStart(firstBytes: Uint8Array): boolean {
    if (!this.encoding.canDecide(firstBytes)) return false;
    return this.mapping !== null || this.head(firstBytes).complete;
  }

  push(bytes: Uint8Array): void {
    if (!this.parser) {
      const encoding = this.encoding.decide(bytes);
      // The first slice reads the delimiter from the file's start (a sep line, else the header line) unless the
      // client chose one.
      if (!this.mapping) {
        const head = this.head(bytes);
        this.delimiter = this.options.delimiter ?? head.delimiter;
        this.sepLine = head.sep !== null;
      }
      this.parser = new CsvParser({ startOffset: this.position.byte, startLine: this.position.line, delimiter: this.delimiter, encoding });
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
      if (this.mapping) return this.row(record, this.mapping);
      if (this.sepLine) this.sepLine = false;
      else this.readHeader(record);
    }
    return null;
  }

  takeStateChange(): SourceStateChange {
    const change: SourceStateChange = {};
    const encoding = this.encoding.takeChange();
    if (encoding) change.encoding = encoding;
    if (this.newHeader) change.header = this.newHeader;
    this.newHeader = undefined;
    const ignored = this.ignored.takeChange();
    if (ignored) change.ignoredColumns = ignored;
    return change;
  }

  checkComplete(): void {
    if (!this.mapping) {
      throw new PermanentImportError("The file is empty: it has no header line. The first line must name the columns (sku and the fields to import: name, price, stock, …).");
    }
  }

  /** How the file starts (a sep line, the header line's delimiter), from its first bytes in its encoding. */
  private head(firstBytes: Uint8Array): CsvHead {
    return readCsvHead(decodeLeniently(firstBytes.subarray(0, HEAD_MAX_BYTES), this.encoding.decide(firstBytes)));
  }

  private readHeader(record: CsvRecord): void {
    const header = mapHeader(record.fields, mappedFields(this.columnMapping));
    if (!header.ok) {
      const hint = this.columnMapping && header.code === "missing_columns" ? mappingHint(this.columnMapping, record.fields) : "";
      throw new PermanentImportError(`Line ${record.line}: ${header.message}${hint}`);
    }
    this.mapping = header;
    this.newHeader = { columns: JSON.stringify(header.columns), delimiter: this.delimiter };
    for (const name of header.ignored) this.ignored.add(name);
  }

  private row(record: CsvRecord, mapping: Pick<HeaderMapping, "columns">): RowOutcome {
    // An empty spreadsheet row (Excel's ",,,,", a line of spaces) is no product, however many cells it has.
    if (isBlankRecord(record.fields)) return skippedRow(record.line);
    const mapped = mapRow(mapping, record.fields);
    if (!mapped.ok) return rejectedRow(record.line, null, mapped.code, mapped.message, record.fields.join(this.delimiter));
    return validatedRow(record.line, mapped.values, this.rules);
  }
}

/** Whether every cell is blank, as the product rules take a blank cell (nothing but whitespace). */
function isBlankRecord(fields: readonly string[]): boolean {
  for (const field of fields) if (field.trim() !== "") return false;
  return true;
}
