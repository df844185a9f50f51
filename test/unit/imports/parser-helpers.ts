/** Helpers shared by the record parser tests (CSV and NDJSON): byte building, chunking and split-invariance checks. */
import { expect } from "vitest";
import { FileFormatError, readRecords, type RecordParser, type RecordPosition } from "../../../src/imports/records.ts";

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

/** `text` in UTF-16 with the given byte order (BMP characters only), optionally after a byte order mark. */
export function utf16Bytes(text: string, byteOrder: "le" | "be", bom: boolean): Uint8Array {
  const units = [...(bom ? "\uFEFF" : ""), ...text].map((char) => char.charCodeAt(0));
  return Uint8Array.from(units.flatMap((unit) => (byteOrder === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff])));
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

export function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
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
  /** The format's stream entry point (`parseCsv`, `parseNdjson`). */
  parse(stream: ReadableStream<Uint8Array>, options?: O): AsyncIterable<R[]>;
  /** Creates the push parser. */
  create(options?: O): RecordParser<R>;
}

/** Parse helpers bound to one format. Results carry the error as thrown; `summarize` it to compare. */
export function parserHelpers<R extends RecordPosition, O>(format: ParserFormat<R, O>) {
  /** Parses through the stream adapter; returns the records and the error, if any. */
  async function parseChunks(chunks: Uint8Array[], options?: O): Promise<ParseResult<R>> {
    const records: R[] = [];
    let error: unknown = null;
    try {
      for await (const batch of format.parse(streamOf(chunks), options)) records.push(...batch);
    } catch (caught) {
      error = caught;
    }
    return { records, error };
  }

  /** Parses synchronously (fast enough for every pair of split points). */
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
   * Asserts that resuming after any record (from its end offset and next line)
   * yields exactly the records after it, in one chunk and in 1-byte chunks.
   * Returns the records of the whole file.
   */
  async function expectResumesAfterEveryRecord(bytes: Uint8Array): Promise<R[]> {
    const full = parseSync([bytes]).records;
    for (const [index, record] of full.entries()) {
      const options = { startOffset: record.end, startLine: record.nextLine } as O;
      const rest = bytes.subarray(record.end);
      const expected = full.slice(index + 1);
      expect(parseSync([rest], options).records).toEqual(expected);
      expect((await parseChunks(singleBytes(rest), options)).records).toEqual(expected);
    }
    return full;
  }

  return { parseChunks, parseSync, expectAllSplits, expectResumesAfterEveryRecord };
}

/**
 * Reads `stream` with `parser` through `readRecords` until `count` records were
 * seen, and asserts the stream was cancelled. Returns `pick` of each record seen.
 */
export async function expectCancelsWhenStoppedEarly<R extends RecordPosition, T>(
  parser: RecordParser<R>,
  chunk: (pull: number) => string,
  count: number,
  pick: (record: R) => T,
): Promise<T[]> {
  let cancelled = false;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(bytesOf(chunk(pulls)));
    },
    cancel() {
      cancelled = true;
    },
  });
  const seen: T[] = [];
  for await (const record of readRecords(stream, parser)) {
    seen.push(pick(record));
    if (seen.length === count) break;
  }
  expect(cancelled).toBe(true);
  return seen;
}
