/**
 * RFC 4180 CSV parser working on bytes, resumable at any record boundary.
 *
 * The structural bytes (quote, delimiter, CR, LF) are ASCII and never occur
 * inside a multi-byte UTF-8 sequence, so scanning bytes is UTF-8 safe. Field
 * text is decoded once per batch of records, then sliced.
 */
import {
  ByteWindow,
  FileFormatError,
  byteOrderMarkLength,
  createUtf8Decoder,
  findInvalidUtf8,
  invalidUtf8Error,
  readBatches,
  recordTooLargeError,
  resolveOptions,
  utf16Length,
  type ParserOptions,
  type RecordParser,
  type RecordPosition,
} from "./records.ts";

export type CsvDelimiter = "," | ";" | "\t";

export interface CsvRecord extends RecordPosition {
  fields: string[];
}

export interface CsvParserOptions extends ParserOptions {
  /** Default ",". */
  delimiter?: CsvDelimiter;
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

// Completed records are kept as flat numbers until decoded, to avoid garbage.
const R_LINE = 0;
const R_START = 1;
const R_END = 2;
const R_SPANS_FROM = 3;
const R_SPANS_TO = 4;
const R_NEXT_LINE = 5;
const R_STRIDE = 6;
// Field spans: [start, end, flags], positions relative to the window.
const S_STRIDE = 3;

export class CsvParser implements RecordParser<CsvRecord> {
  private readonly delimiter: number;
  private readonly maxRecordBytes: number;
  private readonly window: ByteWindow;
  private readonly decoder = createUtf8Decoder();
  private atFileStart: boolean;

  private state = FIELD_START;
  /** Next byte to scan, relative to the window. */
  private pos = 0;
  /** Physical line of the byte at `pos`. */
  private line: number;
  private recordStart = 0;
  private recordLine: number;
  private recordSpans = 0;
  private fieldStart = 0;
  private fieldFlags = 0;
  private quoteLine = 0;

  private readonly spans: number[] = [];
  private readonly completed: number[] = [];
  private failure: FileFormatError | null = null;

  constructor(options: CsvParserOptions = {}) {
    const { startOffset, startLine, maxRecordBytes } = resolveOptions(options);
    this.delimiter = delimiterByte(options.delimiter ?? ",");
    this.maxRecordBytes = maxRecordBytes;
    this.window = new ByteWindow(startOffset);
    this.atFileStart = startOffset === 0;
    this.line = startLine;
    this.recordLine = startLine;
  }

  push(chunk: Uint8Array): CsvRecord[] {
    this.throwPendingFailure();
    this.window.append(chunk);
    return this.process(false);
  }

  finish(): CsvRecord[] {
    this.throwPendingFailure();
    return this.process(true);
  }

  private throwPendingFailure(): void {
    if (this.failure) throw this.failure;
  }

  private process(final: boolean): CsvRecord[] {
    try {
      if (this.atFileStart && !this.skipByteOrderMark(final)) return [];
      this.scan();
      if (final) this.scanEndOfInput();
      else this.checkPendingSize();
    } catch (error) {
      if (!(error instanceof FileFormatError)) throw error;
      this.failure = error;
    }
    const records = this.decodeCompleted();
    if (records.length === 0) this.throwPendingFailure();
    this.compact();
    return records;
  }

  private skipByteOrderMark(final: boolean): boolean {
    const skip = byteOrderMarkLength(this.window, final);
    if (skip < 0) return false;
    this.pos = this.recordStart = skip;
    this.atFileStart = false;
    return true;
  }

  /** Advances the state machine over every buffered byte. */
  private scan(): void {
    const bytes = this.window.bytes;
    const length = this.window.length;
    const delimiter = this.delimiter;
    let pos = this.pos;
    let state = this.state;

    while (pos < length) {
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
      } else if (state === UNQUOTED) {
        // Stray quotes in unquoted fields are kept literally, as spreadsheets do.
        let b = 0;
        while (pos < length) {
          b = bytes[pos]!;
          if (b === delimiter || b === LF || b === CR) break;
          pos++;
        }
        if (pos === length) break;
        const blankLine = pos === this.recordStart && b !== delimiter;
        if (!blankLine) this.addField(this.fieldStart, pos, 0);
        pos++;
        if (b === delimiter) state = FIELD_START;
        else if (b === CR) state = AFTER_CR;
        else {
          this.endRecord(pos, true);
          state = FIELD_START;
        }
      } else if (state === QUOTED) {
        let line = this.line;
        while (pos < length) {
          const b = bytes[pos];
          if (b === QUOTE) break;
          if (b === LF) {
            if (bytes[pos - 1] !== CR) line++;
          } else if (b === CR) line++;
          pos++;
        }
        this.line = line;
        if (pos === length) break;
        pos++;
        state = QUOTE_IN_QUOTED;
      } else if (state === QUOTE_IN_QUOTED) {
        const b = bytes[pos];
        if (b === QUOTE) {
          this.fieldFlags = ESCAPED;
          state = QUOTED;
          pos++;
          continue;
        }
        if (b !== delimiter && b !== LF && b !== CR) throw this.unexpectedQuoteError();
        this.addField(this.fieldStart, pos - 1, this.fieldFlags);
        pos++;
        if (b === delimiter) state = FIELD_START;
        else if (b === CR) state = AFTER_CR;
        else {
          this.endRecord(pos, true);
          state = FIELD_START;
        }
      } else {
        if (bytes[pos] === LF) pos++;
        this.endRecord(pos, true);
        state = FIELD_START;
      }
    }
    this.pos = pos;
    this.state = state;
  }

