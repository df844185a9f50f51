// The row source of NDJSON files (see contract.ts): one JSON object per line, its keys matched like CSV header
// names (trimmed, case-insensitive, through the job's column mapping if it has one). It has no state of its own: it
// carries on from the file's encoding and the job's list of ignored keys, which the job shows.
import { optionGivenTwice } from "../../catalog/product.ts";
import { mappedFields } from "./column-mapping.ts";
import { FileEncoding } from "../read/encoding.ts";
import { displayName, type FieldOf, IgnoredColumns, normalizeColumnName } from "./header.ts";
import { rowRules } from "./options.ts";
import { isFailedRowColumn } from "../../model/failed-rows.ts";
import { NdjsonParser, type NdjsonRecord } from "../read/ndjson.ts";
import { type Checkpoint, PermanentImportError, type ResumeState, type RowSource, type SourceOptions, type SourceStateChange } from "./contract.ts";
import { addFieldProblem, type CellProblems, placed, rejectedRow, type RowOutcome, type RowRules, validatedRow, withProblems, withSkuCell } from "./rows.ts";

export class NdjsonRowSource implements RowSource {
  position: Checkpoint;
  private parser: NdjsonParser | null = null;
  private readonly encoding: FileEncoding;
  private records: NdjsonRecord[] = [];
  private taken = 0;
  /** Rows of the file before the checkpoint and taken since: a file without any is refused. */
  private rowsSeen: number;
  /** Where the file's first record starts, once it is taken, until committed. */
  private firstRecord: number | null = null;
  private readonly ignored: IgnoredColumns;
  private readonly rules: RowRules;
  private readonly fieldOf: FieldOf;

  constructor(resume: ResumeState, options: SourceOptions) {
    this.position = resume.position;
    this.encoding = new FileEncoding({ encoding: resume.encoding, checkpointByte: resume.position.byte }, options.charset ?? null);
    this.rowsSeen = resume.rowsBefore;
    this.ignored = new IgnoredColumns(resume.ignoredColumns.names, resume.ignoredColumns.omittedKeys);
    this.rules = rowRules(options);
    this.fieldOf = mappedFields(options.mapping);
  }

  canStart(firstBytes: Uint8Array): boolean {
    return this.encoding.canDecide(firstBytes);
  }

  push(bytes: Uint8Array): void {
    this.parser ??= new NdjsonParser({ startOffset: this.position.byte, startLine: this.position.line, encoding: this.encoding.decide(bytes) });
    this.records = this.parser.push(bytes);
    this.taken = 0;
  }

  finish(): boolean {
    if (!this.parser) this.push(new Uint8Array(0));
    this.records = (this.parser as NdjsonParser).finish();
    this.taken = 0;
    return this.records.length > 0;
  }

  next(): RowOutcome | null {
    if (this.taken >= this.records.length) return null;
    const record = this.records[this.taken++] as NdjsonRecord;
    this.position = { byte: record.end, line: record.nextLine };
    // The bytes before the file's first record (a byte order mark) are the failed-rows file's start.
    if (this.rowsSeen === 0) this.firstRecord = record.start;
    this.rowsSeen++;
    return placed(this.row(record), { line: record.line, start: record.start, end: record.end });
  }

  takeStateChange(): SourceStateChange {
    const change: SourceStateChange = this.encoding.takeChange();
    const ignored = this.ignored.takeChange();
    if (ignored) change.ignoredColumns = ignored;
    if (this.firstRecord !== null) change.headerBytes = this.firstRecord;
    this.firstRecord = null;
    return change;
  }

  checkComplete(): void {
    if (this.rowsSeen === 0) {
      throw new PermanentImportError('The file is empty: it has no line with a product. Each line must be a JSON object such as {"sku": "A-1", "name": "Shirt", "price": "19.99"}.');
    }
  }

  /** The record's row; one that is not imported still names the SKU its object gives (under any key read as the sku). */
  private row(record: NdjsonRecord): RowOutcome {
    const row = this.readRow(record);
    if (row.ok || !record.value) return row;
    return withSkuCell(row, Object.entries(record.value).find(([key]) => this.fieldOf(normalizeColumnName(key)) === "sku")?.[1]);
  }

  /**
   * Unknown keys are listed in the job's ignored columns. A field given twice ("sku" and "SKU", or "price" twice) is a
   * row error, as a CSV header with a duplicate column is an error of the file; an option given twice is a problem of
   * the options, as in a CSV cell.
   */
  private readRow(record: NdjsonRecord): RowOutcome {
    if (!record.value) {
      const error = record.error ?? { code: "invalid_json", message: "This line is not valid JSON." };
      return rejectedRow(record.line, null, error.code, error.message, record.raw ?? "");
    }
    let repeatedOption: string | undefined;
    for (const { name, within } of record.repeated ?? []) {
      const field = this.fieldOf(normalizeColumnName(within ?? name));
      if (within === null && field !== null) {
        const message = `The field "${field}" is given twice in this object (as "${displayName(name)}" both times); give it once.`;
        return rejectedRow(record.line, field, "duplicate_field", message, String(record.value[name]));
      }
      if (within !== null && field === "options") repeatedOption ??= name;
    }
    const raw: Record<string, unknown> = {};
    const spelled = new Map<string, string>();
    for (const [key, value] of Object.entries(record.value)) {
      const name = this.fieldOf(normalizeColumnName(key));
      if (name === null) {
        // The problems a failed-rows file added to the object are read past without a word.
        if (!isFailedRowColumn(normalizeColumnName(key))) this.ignored.add(key);
        continue;
      }
      const earlier = spelled.get(name);
      if (earlier !== undefined) {
        const message = `The field "${name}" is given twice in this object (as "${displayName(earlier)}" and "${displayName(key)}"); give it once.`;
        return rejectedRow(record.line, name, "duplicate_field", message, String(value));
      }
      spelled.set(name, key);
      raw[name] = value;
    }
    if (repeatedOption === undefined) return validatedRow(record.line, raw, this.rules);
    // JSON.parse kept one of the option's values: the options are read as not given, and the repeat is their problem.
    const problems: CellProblems = { errors: [], warnings: [] };
    addFieldProblem(problems, optionGivenTwice(repeatedOption), this.rules);
    delete raw.options;
    return withProblems(validatedRow(record.line, raw, this.rules), record.line, problems);
  }
}
