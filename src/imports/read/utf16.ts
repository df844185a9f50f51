// UTF-16 read as UTF-8: the parsers scan bytes for ASCII delimiters, quotes and line breaks, which in UTF-16 are two
// bytes whose halves can also occur inside other characters. Transcoding to UTF-8 on the way in lets the same scanners
// and the same batch decoding run unchanged; the parser maps its offsets back to the file's (see ByteRecordParser).

/**
 * Where the transcoded text has a byte that is not UTF-8: a lone surrogate, or a character the file ends in the middle
 * of. The parser's decoder then fails on the record that holds it, which names its line.
 */
export const INVALID_UTF16 = 0xff;

/** A streaming UTF-16 to UTF-8 transcoder; pieces may end anywhere, even inside a code unit or a surrogate pair. */
export class Utf16ToUtf8 {
  private readonly littleEndian: boolean;
  /** An odd byte left over from the last piece, or -1. */
  private pendingByte = -1;
  /** A high surrogate left over from the last piece, waiting for its low half, or -1. */
  private pendingHigh = -1;

  constructor(byteOrder: "utf-16le" | "utf-16be") {
    this.littleEndian = byteOrder === "utf-16le";
  }

  push(piece: Uint8Array): Uint8Array {
    // Each 2-byte unit becomes at most 3 bytes; a pending unit at most 4 (a pair) or 1 (an invalid byte).
    const out = new Uint8Array(Math.ceil((piece.length + 1) / 2) * 3 + 4);
    let o = 0;
    let i = 0;
    const le = this.littleEndian;
    let unit: number;
    if (this.pendingByte >= 0 && piece.length > 0) {
      unit = le ? this.pendingByte | (piece[0]! << 8) : (this.pendingByte << 8) | piece[0]!;
      this.pendingByte = -1;
      i = 1;
      o = this.unit(unit, out, o);
    }
    const pairs = i + ((piece.length - i) & ~1);
    for (; i < pairs; i += 2) {
      unit = le ? piece[i]! | (piece[i + 1]! << 8) : (piece[i]! << 8) | piece[i + 1]!;
      if (unit < 0x80 && this.pendingHigh < 0) out[o++] = unit;
      else o = this.unit(unit, out, o);
    }
    if (i < piece.length) this.pendingByte = piece[i]!;
    return out.subarray(0, o);
  }

  /** At the end of the file: what was left over can only be a cut-off character. */
  end(): Uint8Array {
    const invalid = this.pendingByte >= 0 || this.pendingHigh >= 0;
    this.pendingByte = this.pendingHigh = -1;
    return invalid ? Uint8Array.of(INVALID_UTF16) : new Uint8Array(0);
  }

  /** Writes one code unit's UTF-8 (or completes a surrogate pair) at `o`; returns the new end. */
  private unit(unit: number, out: Uint8Array, o: number): number {
    if (this.pendingHigh >= 0) {
      const high = this.pendingHigh;
      this.pendingHigh = -1;
      if (unit >= 0xdc00 && unit <= 0xdfff) {
        const code = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
        out[o++] = 0xf0 | (code >> 18);
        out[o++] = 0x80 | ((code >> 12) & 0x3f);
        out[o++] = 0x80 | ((code >> 6) & 0x3f);
        out[o++] = 0x80 | (code & 0x3f);
        return o;
      }
      out[o++] = INVALID_UTF16;
    }
    if (unit < 0x80) out[o++] = unit;
    else if (unit < 0x800) {
      out[o++] = 0xc0 | (unit >> 6);
      out[o++] = 0x80 | (unit & 0x3f);
    } else if (unit >= 0xd800 && unit <= 0xdbff) this.pendingHigh = unit;
    else if (unit >= 0xdc00 && unit <= 0xdfff) out[o++] = INVALID_UTF16;
    else {
      out[o++] = 0xe0 | (unit >> 12);
      out[o++] = 0x80 | ((unit >> 6) & 0x3f);
      out[o++] = 0x80 | (unit & 0x3f);
    }
    return o;
  }
}
