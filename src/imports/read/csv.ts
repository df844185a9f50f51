/**
 * RFC 4180 CSV parser working on bytes, resumable at any record boundary.
 *
 * The structural bytes (quote, delimiter, CR, LF) are ASCII and never occur
 * inside a multi-byte UTF-8 sequence, so scanning bytes is UTF-8 safe (and
 * Windows-1252 has them where ASCII does; UTF-16 arrives as UTF-8, see
 * records.ts). Field text is decoded once per batch of records, then sliced.
 */
import {
  ByteRecordParser,
  REC_COMMON,
  REC_END,
  REC_LINE,
  REC_NEXT_LINE,
  REC_START,
  type ParserOptions,
  type RecordPosition,
} from "./records.ts";
import { FileFormatError } from "./file-format-error.ts";
import { utf16Length } from "./utf8.ts";

/**
 * Most columns a CSV header may have. A product has a dozen fields; a wider header is a file made for something
 * else, and each of its rows would be mapped column by column.
 */
export const MAX_COLUMNS = 1000;

export const csvDelimiters = [",", ";", "\t"] as const;
export type CsvDelimiter = (typeof csvDelimiters)[number];

export interface CsvRecord extends RecordPosition {
  /** The record's fields; only the first `maxFields` when it has more (then `width` says how many). */
  fields: string[];
  /** Set only when the record has more fields than `maxFields`: how many it has. */
  width?: number;
}

export interface CsvParserOptions extends ParserOptions {
  /** Default ",". */
  delimiter?: CsvDelimiter;
  /**
   * The fields of a record that are read (default MAX_COLUMNS, the widest header): the rest are counted, so a record
   * of a million empty fields costs a scan of its bytes, not a million strings.
   */
  maxFields?: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

// Scanner states.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Just read a quote inside a quoted field: either an escaped quote or the closing one. */
const QUOTE_IN_QUOTED = 3;
/** Just read a CR ending a record: an LF may follow. */
const AFTER_CR = 4;

/** Field span flag: the quoted field contains doubled quotes to unescape. */
const ESCAPED = 1;

// A completed record is the common layout (see records.ts) plus its range of field spans and its width.
const R_SPANS_FROM = REC_COMMON;
const R_SPANS_TO = REC_COMMON + 1;
const R_WIDTH = REC_COMMON + 2;
const R_STRIDE = REC_COMMON + 3;
// Field spans: [start, end, flags], positions relative to the window.
const S_STRIDE = 3;

export class CsvParser extends ByteRecordParser<CsvRecord> {
  private readonly delimiter: number;
  private readonly maxSpans: number;
  /** Fields of the record in progress beyond `maxFields`: counted, not kept. */
  private unreadFields = 0;

  private state = FIELD_START;
  /** Physical line of the byte at `pos`. */
  private line: number;
  private recordSpans = 0;
  private fieldStart = 0;
  private fieldFlags = 0;
  private quoteLine = 0;

  private readonly spans: number[] = [];

  constructor(options: CsvParserOptions = {}) {
    super(options, R_STRIDE);
    this.delimiter = delimiterByte(options.delimiter ?? ",");
    const maxFields = options.maxFields ?? MAX_COLUMNS;
    if (!Number.isSafeInteger(maxFields) || maxFields < 1) throw new RangeError(`maxFields must be a positive integer, got ${maxFields}`);
    this.maxSpans = maxFields * S_STRIDE;
    this.line = this.recordLine;
  }

  /**
   * Advances the state machine over every buffered byte. A record in progress is never scanned past the record
   * limit: the first of its bytes beyond it is the error, so the error a file gets does not depend on how its
   * bytes were cut into pieces (scanning on could meet a later, different error first), and a record's work is bounded.
   */
  protected scan(): void {
    const bytes = this.window.bytes;
    const length = this.window.length;
    const delimiter = this.delimiter;
    const maxRecordBytes = this.maxRecordBytes;
    let pos = this.pos;
    let state = this.state;

    while (pos < length) {
      // Records end inside this loop, so the bound moves with the start of the record in progress.
      const limit = Math.min(length, this.recordStart + maxRecordBytes + 1);
      if (pos >= limit) break;
      if (state === FIELD_START) {
        if (bytes[pos] === QUOTE) {
          state = QUOTED;
          this.quoteLine = this.line;
          this.fieldStart = pos + 1;
          this.fieldFlags = 0;
          pos++;
        } else {
          state = UNQUOTED;
          this.fieldStart = pos;
        }
        continue;
      }
      // Byte that ends the field: delimiter, CR or LF.
      let b: number;
      if (state === UNQUOTED) {
        // Stray quotes in unquoted fields are kept literally, as spreadsheets do.
        b = 0;
        while (pos < limit) {
          b = bytes[pos]!;
          if (b === delimiter || b === LF || b === CR) break;
          pos++;
        }
        if (pos === limit) break;
        const blankLine = pos === this.recordStart && b !== delimiter;
        if (!blankLine) this.addField(this.fieldStart, pos, 0);
      } else if (state === QUOTED) {
        let line = this.line;
        while (pos < limit) {
          const c = bytes[pos];
          if (c === QUOTE) break;
          if (c === LF) {
            if (bytes[pos - 1] !== CR) line++;
          } else if (c === CR) line++;
          pos++;
        }
        this.line = line;
        if (pos === limit) break;
        pos++;
        state = QUOTE_IN_QUOTED;
        continue;
      } else if (state === QUOTE_IN_QUOTED) {
        b = bytes[pos]!;
        if (b === QUOTE) {
          this.fieldFlags = ESCAPED;
          state = QUOTED;
          pos++;
          continue;
        }
        if (b !== delimiter && b !== LF && b !== CR) throw this.unexpectedQuoteError();
        this.addField(this.fieldStart, pos - 1, this.fieldFlags);
      } else {
        // AFTER_CR
        if (bytes[pos] === LF) pos++;
        this.endRecord(pos, true);
        state = FIELD_START;
        continue;
      }
      pos++;
      if (b === delimiter) state = FIELD_START;
      else if (b === CR) state = AFTER_CR;
      else {
        this.endRecord(pos, true);
        state = FIELD_START;
      }
    }
    this.pos = pos;
    this.state = state;
    // Stopped short of the buffered bytes: the record in progress is over the limit.
    if (pos < length) throw this.tooLargeError();
  }

