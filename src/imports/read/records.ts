/**
 * Shared plumbing for the import file parsers (CSV and NDJSON).
 *
 * Both parsers are synchronous push parsers over raw bytes: feed pieces with
 * `push`, then drain with `finish` (the row sources do, see row-source.ts).
 * `ByteRecordParser` holds what they have in common; each format only scans
 * for record boundaries and turns completed records into values.
 */
import type { TextEncoding } from "./encoding.ts";
import { FileFormatError } from "./file-format-error.ts";
import { findInvalidUtf8, UTF8_BOM, utf16Length } from "./utf8.ts";
import { Utf16ToUtf8 } from "./utf16.ts";

/** Where a record sits in the file. Offsets are absolute byte offsets. */
export interface RecordPosition {
  /** 1-based physical line on which the record starts. */
  line: number;
  /** Byte offset of the record's first byte. */
  start: number;
  /** Byte offset just after the record's line break: where the next record starts. */
  end: number;
  /** Physical line number at `end`. Resume with `{ startOffset: end, startLine: nextLine }`. */
  nextLine: number;
}

export interface ParserOptions {
  /** Absolute byte offset of the first byte of the stream (default 0). */
  startOffset?: number;
  /** Physical line number of the first byte of the stream (default 1). */
  startLine?: number;
  /** Largest accepted record, in bytes (default 1 MiB); for UTF-16, bytes of the record's text in UTF-8. */
  maxRecordBytes?: number;
  /** The file's text encoding (default UTF-8, see encoding.ts). Offsets are those of the file's bytes in every encoding. */
  encoding?: TextEncoding;
}

export interface RecordParser<R extends RecordPosition> {
  /**
   * Feeds the next piece of bytes and returns the records it completed. On a
   * format error the records before the error are returned first and the error
   * is thrown by the next call, so what gets imported never depends on how the
   * bytes were cut into pieces.
   */
  push(piece: Uint8Array): R[];
  /**
   * Signals end of input and returns the remaining records. Call it until it
   * returns an empty array (a deferred error is thrown by the extra call).
   */
  finish(): R[];
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

export function resolveOptions(options: ParserOptions): Required<ParserOptions> {
  const startOffset = options.startOffset ?? 0;
  const startLine = options.startLine ?? 1;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const encoding = options.encoding ?? "utf-8";
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) {
    throw new RangeError(`startOffset must be a non-negative integer, got ${startOffset}`);
  }
  if (!Number.isSafeInteger(startLine) || startLine < 1) {
    throw new RangeError(`startLine must be a positive integer, got ${startLine}`);
  }
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1) {
    throw new RangeError(`maxRecordBytes must be a positive integer, got ${maxRecordBytes}`);
  }
  return { startOffset, startLine, maxRecordBytes, encoding };
}

/**
 * The bytes not yet turned into records. Holds at most one partial record plus
 * the latest piece, so memory stays bounded by the record cap and piece size.
 */
export class ByteWindow {
  /** Valid data is `bytes[0, length)`; the rest is spare capacity. */
  bytes: Uint8Array = new Uint8Array(0);
  length = 0;
  /** Absolute file offset of `bytes[0]`. */
  base: number;

  constructor(base: number) {
    this.base = base;
  }

  append(piece: Uint8Array): void {
    const needed = this.length + piece.length;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(piece, this.length);
    this.length = needed;
  }

  /** Drops the first `count` bytes. */
  discard(count: number): void {
    if (count === 0) return;
    this.bytes.copyWithin(0, count, this.length);
    this.length -= count;
    this.base += count;
  }
}

// Completed records are kept as flat numbers until decoded, to avoid garbage:
// `[line, start, end, nextLine, ...]` (positions relative to the window), then
// whatever the format adds, `stride` numbers per record in all.
export const REC_LINE = 0;
export const REC_START = 1;
export const REC_END = 2;
export const REC_NEXT_LINE = 3;
/** Numbers per record used by the common layout; a format's own numbers follow. */
export const REC_COMMON = 4;

