// How the failed-rows file (failed-rows-file.ts) reads and writes a record's bytes in the imported file's encoding:
// the characters it looks for (line breaks, spaces, quotes, delimiters, braces) are ASCII, one code unit each, and
// what it adds is encoded as the file is.
import type { TextEncoding } from "../read/encoding.ts";
import { UTF8_BOM } from "../read/utf8.ts";

/** Text written in the file's encoding, and what is read of its bytes. */
export interface Codec {
  /** Bytes per code unit: 2 in UTF-16, else 1 (a UTF-8 sequence's bytes are never ASCII). */
  unit: number;
  encode(text: string): Uint8Array;
  /** The ASCII character of the code unit at byte `at`, or "" for another. */
  asciiAt(bytes: Uint8Array, at: number): string;
  /** Bytes of the byte order mark the bytes start with; 0 if none. */
  bomLength(bytes: Uint8Array): number;
  /** Bytes of the line break (LF, CRLF or CR) the bytes end with; 0 if none. */
  lineBreakLength(bytes: Uint8Array): number;
  /** The byte offset of the last code unit before `end` that is not a space, tab, CR or LF; -1 if none. */
  lastNonSpace(bytes: Uint8Array, end: number): number;
  /**
   * The bytes up to `cut` (default: their line break), then `insert`, then their line break (or `lineBreak` when they
   * have none).
   */
  beforeLineBreak(bytes: Uint8Array, insert: Uint8Array, lineBreak: Uint8Array, cut?: number): Uint8Array;
}

export function codecOf(encoding: TextEncoding): Codec {
  const unit = encoding === "utf-16le" || encoding === "utf-16be" ? 2 : 1;
  const asciiAt = (bytes: Uint8Array, at: number): string => {
    if (at < 0 || at + unit > bytes.length) return "";
    const code = unit === 1 ? bytes[at] : encoding === "utf-16le" ? (bytes[at + 1] === 0 ? bytes[at] : 0x100) : bytes[at] === 0 ? bytes[at + 1] : 0x100;
    return code !== undefined && code < 0x80 ? String.fromCharCode(code) : "";
  };
  const lineBreakLength = (bytes: Uint8Array): number => {
    const end = bytes.length;
    if (asciiAt(bytes, end - unit) === "\n") return asciiAt(bytes, end - 2 * unit) === "\r" ? 2 * unit : unit;
    return asciiAt(bytes, end - unit) === "\r" ? unit : 0;
  };
  const bom = encoding === "utf-8" ? UTF8_BOM : encoding === "utf-16le" ? [0xff, 0xfe] : encoding === "utf-16be" ? [0xfe, 0xff] : [];
  return {
    unit,
    encode: encoderOf(encoding),
    asciiAt,
    bomLength: (bytes) => (bom.length > 0 && bom.every((byte, i) => bytes[i] === byte) ? bom.length : 0),
    lineBreakLength,
    lastNonSpace(bytes, end) {
      for (let at = end - unit; at >= 0; at -= unit) {
        const char = asciiAt(bytes, at);
        if (char === "" || !" \t\r\n".includes(char)) return at;
      }
      return -1;
    },
    beforeLineBreak(bytes, insert, lineBreak, cut) {
      const length = lineBreakLength(bytes);
      const end = bytes.length - length;
      return concat([bytes.subarray(0, cut ?? end), insert, length === 0 ? lineBreak : bytes.subarray(end)]);
    },
  };
}

/** Text in the file's encoding; a character Windows-1252 cannot represent becomes `?`. */
function encoderOf(encoding: TextEncoding): (text: string) => Uint8Array {
  switch (encoding) {
    case "utf-8": {
      const encoder = new TextEncoder();
      return (text) => encoder.encode(text);
    }
    case "utf-16le":
    case "utf-16be":
      return (text) => {
        const out = new Uint8Array(text.length * 2);
        const view = new DataView(out.buffer);
        for (let i = 0; i < text.length; i++) view.setUint16(2 * i, text.charCodeAt(i), encoding === "utf-16le");
        return out;
      };
    case "windows-1252": {
      const bytes = windows1252Bytes();
      return (text) => {
        const out: number[] = [];
        for (const char of text) out.push(bytes.get(char) ?? 0x3f);
        return new Uint8Array(out);
      };
    }
  }
}

let windows1252: Map<string, number> | null = null;

/** Each character Windows-1252 has, and its byte: the decoder's own table read backwards, so the two agree. */
function windows1252Bytes(): Map<string, number> {
  if (windows1252) return windows1252;
  const decoder = new TextDecoder("windows-1252");
  windows1252 = new Map();
  for (let byte = 0; byte < 256; byte++) {
    const char = decoder.decode(new Uint8Array([byte]));
    if (!windows1252.has(char)) windows1252.set(char, byte);
  }
  return windows1252;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