  protected scanEndOfInput(): void {
    const end = this.window.length;
    switch (this.state) {
      case FIELD_START:
        // A trailing delimiter leaves one more (empty) field.
        if (this.spans.length > this.recordSpans) {
          this.addField(end, end, 0);
          this.endRecord(end, false);
        }
        break;
      case UNQUOTED:
        this.addField(this.fieldStart, end, 0);
        this.endRecord(end, false);
        break;
      case QUOTED:
        throw new FileFormatError(
          "unterminated_quote",
          this.quoteLine,
          `The quoted field that starts on line ${this.quoteLine} is never closed. ` +
            'Add the missing closing quote ("), and double any quote that is part of the text ("").',
        );
      case QUOTE_IN_QUOTED:
        this.addField(this.fieldStart, end - 1, this.fieldFlags);
        this.endRecord(end, false);
        break;
      case AFTER_CR:
        this.endRecord(end, true);
        break;
    }
    this.state = FIELD_START;
  }

  private addField(start: number, end: number, flags: number): void {
    if (this.spans.length - this.recordSpans < this.maxSpans) this.spans.push(start, end, flags);
    else this.unreadFields++;
  }

  private endRecord(end: number, terminated: boolean): void {
    if (end - this.recordStart > this.maxRecordBytes) throw this.tooLargeError();
    const nextLine = terminated ? this.line + 1 : this.line;
    const spanCount = this.spans.length;
    // A record without fields is a blank line: skipped, but still counted.
    if (spanCount > this.recordSpans) {
      const width = (spanCount - this.recordSpans) / S_STRIDE + this.unreadFields;
      this.completed.push(this.recordLine, this.recordStart, end, nextLine, this.recordSpans, spanCount, width);
    }
    this.unreadFields = 0;
    this.line = nextLine;
    this.recordLine = nextLine;
    this.recordStart = end;
    this.recordSpans = spanCount;
  }

  protected override tooLargeHint(): string {
    return this.state === QUOTED
      ? ` This usually means the quote (") opened on line ${this.quoteLine} is never closed.`
      : "";
  }

  private unexpectedQuoteError(): FileFormatError {
    return new FileFormatError(
      "unexpected_quote",
      this.line,
      `Line ${this.line} has text after the closing quote of a quoted field. ` +
        'A quoted field must end right before the delimiter or the line break; ' +
        'a quote that is part of the text must be doubled ("").',
    );
  }

  /** A record can span lines (quoted line breaks): count those before the invalid byte. */
  protected override invalidUtf8Line(record: number, bad: number): number {
    const completed = this.completed;
    return completed[record + REC_LINE]! + countLineBreaks(this.window.bytes, completed[record + REC_START]!, bad);
  }

  protected buildRecords(text: string, batchStart: number, batchEnd: number, count: number): CsvRecord[] {
    const bytes = this.window.bytes;
    const base = this.window.base;
    const spans = this.spans;
    const completed = this.completed;
    // As many code units as bytes: every byte is a character (ASCII UTF-8, or a single-byte encoding), so text
    // offsets are byte offsets; valid UTF-8 with more bytes than units is counted through.
    const ascii = text.length === batchEnd - batchStart;
    let bytePos = batchStart;
    let unitPos = 0;
    const records: CsvRecord[] = [];
    for (let r = 0; r < count * R_STRIDE; r += R_STRIDE) {
      const fields: string[] = [];
      const spansTo = completed[r + R_SPANS_TO]!;
      for (let s = completed[r + R_SPANS_FROM]!; s < spansTo; s += S_STRIDE) {
        const start = spans[s]!;
        const end = spans[s + 1]!;
        let from: number;
        let to: number;
        if (ascii) {
          from = start - batchStart;
          to = end - batchStart;
        } else {
          unitPos += utf16Length(bytes, bytePos, start);
          from = unitPos;
          unitPos += utf16Length(bytes, start, end);
          to = unitPos;
          bytePos = end;
        }
        const value = text.slice(from, to);
        fields.push(spans[s + 2] === ESCAPED ? value.replaceAll('""', '"') : value);
      }
      const record: CsvRecord = {
        fields,
        line: completed[r + REC_LINE]!,
        start: base + completed[r + REC_START]!,
        end: base + completed[r + REC_END]!,
        nextLine: completed[r + REC_NEXT_LINE]!,
      };
      const width = completed[r + R_WIDTH]!;
      if (width > fields.length) record.width = width;
      records.push(record);
    }
    return records;
  }

