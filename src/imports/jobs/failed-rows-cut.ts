// Where the problems an earlier failed-rows file wrote sit in a record being written again: a merchant uploads the
// failed-rows file (or POST …/retry does), some rows fail again, and their new failed-rows file carries one set of
// problems, the latest job's. The CSV columns `_error_*` are cut off a record (and the header) where they are its last
// columns, as our own file writes them; the NDJSON key `_errors` is taken out of an object. Every other byte stays as
// uploaded. Each scan is one pass over the record's bytes.
import { FAILED_ROW_COLUMNS, FAILED_ROW_KEY } from "../../model/failed-rows.ts";
import type { CsvDelimiter } from "../read/csv.ts";
import { normalizeColumnName } from "../sources/header.ts";
import { type Codec, concat } from "./failed-rows-codec.ts";

const ERROR_COLUMNS: ReadonlySet<string> = new Set(FAILED_ROW_COLUMNS);

// The CSV scanner's states, as the import's parser has them (read/csv.ts).
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Just read a quote inside a quoted field: the closing one, or the first of a doubled quote. */
const QUOTE_IN_QUOTED = 3;

/** A header's trailing `_error_*` columns: how many columns come before them, and where in the header they start. */
export interface ErrorColumns {
  keep: number;
  at: number;
}

/**
 * The `_error_*` columns of the file's header (the last record of its first bytes, after a byte order mark, a sep
 * line or blank lines) when they are its last columns; null when it has none, or when one of them is not among its
 * last columns (the merchant moved it): then the records are written with their cells as they are and the new
 * problems after them, a second set.
 */
export function csvErrorColumns(header: Uint8Array, codec: Codec, delimiter: CsvDelimiter): ErrorColumns | null {
  let start = codec.bomLength(header);
  let fields = csvFieldEnds(header, start, codec, delimiter, Number.POSITIVE_INFINITY);
  while (fields.end < header.length) {
    start = fields.end;
    fields = csvFieldEnds(header, start, codec, delimiter, Number.POSITIVE_INFINITY);
  }
  const { ends } = fields;
  const isErrorColumn = (index: number) => ERROR_COLUMNS.has(normalizeColumnName(fieldName(header, index === 0 ? start : (ends[index - 1] as number) + codec.unit, ends[index] as number, codec)));
  let keep = ends.length;
  while (keep > 0 && isErrorColumn(keep - 1)) keep--;
  if (keep === 0 || keep === ends.length) return null;
  for (let index = 0; index < keep; index++) if (isErrorColumn(index)) return null;
  return { keep, at: ends[keep - 1] as number };
}

/** Where a record's cells after its first `keep` start (the delimiter before them); undefined when it has no more. */
export function csvCutAt(record: Uint8Array, codec: Codec, delimiter: CsvDelimiter, keep: number): number | undefined {
  const { ends } = csvFieldEnds(record, 0, codec, delimiter, keep);
  const at = ends[keep - 1];
  return at !== undefined && codec.asciiAt(record, at) === delimiter ? at : undefined;
}

/**
 * Where each of the first `maxFields` fields of the CSV record at `from` ends (the offset of the delimiter or line
 * break after it, or of the bytes' end), and where the record ends (after its line break). Read as the import's
 * parser reads (read/csv.ts): a field that starts with a quote runs to its closing quote (a doubled quote is text), a
 * quote elsewhere is text.
 */
function csvFieldEnds(bytes: Uint8Array, from: number, codec: Codec, delimiter: CsvDelimiter, maxFields: number): { ends: number[]; end: number } {
  const ends: number[] = [];
  const unit = codec.unit;
  let state = FIELD_START;
  for (let at = from; at < bytes.length; at += unit) {
    const char = codec.asciiAt(bytes, at);
    if (state === QUOTED) {
      if (char === '"') state = QUOTE_IN_QUOTED;
      continue;
    }
    // A quote that opens a field, or (right after a quote in one) is the second of a doubled quote.
    if (char === '"' && (state === FIELD_START || state === QUOTE_IN_QUOTED)) {
      state = QUOTED;
      continue;
    }
    if (char !== delimiter && char !== "\r" && char !== "\n") {
      state = UNQUOTED;
      continue;
    }
    ends.push(at);
    if (char !== delimiter) {
      const lineBreakEnd = char === "\r" && codec.asciiAt(bytes, at + unit) === "\n" ? at + 2 * unit : at + unit;
      return { ends, end: lineBreakEnd };
    }
    if (ends.length >= maxFields) return { ends, end: -1 };
    state = FIELD_START;
  }
  ends.push(bytes.length);
  return { ends, end: bytes.length };
}

