// The encoding a file is read in: declared charsets, byte order marks, and UTF-8 or Windows-1252 from the first bytes.
import { describe, expect, it } from "vitest";
import { charsetOf, decideEncoding, ENCODING_SNIFF_BYTES, FileEncoding } from "../../../src/imports/encoding.ts";
import { FileFormatError } from "../../../src/imports/records.ts";
import { bytesOf, utf16Bytes, windows1252Bytes } from "./parser-helpers.ts";

const ascii = (length: number) => "a,b\n".repeat(length / 4);

function decideError(bytes: Uint8Array, declared: Parameters<typeof decideEncoding>[1]): FileFormatError {
  try {
    decideEncoding(bytes, declared);
  } catch (error) {
    if (error instanceof FileFormatError) return error;
    throw error;
  }
  throw new Error("no error");
}

describe("charsetOf", () => {
  it("knows the charsets a file may be declared in by their names and common aliases, in any case", () => {
    expect(charsetOf("UTF-8")).toBe("utf-8");
    expect(charsetOf("utf8")).toBe("utf-8");
    expect(charsetOf("UTF-16")).toBe("utf-16");
    expect(charsetOf("utf-16LE")).toBe("utf-16le");
    expect(charsetOf("utf-16be")).toBe("utf-16be");
    expect(charsetOf("Windows-1252")).toBe("windows-1252");
    expect(charsetOf("cp1252")).toBe("windows-1252");
    expect(charsetOf("ISO-8859-1")).toBe("iso-8859-1");
    expect(charsetOf("latin1")).toBe("iso-8859-1");
  });

  it("knows no other", () => {
    for (const label of ["shift_jis", "utf-32", "iso-8859-15", "ascii", "", "constructor", "__proto__", "toString"]) expect(charsetOf(label), label).toBeNull();
  });
});

describe("decideEncoding", () => {
  it("lets a byte order mark decide, whatever was declared", () => {
    for (const declared of [null, "utf-8", "utf-16", "utf-16be", "windows-1252", "iso-8859-1"] as const) {
      expect(decideEncoding(bytesOf([0xef, 0xbb, 0xbf], "a"), declared)).toBe("utf-8");
      expect(decideEncoding(utf16Bytes("a", "le", true), declared)).toBe("utf-16le");
      expect(decideEncoding(utf16Bytes("a", "be", true), declared)).toBe("utf-16be");
    }
  });

  it("reads a declared charset as declared; ISO-8859-1 as Windows-1252, as the WHATWG Encoding Standard maps it", () => {
    const latin = windows1252Bytes("sku,name\nA-1,Café\n");
    expect(decideEncoding(latin, "utf-8")).toBe("utf-8");
    expect(decideEncoding(latin, "windows-1252")).toBe("windows-1252");
    expect(decideEncoding(latin, "iso-8859-1")).toBe("windows-1252");
    expect(decideEncoding(utf16Bytes("sku", "le", false), "utf-16le")).toBe("utf-16le");
    expect(decideEncoding(utf16Bytes("sku", "be", false), "utf-16be")).toBe("utf-16be");
    // The byte WHATWG's TextDecoder reads for iso-8859-1: € at 0x80, not the C1 control.
    expect(new TextDecoder("iso-8859-1").decode(Uint8Array.of(0x80))).toBe("€");
  });

  it("refuses UTF-16 without a byte order mark unless its byte order is declared, with a hint when the first characters show it", () => {
    const declared = decideError(utf16Bytes("sku,name", "le", false), "utf-16");
    expect(declared).toMatchObject({ code: "utf16_without_bom", line: 1 });
    expect(declared.message).toMatch(/declared as UTF-16 \(charset=utf-16\) but has no byte order mark.*charset=utf-16le or charset=utf-16be.*look little-endian: declare charset=utf-16le/);
    expect(decideError(bytesOf("日本"), "utf-16").message).not.toContain("look");
    const detected = decideError(utf16Bytes("sku,name", "be", false), null);
    expect(detected).toMatchObject({ code: "utf16_without_bom", line: 1 });
    expect(detected.message).toMatch(/encoded as UTF-16 without a byte order mark.*look big-endian: declare charset=utf-16be/);
  });

  it("does not take UTF-8 with NUL bytes after its first characters, or a short file, for UTF-16", () => {
    expect(decideEncoding(bytesOf("sku,\0\0name\n1,a\0b\n"), null)).toBe("utf-8");
    expect(decideEncoding(bytesOf("a"), null)).toBe("utf-8");
    expect(decideEncoding(bytesOf("a\0b\0"), null)).toBe("utf-8");
    expect(decideEncoding(new Uint8Array(0), null)).toBe("utf-8");
  });

  it("without a charset: UTF-8 when the first bytes are, Windows-1252 when they are that and hold no UTF-8 beyond ASCII", () => {
    expect(decideEncoding(bytesOf("sku,name\nA-1,Café 😀\n"), null)).toBe("utf-8");
    expect(decideEncoding(windows1252Bytes("sku,name\nA-1,Café €5\n"), null)).toBe("windows-1252");
    // Bytes that are no character in Windows-1252 either: read as UTF-8, which fails on their line.
    expect(decideEncoding(bytesOf("sku,name\nA-1,Caf", [0xe9, 0x81], "\n"), null)).toBe("utf-8");
    // Broken UTF-8 (a UTF-8 é, then a Windows-1252 one) is read as UTF-8 and fails where it breaks.
    expect(decideEncoding(bytesOf("A-1,Café\nA-2,Caf", [0xe9], "\n"), null)).toBe("utf-8");
  });

  it("looks at the first 64 KiB only: a Windows-1252 byte after them leaves the file UTF-8", () => {
    const late = bytesOf(ascii(ENCODING_SNIFF_BYTES), "A-1,Caf", [0xe9], "\n");
    expect(decideEncoding(late, null)).toBe("utf-8");
    const early = bytesOf(ascii(ENCODING_SNIFF_BYTES - 8), "Caf", [0xe9], "\n", ascii(64));
    expect(decideEncoding(early, null)).toBe("windows-1252");
  });

  it("takes a character cut off by the end of the first 64 KiB as one that goes on, but not one cut off by the end of the file", () => {
    const cut = bytesOf(ascii(ENCODING_SNIFF_BYTES - 4), "abc", [0xc3]);
    expect(cut.length).toBe(ENCODING_SNIFF_BYTES);
    expect(decideEncoding(bytesOf(cut, [0xa9], "\n"), null)).toBe("utf-8");
    expect(decideEncoding(bytesOf(cut.subarray(0, 100), [0xe9]), null)).toBe("windows-1252");
  });
});