/**
 * A push parser over a byte window: buffering, byte order mark, deferred
 * format errors, batch decoding and compaction. A format implements
 * `scan` / `scanEndOfInput` (find record boundaries, push them to
 * `completed`) and `buildRecords` (turn the decoded text into records).
 */
export abstract class ByteRecordParser<R extends RecordPosition> implements RecordParser<R> {
  protected readonly maxRecordBytes: number;
  protected readonly window: ByteWindow;
  /** Next byte to scan, relative to the window. */
  protected pos = 0;
  /** Start of the record in progress, relative to the window: the bytes before it are completed records. */
  protected recordStart = 0;
  /** Physical line on which the record in progress starts. */
  protected recordLine: number;
  /** Completed records, `stride` numbers each (see `REC_LINE` ...). */
  protected readonly completed: number[] = [];

  private readonly stride: number;
  private readonly decoder: TextDecoder;
  /**
   * UTF-16 is transcoded to UTF-8 on its way into the window (see utf16.ts), so the window's offsets are those of
   * the UTF-8; the records' offsets are mapped back to the file's. Null for the encodings read byte for byte.
   */
  private readonly transcoder: Utf16ToUtf8 | null;
  /** With a transcoder: the last window offset mapped back to the file, and the file offset it maps to. */
  private mappedFrom: number;
  private mappedTo: number;
  private atFileStart: boolean;
  private failure: FileFormatError | null = null;

  constructor(options: ParserOptions, stride: number) {
    const { startOffset, startLine, maxRecordBytes, encoding } = resolveOptions(options);
    this.stride = stride;
    this.maxRecordBytes = maxRecordBytes;
    this.window = new ByteWindow(startOffset);
    this.mappedFrom = this.mappedTo = startOffset;
    // A single-byte encoding has no byte order mark: the decision to read a file in it saw none.
    this.atFileStart = startOffset === 0 && encoding !== "windows-1252";
    this.recordLine = startLine;
    this.decoder = encoding === "windows-1252" ? new TextDecoder("windows-1252") : new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    this.transcoder = encoding === "utf-16le" || encoding === "utf-16be" ? new Utf16ToUtf8(encoding) : null;
  }

  push(piece: Uint8Array): R[] {
    this.throwPendingFailure();
    this.window.append(this.transcoder ? this.transcoder.push(piece) : piece);
    return this.process(false);
  }

  finish(): R[] {
    this.throwPendingFailure();
    if (this.transcoder) this.window.append(this.transcoder.end());
    return this.process(true);
  }

  /** Advances over every buffered byte from `pos`, completing the records that end there. */
  protected abstract scan(): void;
  /** Completes the last record when the input ends without a line break. */
  protected abstract scanEndOfInput(): void;
  /**
   * Builds the first `count` completed records. `text` is the decoded
   * `bytes[batchStart, batchEnd)` of the window, from the first record's start
   * to the last one's end.
   */
  protected abstract buildRecords(text: string, batchStart: number, batchEnd: number, count: number): R[];

  /** The error for a record in progress larger than `maxRecordBytes`. */
  protected tooLargeError(): FileFormatError {
    return recordTooLargeError(this.recordLine, this.maxRecordBytes, this.tooLargeHint());
  }

  /** Likely cause appended to the record-too-large message (a sentence with a leading space, or ""). */
  protected tooLargeHint(): string {
    return "";
  }

  /** The line of the invalid byte at `bad`, inside the completed record at `completed[record]`. */
  protected invalidUtf8Line(record: number, _bad: number): number {
    return this.completed[record + REC_LINE]!;
  }

  /** Drops the bytes of the completed records, keeping the record in progress. */
  protected compact(): void {
    this.completed.length = 0;
    const shift = this.recordStart;
    if (this.transcoder) this.fileOffset(this.window.base + shift);
    this.window.discard(shift);
    this.pos -= shift;
    this.recordStart = 0;
  }

  private throwPendingFailure(): void {
    if (this.failure) throw this.failure;
  }

  private process(final: boolean): R[] {
    try {
      if (this.atFileStart && !this.readFileStart(final)) return [];
      this.scan();
      if (final) this.scanEndOfInput();
      else if (this.window.length - this.recordStart > this.maxRecordBytes) throw this.tooLargeError();
    } catch (error) {
      if (!(error instanceof FileFormatError)) throw error;
      this.failure = error;
    }
    const records = this.decodeCompleted();
    if (records.length === 0) this.throwPendingFailure();
    this.compact();
    return records;
  }