  /** Completes the last record when the input ends without a line break. */
  private scanEndOfInput(): void {
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
    this.spans.push(start, end, flags);
  }

  private endRecord(end: number, terminated: boolean): void {
    if (end - this.recordStart > this.maxRecordBytes) throw this.tooLargeError();
    const nextLine = terminated ? this.line + 1 : this.line;
    const spanCount = this.spans.length;
    // A record without fields is a blank line: skipped, but still counted.
    if (spanCount > this.recordSpans) {
      this.completed.push(this.recordLine, this.recordStart, end, this.recordSpans, spanCount, nextLine);
    }
    this.line = nextLine;
    this.recordLine = nextLine;
    this.recordStart = end;
    this.recordSpans = spanCount;
  }

  private checkPendingSize(): void {
    if (this.window.length - this.recordStart > this.maxRecordBytes) throw this.tooLargeError();
  }

  private tooLargeError(): FileFormatError {
    const hint =
      this.state === QUOTED
        ? ` This usually means the quote (") opened on line ${this.quoteLine} is never closed.`
        : "";
    return recordTooLargeError(this.recordLine, this.maxRecordBytes, hint);
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

  /** Turns the completed record spans into records, decoding their bytes in one call. */
  private decodeCompleted(): CsvRecord[] {
    const completed = this.completed;
    let count = completed.length / R_STRIDE;
    if (count === 0) return [];
    const bytes = this.window.bytes;
    const batchStart = completed[R_START]!;
    let batchEnd = completed[completed.length - R_STRIDE + R_END]!;
    let text: string;
    try {
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    } catch {
      count = this.recordUtf8Failure(batchStart, batchEnd);
      if (count === 0) return [];
      batchEnd = completed[(count - 1) * R_STRIDE + R_END]!;
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    }
    return this.buildRecords(text, batchStart, batchEnd, count);
  }

  /** Records the invalid UTF-8 error and returns how many records precede it. */
  private recordUtf8Failure(batchStart: number, batchEnd: number): number {
    const bytes = this.window.bytes;
    const completed = this.completed;
    const bad = findInvalidUtf8(bytes, batchStart, batchEnd);
    let index = 0;
    while (completed[index * R_STRIDE + R_END]! <= bad) index++;
    const record = index * R_STRIDE;
    const line = completed[record + R_LINE]! + countLineBreaks(bytes, completed[record + R_START]!, bad);
    this.failure = invalidUtf8Error(line);
    return index;
  }

  private buildRecords(text: string, batchStart: number, batchEnd: number, count: number): CsvRecord[] {
    const bytes = this.window.bytes;
    const base = this.window.base;
    const spans = this.spans;
    const completed = this.completed;
    // Valid UTF-8 decodes to as many code units as bytes only if it is all ASCII.
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
      records.push({
        fields,
        line: completed[r + R_LINE]!,
        start: base + completed[r + R_START]!,
        end: base + completed[r + R_END]!,
        nextLine: completed[r + R_NEXT_LINE]!,
      });
    }
    return records;
  }

  /** Drops the bytes and spans of completed records, keeping the partial record. */
  private compact(): void {
    this.completed.length = 0;
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
    this.window.discard(shift);
    this.pos -= shift;
    this.fieldStart -= shift;
    this.recordStart = 0;
  }
}

/** Parses a CSV byte stream, yielding the records of each chunk as one array. */
export function parseCsv(
  stream: ReadableStream<Uint8Array>,
  options: CsvParserOptions = {},
): AsyncGenerator<CsvRecord[], void, undefined> {
  return readBatches(stream, new CsvParser(options));
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

/** Detects the delimiter from the first bytes of a file (e.g. the first chunk). */
export function detectDelimiterFromBytes(prefix: Uint8Array): CsvDelimiter {
  let end = prefix.indexOf(LF);
  if (end < 0) end = prefix.length;
  // Lenient decoding: a malformed or cut-off character cannot change the delimiter count.
  return detectDelimiter(new TextDecoder().decode(prefix.subarray(0, end)));
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
