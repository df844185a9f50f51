// The encoding a file is read in: declared charsets, byte order marks, and UTF-8 or Windows-1252 from the first bytes.
import { describe, expect, it } from "vitest";
import { decideEncoding, ENCODING_SNIFF_BYTES, FileEncoding } from "../../../src/imports/read/encoding.ts";
import { charsetOf } from "../../../src/model/charsets.ts";
import { FileFormatError } from "../../../src/imports/read/file-format-error.ts";
import { bytesOf, utf16Bytes, windows1252Bytes } from "./parser-helpers.ts";

const ascii = (length: number) => "a,b\n".repeat(length / 4);

/** The encoding decided, without its note. */
const encodingOf = (bytes: Uint8Array, declared: Parameters<typeof decideEncoding>[1]) => decideEncoding(bytes, declared).encoding;

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
      expect(encodingOf(bytesOf([0xef, 0xbb, 0xbf], "a"), declared)).toBe("utf-8");
      expect(encodingOf(utf16Bytes("a", "le", true), declared)).toBe("utf-16le");
      expect(encodingOf(utf16Bytes("a", "be", true), declared)).toBe("utf-16be");
    }
  });

  it("reads a declared charset as declared; ISO-8859-1 as Windows-1252, as the WHATWG Encoding Standard maps it", () => {
    const latin = windows1252Bytes("sku,name\nA-1,Café\n");
    expect(encodingOf(bytesOf("sku,name\nA-1,Café\n"), "utf-8")).toBe("utf-8");
    expect(encodingOf(latin, "windows-1252")).toBe("windows-1252");
    expect(encodingOf(latin, "iso-8859-1")).toBe("windows-1252");
    expect(encodingOf(utf16Bytes("sku", "le", false), "utf-16le")).toBe("utf-16le");
    expect(encodingOf(utf16Bytes("sku", "be", false), "utf-16be")).toBe("utf-16be");
    // The byte WHATWG's TextDecoder reads for iso-8859-1: € at 0x80, not the C1 control.
    expect(new TextDecoder("iso-8859-1").decode(Uint8Array.of(0x80))).toBe("€");
  });

  it("notes a declared charset the bytes contradict, naming the encoding read in", () => {
    const noteOf = (bytes: Uint8Array, declared: Parameters<typeof decideEncoding>[1]) => decideEncoding(bytes, declared).note?.message;
    // UTF-8 declared single-byte: read as declared.
    expect(decideEncoding(bytesOf("sku,name\nA-1,Café\n"), "windows-1252")).toEqual({
      encoding: "windows-1252",
      note: {
        code: "charset_mismatch",
        message:
          'The upload declared charset=windows-1252, so the file was read in windows-1252, but its first bytes are UTF-8 text: "é" was read as "Ã©". ' +
          "If the products show such characters, upload the file again with charset=utf-8 (or without a charset).",
      },
    });
    expect(noteOf(bytesOf("A-1,日本\n"), "iso-8859-1")).toMatch(/^The upload declared charset=iso-8859-1, so the file was read in windows-1252, .*"日" was read as "æ—¥"/);
    // Windows-1252 declared UTF-8: read as Windows-1252, as an undeclared file would be.
    expect(decideEncoding(windows1252Bytes("sku,name\nA-1,Café\n"), "utf-8")).toEqual({
      encoding: "windows-1252",
      note: {
        code: "charset_mismatch",
        message:
          "The upload declared charset=utf-8, but the file is not UTF-8: line 2 has the byte 0xE9, which is no UTF-8 character, and its first bytes hold no UTF-8 character beyond ASCII. " +
          'It was read in windows-1252, where 0xE9 is "é"; if the products\' text looks wrong, upload the file again with the charset it was saved in.',
      },
    });
    // A byte order mark of another encoding than the one declared.
    expect(noteOf(bytesOf([0xef, 0xbb, 0xbf], "a"), "windows-1252")).toBe(
      "The upload declared charset=windows-1252, but the file starts with a UTF-8 byte order mark, which decides: it was read in utf-8.",
    );
    expect(noteOf(utf16Bytes("a", "be", true), "utf-16le")).toMatch(/declared charset=utf-16le, but the file starts with a UTF-16BE byte order mark.*read in utf-16be\.$/);
  });

  it("notes nothing where the bytes agree with the declaration, or could be either", () => {
    const agreeing: [Uint8Array, Parameters<typeof decideEncoding>[1]][] = [
      [windows1252Bytes("A-1,Café €\n"), "windows-1252"],
      [bytesOf("A-1,plain ASCII\n"), "windows-1252"],
      [bytesOf("A-1,Café\n"), "utf-8"],
      [bytesOf("A-1,plain ASCII\n"), "utf-8"],
      [bytesOf([0xef, 0xbb, 0xbf], "a"), "utf-8"],
      [utf16Bytes("a", "le", true), "utf-16"],
      [utf16Bytes("a", "le", false), "utf-16le"],
      // Both UTF-8 and a byte that is none: a Windows-1252 file that holds a UTF-8-looking pair, or broken UTF-8.
      [bytesOf("A-1,Café\nA-2,Caf", [0xe9], "\n"), "windows-1252"],
      // Broken UTF-8 declared so stays UTF-8 (and fails on its line), as without a charset.
      [bytesOf("A-1,Café\nA-2,Caf", [0xe9], "\n"), "utf-8"],
      // Bytes Windows-1252 has no character for: read as declared.
      [bytesOf("A-1,Caf", [0x81], "\n"), "utf-8"],
    ];
    for (const [bytes, declared] of agreeing) expect(decideEncoding(bytes, declared).note, `${declared}: ${new TextDecoder().decode(bytes)}`).toBeUndefined();
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
    expect(encodingOf(bytesOf("sku,\0\0name\n1,a\0b\n"), null)).toBe("utf-8");
    expect(encodingOf(bytesOf("a"), null)).toBe("utf-8");
    expect(encodingOf(bytesOf("a\0b\0"), null)).toBe("utf-8");
    expect(encodingOf(new Uint8Array(0), null)).toBe("utf-8");
  });

  it("without a charset: UTF-8 when the first bytes are, Windows-1252 when they are that and hold no UTF-8 beyond ASCII", () => {
    expect(encodingOf(bytesOf("sku,name\nA-1,Café 😀\n"), null)).toBe("utf-8");
    expect(encodingOf(windows1252Bytes("sku,name\nA-1,Café €5\n"), null)).toBe("windows-1252");
    // Bytes that are no character in Windows-1252 either: read as UTF-8, which fails on their line.
    expect(encodingOf(bytesOf("sku,name\nA-1,Caf", [0xe9, 0x81], "\n"), null)).toBe("utf-8");
    // Broken UTF-8 (a UTF-8 é, then a Windows-1252 one) is read as UTF-8 and fails where it breaks.
    expect(encodingOf(bytesOf("A-1,Café\nA-2,Caf", [0xe9], "\n"), null)).toBe("utf-8");
  });

  it("looks at the first 64 KiB only: a Windows-1252 byte after them leaves the file UTF-8", () => {
    const late = bytesOf(ascii(ENCODING_SNIFF_BYTES), "A-1,Caf", [0xe9], "\n");
    expect(encodingOf(late, null)).toBe("utf-8");
    const early = bytesOf(ascii(ENCODING_SNIFF_BYTES - 8), "Caf", [0xe9], "\n", ascii(64));
    expect(encodingOf(early, null)).toBe("windows-1252");
  });

  it("takes a character cut off by the end of the first 64 KiB as one that goes on, but not one cut off by the end of the file", () => {
    const cut = bytesOf(ascii(ENCODING_SNIFF_BYTES - 4), "abc", [0xc3]);
    expect(cut.length).toBe(ENCODING_SNIFF_BYTES);
    expect(encodingOf(bytesOf(cut, [0xa9], "\n"), null)).toBe("utf-8");
    expect(encodingOf(bytesOf(cut.subarray(0, 100), [0xe9]), null)).toBe("windows-1252");
  });
});

