/**
 * NDJSON parser: one JSON object per line, resumable at any line boundary.
 *
 * A line that is not a JSON object is a row error (yielded, not thrown); only
 * problems that make the file unreadable (invalid UTF-8, an oversized line)
 * throw a FileFormatError.
 */
import { nameCount, type RepeatedName, repeatedNames } from "../../json-text.ts";
import type { RowErrorCode } from "../../model/row-error-codes.ts";
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

/** The row-error codes of a line that is no object (the catalog's: model/row-error-codes.ts). */
export type NdjsonRowErrorCode = Extract<RowErrorCode, "invalid_json" | "not_an_object" | "too_many_values">;

export interface NdjsonRowError {
  code: NdjsonRowErrorCode;
  message: string;
}

/** Exactly one of `value` or `error` is set; `raw` (the line text) only with `error`. */
export interface NdjsonRecord extends RecordPosition {
  value?: Record<string, unknown>;
  /** With `value`: the names the object (or an object that is one of its members' values) gives twice, which `value` holds once. */
  repeated?: RepeatedName[];
  error?: NdjsonRowError;
  raw?: string;
}

export type NdjsonParserOptions = ParserOptions;

const LF = 0x0a;
const CR_CODE = 13;
// Anchored at both ends, one character class: linear.
const JSON_BLANK = /^[ \t\r]*$/;

/**
 * The most values a line may hold: names, values and list items, nested ones included. A product needs a few dozen.
 * What JSON.parse builds for a line, and what is then done with it, stays small whatever the line's shape: a megabyte
 * of names, or of empty objects, would otherwise take JSON.parse alone about a tenth of a second.
 */
export const MAX_LINE_VALUES = 10_000;

// A completed line is just the common layout (see records.ts).
const L_STRIDE = REC_COMMON;

export class NdjsonParser extends ByteRecordParser<NdjsonRecord> {
  constructor(options: NdjsonParserOptions = {}) {
    super(options, L_STRIDE);
  }

  protected scan(): void {
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

  protected scanEndOfInput(): void {
    if (this.recordStart < this.window.length) this.endLine(this.window.length, false);
  }

  private endLine(end: number, terminated: boolean): void {
    if (end - this.recordStart > this.maxRecordBytes) throw this.tooLargeError();
    const nextLine = terminated ? this.recordLine + 1 : this.recordLine;
    this.completed.push(this.recordLine, this.recordStart, end, nextLine);
    this.recordLine = nextLine;
    this.recordStart = end;
  }

  protected buildRecords(text: string, _batchStart: number, _batchEnd: number, count: number): NdjsonRecord[] {
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
        line: completed[r + REC_LINE]!,
        start: base + completed[r + REC_START]!,
        end: base + completed[r + REC_END]!,
        nextLine: completed[r + REC_NEXT_LINE]!,
      };
      const parsed = parseObject(raw);
      if (parsed.ok) {
        record.value = parsed.value;
        if (parsed.repeated) record.repeated = parsed.repeated;
      } else {
        record.error = parsed.error;
        record.raw = raw;
      }
      records.push(record);
    }
    return records;
  }
}

type ParsedLine = { ok: true; value: Record<string, unknown>; repeated?: RepeatedName[] } | { ok: false; error: NdjsonRowError };

// Names are compared in the object and in the objects that are its members' values (a product's options): deeper
// values are never a valid field, whatever names they repeat.
const NAME_DEPTH = 2;

function parseObject(text: string): ParsedLine {
  if (hasTooManyValues(text)) {
    const message = `This line holds more than ${MAX_LINE_VALUES.toLocaleString("en-US")} values (names, values and list items, nested ones included); a product needs a few dozen.`;
    return { ok: false, error: { code: "too_many_values", message } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? ` (${error.message})` : "";
    return { ok: false, error: { code: "invalid_json", message: `This line is not valid JSON${detail}.` } };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    // JSON.parse keeps the last of two equal names: fewer names in the value than in the text means it dropped one.
    if (nameCount(text, NAME_DEPTH) === namesHeld(object)) return { ok: true, value: object };
    return { ok: true, value: object, repeated: repeatedNames(text, NAME_DEPTH) };
  }
  return {
    ok: false,
    error: {
      code: "not_an_object",
      message: `Each line must be a JSON object like {"sku": "…"}, but this line is ${describeJson(value)}.`,
    },
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text holds more than MAX_LINE_VALUES values, by one pass over it that stops there. Outside strings,
 * each value but the first follows a `,` `:` `[` or `{` (an opening bracket only when something but its closing one
 * follows it), so they are counted. A value takes two characters at least, so a shorter text is not read at all.
 */
function hasTooManyValues(text: string): boolean {
  if (text.length < 2 * MAX_LINE_VALUES) return false;
  let values = 1;
  let inString = false;
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (opened && c !== 0x5d /* ] */ && c !== 0x7d /* } */) values++;
    opened = c === 0x5b /* [ */ || c === 0x7b /* { */;
    if (c === 0x2c /* , */ || c === 0x3a /* : */) values++;
    else if (c === QUOTE) inString = true;
    if (values > MAX_LINE_VALUES) return true;
  }
  return false;
}

/** The names an object holds, with those of the objects that are its members' values (see NAME_DEPTH). */
function namesHeld(object: Record<string, unknown>): number {
  let count = 0;
  for (const name in object) {
    count++;
    const member = object[name];
    if (typeof member === "object" && member !== null && !Array.isArray(member)) for (const _ in member) count++;
  }
  return count;
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  return `the value ${String(value)}`;
}
