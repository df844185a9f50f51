// UTF-16 transcoded to UTF-8 on its way into the parsers, in pieces cut anywhere.
import { describe, expect, it } from "vitest";
import { INVALID_UTF16, Utf16ToUtf8 } from "../../../src/imports/read/utf16.ts";
import { bytesOf, splitAt, utf16Bytes } from "./parser-helpers.ts";

describe("Utf16ToUtf8", () => {
  const text = "a,é\r\n日本 😀\n\u{10FFFF}\uFEFF";
  const expected = new TextEncoder().encode(text);

  function transcode(bytes: Uint8Array, points: number[], byteOrder: "utf-16le" | "utf-16be"): number[] {
    const transcoder = new Utf16ToUtf8(byteOrder);
    const out: number[] = [];
    for (const piece of splitAt(bytes, points)) out.push(...transcoder.push(piece));
    out.push(...transcoder.end());
    return out;
  }

  it("gives the UTF-8 of the text, however the pieces cut code units and surrogate pairs", () => {
    for (const byteOrder of ["le", "be"] as const) {
      const bytes = utf16Bytes(text, byteOrder, false);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          expect(transcode(bytes, [i, j], `utf-16${byteOrder}`), `${byteOrder} split at ${i},${j}`).toEqual([...expected]);
        }
      }
    }
  });

  it("marks a lone surrogate, and a unit or pair cut off at the end, with a byte that is not UTF-8", () => {
    const le = (units: string) => utf16Bytes(units, "le", false);
    expect(transcode(le("a\uD800b"), [], "utf-16le")).toEqual([0x61, INVALID_UTF16, 0x62]);
    expect(transcode(le("a\uDC00b"), [3], "utf-16le")).toEqual([0x61, INVALID_UTF16, 0x62]);
    expect(transcode(le("a\uD800"), [3], "utf-16le")).toEqual([0x61, INVALID_UTF16]);
    expect(transcode(bytesOf(le("a"), [0x62]), [], "utf-16le")).toEqual([0x61, INVALID_UTF16]);
  });
});
