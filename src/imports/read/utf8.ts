// UTF-8 at the byte level: what the parsers and the encoding decision scan without decoding.

export const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

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

/** The length of the valid UTF-8 sequence at `bytes[i]` (non-ASCII) within `bytes[i, to)`, or 0 if there is none. */
export function utf8SequenceLength(bytes: Uint8Array, i: number, to: number): number {
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