describe("FileEncoding", () => {
  it("needs the first 64 KiB (or the whole file) without a charset, a few bytes with one, none once stored", () => {
    const atStart = { encoding: null, checkpointByte: 0 };
    expect(new FileEncoding(atStart, null).canDecide(new Uint8Array(ENCODING_SNIFF_BYTES - 1))).toBe(false);
    expect(new FileEncoding(atStart, null).canDecide(new Uint8Array(ENCODING_SNIFF_BYTES))).toBe(true);
    expect(new FileEncoding(atStart, "windows-1252").canDecide(new Uint8Array(7))).toBe(false);
    expect(new FileEncoding(atStart, "windows-1252").canDecide(new Uint8Array(8))).toBe(true);
    expect(new FileEncoding({ encoding: "utf-16le", checkpointByte: 100 }, null).canDecide(new Uint8Array(0))).toBe(true);
  });

  it("reuses the stored encoding mid-file, never sniffing again, and reports a decided one once", () => {
    const stored = new FileEncoding({ encoding: "windows-1252", checkpointByte: 100 }, null);
    expect(stored.decide(bytesOf("Café\n"))).toBe("windows-1252");
    expect(stored.takeChange()).toBeUndefined();
    const fresh = new FileEncoding({ encoding: null, checkpointByte: 0 }, null);
    expect(fresh.takeChange()).toBeUndefined();
    expect(fresh.decide(windows1252Bytes("Café\n"))).toBe("windows-1252");
    expect(fresh.decide(bytesOf("Café\n"))).toBe("windows-1252");
    expect(fresh.takeChange()).toBe("windows-1252");
    expect(fresh.takeChange()).toBeUndefined();
    // A job that moved on before encodings were recorded was read as UTF-8.
    const older = new FileEncoding({ encoding: null, checkpointByte: 100 }, null);
    expect(older.decide(windows1252Bytes("Café\n"))).toBe("utf-8");
  });
});
