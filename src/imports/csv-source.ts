// The row source of CSV files (see row-source.ts): our columns, named by the header line (through the job's column
// mapping if it has one). Its state, committed with
// the first chunk, is the header mapping and the delimiter; the ignored header columns go into the job's list.
import type { JobRow } from "../db/queries/jobs.ts";
import { type ColumnMapping, mappedFields, mappingHint, storedMapping } from "./column-mapping.ts";
import { CsvParser, type CsvDelimiter, type CsvRecord, detectDelimiterFromBytes, headerLine } from "./csv.ts";
import { type HeaderMapping, IgnoredColumns, mapHeader, mapRow } from "./header.ts";
import { type JobOptions, rowRules } from "./job.ts";
import { PermanentImportError, type RowSource } from "./row-source.ts";
import { rejectedRow, type RowOutcome, type RowRules, validatedRow } from "./rows.ts";
import type { Checkpoint, SourceStateChange } from "./write.ts";

// The delimiter is detected from the header line; a header longer than this is judged by this much of it (and
// after more blank lines than this, by this much of the file), so the bytes read ahead for it stay bounded.
const DETECT_DELIMITER_MAX_BYTES = 64 * 1024;

export class CsvRowSource implements RowSource {
  position: Checkpoint;
  private parser: CsvParser | null = null;
  private records: CsvRecord[] = [];
  private taken = 0;
  /** From the header line; stored on the job with the first chunk and reused by every continuation. */
  private mapping: Pick<HeaderMapping, "columns"> | null;
  private delimiter: CsvDelimiter;
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
  }

  canStart(firstBytes: Uint8Array): boolean {
    if (this.mapping || this.options.delimiter) return true;
    const { start, end } = headerLine(firstBytes);
    return end >= 0 || firstBytes.length >= Math.min(start, DETECT_DELIMITER_MAX_BYTES) + DETECT_DELIMITER_MAX_BYTES;
  }

  push(bytes: Uint8Array): void {
    if (!this.parser) {
      // The first slice reads the delimiter from the first bytes unless the client chose one.
      if (!this.mapping) this.delimiter = this.options.delimiter ?? detectDelimiterFromBytes(bytes);
      this.parser = new CsvParser({ startOffset: this.position.byte, startLine: this.position.line, delimiter: this.delimiter });
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
      this.readHeader(record);
    }
    return null;
  }

  takeStateChange(): SourceStateChange {
    const change: SourceStateChange = {};
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
    const mapped = mapRow(mapping, record.fields);
    if (!mapped.ok) return rejectedRow(record.line, null, mapped.code, mapped.message, record.fields.join(this.delimiter));
    return validatedRow(record.line, mapped.values, this.rules);
  }
}