  /** Also drops the spans of the completed records, keeping those of the partial record. */
  protected override compact(): void {
    const shift = this.recordStart;
    const spans = this.spans;
    let kept = 0;
    for (let s = this.recordSpans; s < spans.length; s += S_STRIDE) {
      spans[kept] = spans[s]! - shift;
      spans[kept + 1] = spans[s + 1]! - shift;
      spans[kept + 2] = spans[s + 2]!;
      kept += S_STRIDE;
    }
    spans.length = kept;
    this.recordSpans = 0;
    this.fieldStart -= shift;
    super.compact();
  }
}

/** Picks the delimiter that occurs most often outside quotes in the header line. */
export function detectDelimiter(headerLine: string): CsvDelimiter {
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === "," || char === ";" || char === "\t")) counts[char]++;
    else if (!quoted && (char === "\n" || char === "\r")) break;
  }
  let best: CsvDelimiter = ",";
  for (const candidate of [";", "\t"] as const) {
    if (counts[candidate] > counts[best]) best = candidate;
  }
  return best;
}

// The delimiter is detected from the header line; a header longer than this is judged by this much of it (and
// after more blank lines than this, by this much of the file), so the text read ahead for it stays bounded.
const DETECT_DELIMITER_MAX_CHARS = 64 * 1024;
/** The most text `readCsvHead` looks at: blank lines and a header line, each judged by at most so much. */
export const CSV_HEAD_MAX_CHARS = 2 * DETECT_DELIMITER_MAX_CHARS;

// Excel's first line naming the delimiter, written as it is or quoted by a tool that took it for a field.
const SEP_LINE = /^(?:sep=([,;\t])|"sep=([,;\t])")$/i;
const SEP_LINE_MAX_CHARS = 7;

export interface CsvHead {
  /** False while the text ends before the head does: the caller reads on, unless that is the whole file. */
  complete: boolean;
  /** The delimiter set by an Excel `sep=;` first line (which is then no header), or null. */
  sep: CsvDelimiter | null;
  /** The file's delimiter: the sep line's, else the one detected from the header line. */
  delimiter: CsvDelimiter;
}

/**
 * How a CSV file starts, from the text of its first bytes (without a byte order mark): an Excel `sep=` first line
 * (`sep=,` `sep=;` or `sep=` and a tab, in any case, also within quotes), else the header line the parser reads
 * (the first line with content; blank lines before it are skipped) and the delimiter it uses most. Only the first
 * CSV_HEAD_MAX_CHARS characters count, so the answer is the same however much more text was given.
 */
export function readCsvHead(text: string): CsvHead {
  const firstEnd = lineBreakAt(text, 0, SEP_LINE_MAX_CHARS + 1);
  const first = SEP_LINE.exec(text.slice(0, firstEnd < 0 ? SEP_LINE_MAX_CHARS + 1 : firstEnd));
  if (first) {
    const sep = (first[1] ?? first[2]) as CsvDelimiter;
    return { complete: firstEnd >= 0, sep, delimiter: sep };
  }
  if (firstEnd < 0 && text.length <= SEP_LINE_MAX_CHARS) return { complete: false, sep: null, delimiter: detectDelimiter(text) };
  let start = 0;
  while (start < text.length && (text[start] === "\n" || text[start] === "\r")) start++;
  const cap = Math.min(start, DETECT_DELIMITER_MAX_CHARS) + DETECT_DELIMITER_MAX_CHARS;
  const end = lineBreakAt(text, start, cap);
  const line = text.slice(start, end >= 0 ? end : cap);
  return { complete: end >= 0 || text.length >= cap, sep: null, delimiter: detectDelimiter(line) };
}

/** Index of the first CR or LF in `text[from, to)`, or -1. */
function lineBreakAt(text: string, from: number, to: number): number {
  const stop = Math.min(to, text.length);
  for (let i = from; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) return i;
  }
  return -1;
}

function delimiterByte(delimiter: string): number {
  if (delimiter !== "," && delimiter !== ";" && delimiter !== "\t") {
    throw new RangeError(`Unsupported CSV delimiter ${JSON.stringify(delimiter)}`);
  }
  return delimiter.charCodeAt(0);
}

/** Counts CRLF, LF and lone CR line breaks in `bytes[from, to)`. */
function countLineBreaks(bytes: Uint8Array, from: number, to: number): number {
  let breaks = 0;
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b === CR || (b === LF && (i === from || bytes[i - 1] !== CR))) breaks++;
  }
  return breaks;
}