/** A header field's name, unquoted; a character that is not ASCII reads as U+FFFD (no `_error_*` name has one). */
function fieldName(bytes: Uint8Array, from: number, to: number, codec: Codec): string {
  let text = "";
  for (let at = from; at < to; at += codec.unit) text += codec.asciiAt(bytes, at) || "\uFFFD";
  return text.startsWith('"') && text.endsWith('"') && text.length > 1 ? text.slice(1, -1).replaceAll('""', '"') : text;
}

/**
 * The NDJSON object without its `_errors` members, every other byte as uploaded (its other members keep their
 * spelling, values and order); the record itself when it has none, or when it does not read as one object.
 */
export function withoutNdjsonErrors(record: Uint8Array, codec: Codec): Uint8Array {
  const members = topLevelMembers(record, codec);
  if (!members) return record;
  const cuts: [number, number][] = [];
  let kept = false;
  for (const member of members) {
    if (member.key !== FAILED_ROW_KEY) {
      kept = true;
      continue;
    }
    // After a kept member, the comma before it goes with it; before any, the comma after it (the next one leads).
    if (kept) cuts.push([member.commaBefore as number, member.end]);
    else cuts.push([member.start, member.commaAfter ? member.end + codec.unit : member.end]);
  }
  if (cuts.length === 0) return record;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [from, to] of cuts) {
    parts.push(record.subarray(at, from));
    at = to;
  }
  parts.push(record.subarray(at));
  return concat(parts);
}

/** A member of an object: from its key's opening quote to the comma or brace after its value. */
interface Member {
  key: string | null;
  start: number;
  end: number;
  commaBefore: number | null;
  commaAfter: boolean;
}

/** The members of the object a line holds, in order; null when the line is not one object with balanced brackets. */
function topLevelMembers(bytes: Uint8Array, codec: Codec): Member[] | null {
  const unit = codec.unit;
  const members: Member[] = [];
  let depth = 0;
  let closed = false;
  let inString = false;
  let expectKey = false;
  let keyStart = -1;
  let commaBefore: number | null = null;
  let current: Member | null = null;
  for (let at = 0; at < bytes.length; at += unit) {
    const char = codec.asciiAt(bytes, at);
    if (inString) {
      if (char === "\\") at += unit;
      else if (char === '"') {
        inString = false;
        if (keyStart >= 0) {
          current = { key: keyOf(bytes, keyStart, at + unit, codec), start: keyStart, end: -1, commaBefore, commaAfter: false };
          keyStart = -1;
        }
      }
      continue;
    }
    // Outside strings JSON has only ASCII: a line with more is no object.
    if (char === "") return null;
    if (" \t\r\n".includes(char)) continue;
    if (closed) return null;
    if (char === '"') {
      inString = true;
      if (depth === 1 && expectKey) keyStart = at;
      expectKey = false;
    } else if (char === "{" || char === "[") {
      if (depth === 0 && char !== "{") return null;
      depth++;
      if (depth === 1) expectKey = true;
    } else if (char === "}" || char === "]") {
      if (depth === 0) return null;
      if (depth === 1 && current) {
        current.end = at;
        members.push(current);
        current = null;
      }
      depth--;
      if (depth === 0) closed = true;
    } else if (depth === 0) return null;
    else if (char === "," && depth === 1) {
      if (!current) return null;
      current.end = at;
      current.commaAfter = true;
      members.push(current);
      current = null;
      commaBefore = at;
      expectKey = true;
    }
  }
  return closed && !inString ? members : null;
}

/** A key's name as JSON reads it (escapes and all), trimmed and lower-cased as an upload matches it. */
function keyOf(bytes: Uint8Array, from: number, to: number, codec: Codec): string | null {
  let text = "";
  for (let at = from; at < to; at += codec.unit) {
    const char = codec.asciiAt(bytes, at);
    // A character that is not ASCII: not a name the failed-rows file writes.
    if (char === "") return null;
    text += char;
  }
  try {
    return normalizeColumnName(JSON.parse(text) as string);
  } catch {
    return null;
  }
}
