/**
 * Shared plumbing for the import file parsers (CSV and NDJSON).
 *
 * Both parsers are synchronous push parsers over raw bytes: feed chunks with
 * `push`, then drain with `finish`. `readBatches` / `readRecords` adapt them
 * to a `ReadableStream<Uint8Array>` (an R2 object body).
 */

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
  /** Largest accepted record, in bytes (default 1 MiB). */
  maxRecordBytes?: number;
}

export interface RecordParser<R extends RecordPosition> {
  /**
   * Feeds the next chunk and returns the records it completed. On a format
   * error the records before the error are returned first and the error is
   * thrown by the next call, so what gets imported never depends on chunking.
   */
  push(chunk: Uint8Array): R[];
  /**
   * Signals end of input and returns the remaining records. Call it until it
   * returns an empty array (a deferred error is thrown by the extra call).
   */
  finish(): R[];
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

export type FileFormatErrorCode =
  | "unterminated_quote"
  | "unexpected_quote"
  | "invalid_utf8"
  | "record_too_large";

/** A structural problem that makes the rest of the file unreadable. */
export class FileFormatError extends Error {
  readonly code: FileFormatErrorCode;
  /** 1-based physical line the problem is on. */
  readonly line: number;

  constructor(code: FileFormatErrorCode, line: number, message: string) {
    super(message);
    this.name = "FileFormatError";
    this.code = code;
    this.line = line;
  }
}

/** Yields the records of `stream` one array per chunk (cheaper than one await per record). */
export async function* readBatches<R extends RecordPosition>(
  stream: ReadableStream<Uint8Array>,
  parser: RecordParser<R>,
): AsyncGenerator<R[], void, undefined> {
  const reader = stream.getReader();
  let exhausted = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const records = parser.push(value);
      if (records.length > 0) yield records;
    }
    exhausted = true;
    for (let rest = parser.finish(); rest.length > 0; rest = parser.finish()) yield rest;
  } finally {
    // The consumer stops after a bounded number of records: stop downloading the rest.
    if (!exhausted) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Yields the records of `stream` one by one. */
export async function* readRecords<R extends RecordPosition>(
  stream: ReadableStream<Uint8Array>,
  parser: RecordParser<R>,
): AsyncGenerator<R, void, undefined> {
  for await (const batch of readBatches(stream, parser)) yield* batch;
}

export function resolveOptions(options: ParserOptions): Required<ParserOptions> {
  const startOffset = options.startOffset ?? 0;
  const startLine = options.startLine ?? 1;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) {
    throw new RangeError(`startOffset must be a non-negative integer, got ${startOffset}`);
  }
  if (!Number.isSafeInteger(startLine) || startLine < 1) {
    throw new RangeError(`startLine must be a positive integer, got ${startLine}`);
  }
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1) {
    throw new RangeError(`maxRecordBytes must be a positive integer, got ${maxRecordBytes}`);
  }
  return { startOffset, startLine, maxRecordBytes };
}

/**
 * The bytes not yet turned into records. Holds at most one partial record plus
 * the latest chunk, so memory stays bounded by the record cap and chunk size.
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

  append(chunk: Uint8Array): void {
    const needed = this.length + chunk.length;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.length);
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

/**
 * Decides whether the window starts with a UTF-8 byte order mark.
 * Returns the number of bytes to skip (0 or 3), or -1 if more bytes are needed.
 */
export function byteOrderMarkLength(window: ByteWindow, final: boolean): number {
  const bom = [0xef, 0xbb, 0xbf];
  const available = Math.min(window.length, 3);
  for (let i = 0; i < available; i++) {
    if (window.bytes[i] !== bom[i]) return 0;
  }
  if (available === 3) return 3;
  return final ? 0 : -1;
}

/** Creates the decoder used for record bytes; the parsers strip the BOM themselves. */
export function createUtf8Decoder(): TextDecoder {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
}

export function invalidUtf8Error(line: number): FileFormatError {
  return new FileFormatError(
    "invalid_utf8",
    line,
    `Line ${line} contains characters that are not valid UTF-8. ` +
      "Save the file with UTF-8 encoding (for example \"CSV UTF-8\" in Excel) and upload it again.",
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

/**
 * Index of the first byte in `bytes[from, to)` that does not start a valid
 * UTF-8 sequence, or -1. Only used to locate an error the decoder reported.
 */
export function findInvalidUtf8(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const size = utf8SequenceLength(bytes, i, to);
    if (size === 0) return i;
    i += size;
  }
  return -1;
}

function utf8SequenceLength(bytes: Uint8Array, i: number, to: number): number {
  const b = bytes[i]!;
  let size: number;
  let min = 0x80;
  let max = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) size = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    size = 3;
    if (b === 0xe0) min = 0xa0; // overlong
    if (b === 0xed) max = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    size = 4;
    if (b === 0xf0) min = 0x90; // overlong
    if (b === 0xf4) max = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + size > to) return 0;
  const second = bytes[i + 1]!;
  if (second < min || second > max) return 0;
  for (let k = 2; k < size; k++) {
    const next = bytes[i + k]!;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return size;
}

/** Number of UTF-16 code units that the valid UTF-8 in `bytes[from, to)` decodes to. */
export function utf16Length(bytes: Uint8Array, from: number, to: number): number {
  let units = 0;
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    // Continuation bytes add nothing; 4-byte sequences become a surrogate pair.
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  return units;
}