describe("FileEncoding", () => {
  it("needs the first 64 KiB (or the whole file) unless UTF-16 is declared, a few bytes then, none once stored", () => {
    const atStart = { encoding: null, checkpointByte: 0 };
    for (const declared of [null, "utf-8", "windows-1252", "iso-8859-1"] as const) {
      expect(new FileEncoding(atStart, declared).canDecide(new Uint8Array(ENCODING_SNIFF_BYTES - 1)), String(declared)).toBe(false);
      expect(new FileEncoding(atStart, declared).canDecide(new Uint8Array(ENCODING_SNIFF_BYTES)), String(declared)).toBe(true);
    }
    expect(new FileEncoding(atStart, "utf-16le").canDecide(new Uint8Array(7))).toBe(false);
    expect(new FileEncoding(atStart, "utf-16le").canDecide(new Uint8Array(8))).toBe(true);
    expect(new FileEncoding({ encoding: "utf-16le", checkpointByte: 100 }, null).canDecide(new Uint8Array(0))).toBe(true);
  });

  it("reuses the stored encoding mid-file, never sniffing again, and reports a decided one once", () => {
    const stored = new FileEncoding({ encoding: "windows-1252", checkpointByte: 100 }, null);
    expect(stored.decide(bytesOf("Café\n"))).toBe("windows-1252");
    expect(stored.takeChange()).toEqual({});
    const fresh = new FileEncoding({ encoding: null, checkpointByte: 0 }, null);
    expect(fresh.takeChange()).toEqual({});
    expect(fresh.decide(windows1252Bytes("Café\n"))).toBe("windows-1252");
    expect(fresh.decide(bytesOf("Café\n"))).toBe("windows-1252");
    expect(fresh.takeChange()).toEqual({ encoding: "windows-1252" });
    expect(fresh.takeChange()).toEqual({});
    const noted = new FileEncoding({ encoding: null, checkpointByte: 0 }, "windows-1252");
    expect(noted.decide(bytesOf("Café\n"))).toBe("windows-1252");
    expect(noted.takeChange()).toEqual({ encoding: "windows-1252", notes: [expect.objectContaining({ code: "charset_mismatch" })] });
    expect(noted.takeChange()).toEqual({});
    // A job that moved on before encodings were recorded was read as UTF-8.
    const older = new FileEncoding({ encoding: null, checkpointByte: 100 }, null);
    expect(older.decide(windows1252Bytes("Café\n"))).toBe("utf-8");
  });
});
