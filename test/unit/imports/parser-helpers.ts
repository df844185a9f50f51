/**
 * Helpers shared by the record parser tests (CSV and NDJSON): byte building, chunking and split-invariance checks.
 * The parsers are driven as the row sources drive them in production: `push` each piece, then `finish` until empty.
 */
import { expect } from "vitest";
import { FileFormatError } from "../../../src/imports/read/file-format-error.ts";
import type { RecordParser, RecordPosition } from "../../../src/imports/read/records.ts";

const encoder = new TextEncoder();

export function bytesOf(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : part instanceof Uint8Array ? part : Uint8Array.from(part)));
  const out = new Uint8Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** `text` in UTF-16 with the given byte order (its code units as they are, surrogate pairs too), optionally after a byte order mark. */
export function utf16Bytes(text: string, byteOrder: "le" | "be", bom: boolean): Uint8Array {
  const all = `${bom ? "\uFEFF" : ""}${text}`;
  const units = Array.from({ length: all.length }, (_, i) => all.charCodeAt(i));
  return Uint8Array.from(units.flatMap((unit) => (byteOrder === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff])));
}

/** `text` in Windows-1252 (every character must have a byte there). */
export function windows1252Bytes(text: string): Uint8Array {
  const decoder = new TextDecoder("windows-1252");
  const byteOf = new Map(Array.from({ length: 256 }, (_, b) => [decoder.decode(Uint8Array.of(b)), b] as const));
  return Uint8Array.from([...text].map((char) => {
    const b = byteOf.get(char);
    if (b === undefined) throw new RangeError(`${JSON.stringify(char)} has no byte in Windows-1252`);
    return b;
  }));
}

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

export function splitAt(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let previous = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(previous, point));
    previous = point;
  }
  return chunks;
}

/** Splits into 1-byte chunks. */
export function singleBytes(bytes: Uint8Array): Uint8Array[] {
  return splitAt(bytes, Array.from({ length: bytes.length }, (_, i) => i));
}

/** Expected positions for a file given as consecutive pieces (one per record or blank line). */
export function positions(pieces: string[]) {
  let offset = 0;
  return pieces.map((piece) => {
    const start = offset;
    offset += byteLength(piece);
    return { start, end: offset };
  });
}

export interface ParseResult<R> {
  records: R[];
  error: unknown;
}

/** A parse result with a FileFormatError reduced to its code and line, for comparisons. */
export function summarize<R>(result: ParseResult<R>): ParseResult<R> {
  const error = result.error instanceof FileFormatError ? { code: result.error.code, line: result.error.line } : result.error;
  return { records: result.records, error };
}

export interface ParserFormat<R extends RecordPosition, O> {
  /** Creates the push parser. */
  create(options?: O): RecordParser<R>;
}

/** Parse helpers bound to one format. Results carry the error as thrown; `summarize` it to compare. */
export function parserHelpers<R extends RecordPosition, O>(format: ParserFormat<R, O>) {
  /** Parses the pieces in order, as a row source feeds them. */
  function parseSync(chunks: Uint8Array[], options?: O): ParseResult<R> {
    const parser = format.create(options);
    const records: R[] = [];
    let error: unknown = null;
    try {
      for (const chunk of chunks) records.push(...parser.push(chunk));
      for (let rest = parser.finish(); rest.length > 0; rest = parser.finish()) records.push(...rest);
    } catch (caught) {
      error = caught;
    }
    return { records, error };
  }

  /** The same, for tests written against an asynchronous reader. */
  async function parseChunks(chunks: Uint8Array[], options?: O): Promise<ParseResult<R>> {
    return parseSync(chunks, options);
  }

  /**
   * Asserts the same outcome for one chunk, every single split, every pair of
   * splits (unless `pairs` is false) and 1-byte chunks. Returns it summarized.
   */
  async function expectAllSplits(bytes: Uint8Array, options?: O, pairs = true): Promise<ParseResult<R>> {
    const whole = summarize(await parseChunks([bytes], options));
    for (let i = 0; i <= bytes.length; i++) {
      expect(summarize(await parseChunks(splitAt(bytes, [i]), options)), `split at ${i}`).toEqual(whole);
    }
    if (pairs) {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          expect(summarize(parseSync(splitAt(bytes, [i, j]), options)), `split at ${i},${j}`).toEqual(whole);
        }
      }
    }
    expect(summarize(await parseChunks(singleBytes(bytes), options)), "1-byte chunks").toEqual(whole);
    return whole;
  }

  /**
   * Asserts that resuming after any record (from its end offset and next line, with the file's other options)
   * yields exactly the records after it, in one chunk and in 1-byte chunks.
   * Returns the records of the whole file.
   */
  async function expectResumesAfterEveryRecord(bytes: Uint8Array, fileOptions?: O): Promise<R[]> {
    const full = parseSync([bytes], fileOptions).records;
    for (const [index, record] of full.entries()) {
      const options = { ...fileOptions, startOffset: record.end, startLine: record.nextLine } as O;
      const rest = bytes.subarray(record.end);
      const expected = full.slice(index + 1);
      expect(parseSync([rest], options).records).toEqual(expected);
      expect((await parseChunks(singleBytes(rest), options)).records).toEqual(expected);
    }
    return full;
  }

  return { parseChunks, parseSync, expectAllSplits, expectResumesAfterEveryRecord };
}