  /** Skips a byte order mark (see `byteOrderMarkLength`); false while more bytes are needed to tell. */
  private readFileStart(final: boolean): boolean {
    const skip = byteOrderMarkLength(this.window, final);
    if (skip < 0) return false;
    this.pos = this.recordStart = skip;
    this.atFileStart = false;
    return true;
  }

  /** Turns the completed records into records, decoding their bytes in one call. */
  private decodeCompleted(): R[] {
    const completed = this.completed;
    const stride = this.stride;
    let count = completed.length / stride;
    if (count === 0) return [];
    const bytes = this.window.bytes;
    const batchStart = completed[REC_START]!;
    let batchEnd = completed[completed.length - stride + REC_END]!;
    let text: string;
    try {
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    } catch {
      count = this.recordUtf8Failure(batchStart, batchEnd);
      if (count === 0) return [];
      batchEnd = completed[(count - 1) * stride + REC_END]!;
      text = this.decoder.decode(bytes.subarray(batchStart, batchEnd));
    }
    const records = this.buildRecords(text, batchStart, batchEnd, count);
    if (this.transcoder) {
      for (const record of records) {
        record.start = this.fileOffset(record.start);
        record.end = this.fileOffset(record.end);
      }
    }
    return records;
  }

  /**
   * The file offset of window offset `at` (absolute, as records carry them) when UTF-16 is transcoded: two bytes
   * for each UTF-16 unit of the UTF-8 since the last offset mapped. Offsets must be mapped in increasing order.
   */
  private fileOffset(at: number): number {
    const base = this.window.base;
    this.mappedTo += 2 * utf16Length(this.window.bytes, this.mappedFrom - base, at - base);
    this.mappedFrom = at;
    return this.mappedTo;
  }

  /** Records the error of the invalid bytes and returns how many records precede them. */
  private recordUtf8Failure(batchStart: number, batchEnd: number): number {
    const completed = this.completed;
    const stride = this.stride;
    const bad = findInvalidUtf8(this.window.bytes, batchStart, batchEnd);
    let index = 0;
    while (completed[index * stride + REC_END]! <= bad) index++;
    const line = this.invalidUtf8Line(index * stride, bad);
    this.failure = this.transcoder ? invalidUtf16Error(line) : invalidUtf8Error(line);
    return index;
  }
}

/**
 * The length of the UTF-8 byte order mark the file in the window starts with (3, or 0 without one), or -1 while more
 * bytes are needed to tell. A UTF-16 file's mark is transcoded to this one.
 */
function byteOrderMarkLength(window: ByteWindow, final: boolean): number {
  const bytes = window.bytes;
  const available = Math.min(window.length, 3);
  for (let i = 0; i < available; i++) {
    if (bytes[i] !== UTF8_BOM[i]) return 0;
  }
  if (available === 3) return 3;
  return final ? 0 : -1;
}

export function invalidUtf8Error(line: number): FileFormatError {
  return new FileFormatError(
    "invalid_utf8",
    line,
    `Line ${line} contains characters that are not valid UTF-8. ` +
      "Save the file with UTF-8 encoding (for example \"CSV UTF-8\" in Excel) and upload it again, " +
      "or declare the encoding it is in (for example charset=windows-1252 in the Content-Type).",
  );
}

function invalidUtf16Error(line: number): FileFormatError {
  return new FileFormatError(
    "invalid_utf16",
    line,
    `Line ${line} contains bytes that are not valid UTF-16 (half of a surrogate pair, or a character cut off at the end of the file). ` +
      "Save the file again, or as UTF-8, and upload it again.",
  );
}

export function recordTooLargeError(line: number, maxRecordBytes: number, hint = ""): FileFormatError {
  return new FileFormatError(
    "record_too_large",
    line,
    `The record starting on line ${line} is larger than the limit of ${formatBytes(maxRecordBytes)}.${hint}`,
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
