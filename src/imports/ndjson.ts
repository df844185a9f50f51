/**
 * NDJSON parser: one JSON object per line, resumable at any line boundary.
 *
 * A line that is not a JSON object is a row error (yielded, not thrown); only
 * problems that make the file unreadable (invalid UTF-8, an oversized line)
 * throw a FileFormatError.
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
  type ParserOptions,
  type RecordParser,
  type RecordPosition,
} from "./records.ts";

export type NdjsonRowErrorCode = "invalid_json" | "not_an_object";

export interface NdjsonRowError {
  code: NdjsonRowErrorCode;
  message: string;
}

/** Exactly one of `value` or `error` is set; `raw` (the line text) only with `error`. */
export interface NdjsonRecord extends RecordPosition {
  value?: Record<string, unknown>;
  error?: NdjsonRowError;
  raw?: string;
}

export type NdjsonParserOptions = ParserOptions;

const LF = 0x0a;
const CR_CODE = 13;
const JSON_BLANK = /^[ \t\r]*$/;

// Completed lines are kept as flat numbers until decoded: [line, start, end, nextLine].
const L_LINE = 0;
const L_START = 1;
const L_END = 2;
const L_NEXT_LINE = 3;
const L_STRIDE = 4;

export class NdjsonParser implements RecordParser<NdjsonRecord> {
  private readonly maxRecordBytes: number;
  private readonly window: ByteWindow;
  private readonly decoder = createUtf8Decoder();
  private atFileStart: boolean;

  /** Where the search for the next LF resumes, relative to the window. */
  private pos = 0;
  private line: number;
  private lineStart = 0;
  private readonly completed: number[] = [];
  private failure: FileFormatError | null = null;

  constructor(options: NdjsonParserOptions = {}) {
    const { startOffset, startLine, maxRecordBytes } = resolveOptions(options);
    this.maxRecordBytes = maxRecordBytes;
    this.window = new ByteWindow(startOffset);
    this.atFileStart = startOffset === 0;
    this.line = startLine;
  }

  push(chunk: Uint8Array): NdjsonRecord[] {
    this.throwPendingFailure();
    this.window.append(chunk);
    return this.process(false);
  }

  finish(): NdjsonRecord[] {
    this.throwPendingFailure();
    return this.process(true);
  }

  private throwPendingFailure(): void {
    if (this.failure) throw this.failure;
  }

  private process(final: boolean): NdjsonRecord[] {
    try {
      if (this.atFileStart && !this.skipByteOrderMark(final)) return [];
      this.scan();
      if (final && this.lineStart < this.window.length) this.endLine(this.window.length, false);
      if (this.window.length - this.lineStart > this.maxRecordBytes) throw this.tooLargeError();
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
    this.pos = this.lineStart = skip;
    this.atFileStart = false;
    return true;
  }

  private scan(): void {
    const length = this.window.length;
    // A view bounded by the valid data, so indexOf never searches spare capacity.
    const bytes = this.window.bytes.subarray(0, length);
    let pos = this.pos;
    for (;;) {
      const lf = bytes.indexOf(LF, pos);
      if (lf < 0) break;
      pos = lf + 1;
      this.endLine(pos, true);
    }
    this.pos = length;
  }

  private endLine(end: number, terminated: boolean): void {
    if (end - this.lineStart > this.maxRecordBytes) throw this.tooLargeError();
    const nextLine = terminated ? this.line + 1 : this.line;
    this.completed.push(this.line, this.lineStart, end, nextLine);
    this.line = nextLine;
    this.lineStart = end;
  }

  private tooLargeError(): FileFormatError {
    return recordTooLargeError(this.line, this.maxRecordBytes);
  }

  private decodeCompleted(): NdjsonRecord[] {
    const completed = this.completed;
    let count = completed.length / L_STRIDE;
    if (count === 0) return [];
    const bytes = this.window.bytes;
    const batchStart = completed[L_START]!;
    let batchEnd = completed[completed.length - L_STRIDE + L_END]!;
    let text: string;
    try {
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    } catch {
      count = this.recordUtf8Failure(batchStart, batchEnd);
      if (count === 0) return [];
      batchEnd = completed[(count - 1) * L_STRIDE + L_END]!;
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    }
    return this.buildRecords(text, count);
  }

  /** Records the invalid UTF-8 error and returns how many lines precede it. */
  private recordUtf8Failure(batchStart: number, batchEnd: number): number {
    const completed = this.completed;
    const bad = findInvalidUtf8(this.window.bytes, batchStart, batchEnd);
    let index = 0;
    while (completed[index * L_STRIDE + L_END]! <= bad) index++;
    this.failure = invalidUtf8Error(completed[index * L_STRIDE + L_LINE]!);
    return index;
  }

  private buildRecords(text: string, count: number): NdjsonRecord[] {
    const completed = this.completed;
    const base = this.window.base;
    const records: NdjsonRecord[] = [];
    // LF is a single byte and a single code unit, so the k-th "\n" ends the k-th line.
    let cursor = 0;
    for (let r = 0; r < count * L_STRIDE; r += L_STRIDE) {
      const newline = text.indexOf("\n", cursor);
      const lineEnd = newline < 0 ? text.length : newline;
      const lastCode = text.charCodeAt(lineEnd - 1);
      const raw = text.slice(cursor, lastCode === CR_CODE && lineEnd > cursor ? lineEnd - 1 : lineEnd);
      cursor = lineEnd + 1;
      if (JSON_BLANK.test(raw)) continue;
      const record: NdjsonRecord = {
        line: completed[r + L_LINE]!,
        start: base + completed[r + L_START]!,
        end: base + completed[r + L_END]!,
        nextLine: completed[r + L_NEXT_LINE]!,
      };
      const parsed = parseObject(raw);
      if (parsed.ok) record.value = parsed.value;
      else {
        record.error = parsed.error;
        record.raw = raw;
      }
      records.push(record);
    }
    return records;
  }

  private compact(): void {
    this.completed.length = 0;
    const shift = this.lineStart;
    this.window.discard(shift);
    this.pos -= shift;
    this.lineStart = 0;
  }
}

/** Parses an NDJSON byte stream, yielding the records of each chunk as one array. */
export function parseNdjson(
  stream: ReadableStream<Uint8Array>,
  options: NdjsonParserOptions = {},
): AsyncGenerator<NdjsonRecord[], void, undefined> {
  return readBatches(stream, new NdjsonParser(options));
}

type ParsedLine = { ok: true; value: Record<string, unknown> } | { ok: false; error: NdjsonRowError };

function parseObject(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? ` (${error.message})` : "";
    return { ok: false, error: { code: "invalid_json", message: `This line is not valid JSON${detail}.` } };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return { ok: true, value: value as Record<string, unknown> };
  }
  return {
    ok: false,
    error: {
      code: "not_an_object",
      message: `Each line must be a JSON object like {"sku": "…"}, but this line is ${describeJson(value)}.`,
    },
  };
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  return `the value ${String(value)}`;
}
