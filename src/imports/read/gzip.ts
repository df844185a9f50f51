// A gzip decoder (RFC 1952 members of RFC 1951 DEFLATE data) that hands its output over in parts of a fixed size and
// whose whole state can be saved at the end of each part and restored by a later invocation. DecompressionStream
// cannot be paused that way: a job continued by it would inflate its file from the first byte again in every
// invocation. What a saved point holds: where the next bit is, the block it is in (a dynamic block's code lengths),
// the member's length and CRC-32 so far, and the last 32 KiB of output, which later matches may copy.
//
// Everything is checked as zlib checks it (codes neither over-subscribed nor incomplete, distances within the
// member's output, stored block lengths, each member's CRC-32 and length), so damaged data fails instead of being
// imported; the error names the byte of the compressed file where it was found.
import { fromBase64, toBase64 } from "../../bytes.ts";

/** The compressed data is not gzip, or is damaged; `byte` is the offset in the compressed file where it was found. */
export class GzipFormatError extends Error {
  readonly byte: number;

  constructor(message: string, byte: number) {
    super(message);
    this.byte = byte;
  }
}

/** How far back a match may copy (RFC 1951 3.2.5). */
const WINDOW = 32 * 1024;
/** The longest match: a part may run over its end by less than this before the decoder stops. */
const MAX_MATCH = 258;
/** The most input one literal/length and distance pair reads (15 + 5 + 15 + 13 bits), rounded up. */
const SYMBOL_BYTES = 8;
/** More than a dynamic block's header can take (about 560 bytes at most): it is read only when this much is at hand. */
const BLOCK_HEADER_BYTES = 1024;
/** A member header (with its file name and comment) is held whole before it is read; a longer one is refused. */
export const MAX_GZIP_HEADER_BYTES = 64 * 1024;
const CUT_OFF = "the gzip data is cut off (the file is incomplete)";
/** Zero bytes after the input's end, so that the bit reader's look-ahead at the end reads no undefined value. */
const PAD = 16;

type Mode = "member" | "block" | "stored" | "codes" | "trailer";

/** A saved point of a decoder, at the end of a part: plain JSON. */
export interface GzipResumePoint {
  /** Bit offset in the compressed data of the next unread bit. */
  bit: number;
  /** Bytes output before this point (at most MAX_MATCH past the end of the part). */
  out: number;
  mode: Mode;
  /** Whether the current block is its member's last. */
  last: boolean;
  /** Bytes left of the current stored block. */
  stored: number;
  /** The current Huffman block's code lengths, one hex digit per symbol; "" for a fixed block. */
  literalLengths: string;
  distanceLengths: string;
  members: number;
  /** Bytes the current member has output, and their CRC-32. */
  memberOut: number;
  crc: number;
  /** The current member's last (up to 32 KiB) bytes of output, base64. */
  window: string;
}

export type GzipStep =
  /** It needs more input (`push`). */
  | "input"
  /** It has output as much as `run` was asked for: a turn for the event loop, then `run` again. */
  | "pause"
  /** A part is full (`part`, then `nextPart`). */
  | "part"
  /** The data ended: `part` is the last part (maybe empty). */
  | "end";

interface Table {
  /** Indexed by the next `bits` input bits: (symbol << 4) | code length; 0 for no code. */
  codes: Uint16Array;
  bits: number;
}

export class GzipDecoder {
  private readonly partBytes: number;
  /** [window | part | room for a match's overrun]; the part's bytes start at WINDOW. */
  private readonly out: Uint8Array;
  private readonly limit: number;
  /** Where `run` pauses: at most `limit`. */
  private stop: number;
  private pos = WINDOW;
  /** Output before out[WINDOW]. */
  private partStart = 0;
  /** Where the current member's output starts in `out` (far below 0 once parts have moved on). */
  private memberStart = WINDOW;
  private crc = 0;
  /** Output up to here is in `crc`. */
  private crcPos = WINDOW;

  private input = new Uint8Array(PAD);
  private inLen = 0;
  private inPos = 0;
  /** Offset in the compressed data of input[0]. */
  private inBase: number;
  private ended = false;
  private bitBuf = 0;
  private bitCount = 0;
  /** Bits of the first byte pushed that a restored point had already read. */
  private skipBits: number;

  private mode: Mode = "member";
  private last = false;
  private stored = 0;
  private members = 0;
  private literals: Table = FIXED.literals;
  private distances: Table = FIXED.distances;
  private lengths: { literal: Uint8Array; distance: Uint8Array } | null = null;

  /**
   * A decoder whose parts have `partBytes` bytes, starting at the beginning of the data or at a saved point (after
   * `partsDone` parts).
   */
  constructor(partBytes: number, resume: GzipResumePoint | null = null, partsDone = 0) {
    this.partBytes = partBytes;
    this.out = new Uint8Array(WINDOW + partBytes + MAX_MATCH);
    this.limit = WINDOW + partBytes;
    this.stop = this.limit;
    this.inBase = resume ? Math.floor(resume.bit / 8) : 0;
    this.skipBits = resume ? resume.bit % 8 : 0;
    if (resume) this.restore(resume, partsDone);
  }

  /** The offset in the compressed data to read from: its start, or where a restored point stopped. */
  get inputStart(): number {
    return this.inBase;
  }

  /** Compressed bytes read so far (to the point decoded, not the input pushed). */
  get inputBytes(): number {
    return this.inBase + this.inPos - (this.bitCount >>> 3);
  }

  /** Bytes output so far. */
  get outputBytes(): number {
    return this.partStart + this.pos - WINDOW;
  }

  /** The next input; `last` when the data ends with it. */
  push(bytes: Uint8Array, last: boolean): void {
    // A few bytes before the read position stay: a stored block or a trailer gives back the whole bytes the bit reader took.
    const keepFrom = Math.max(0, this.inPos - 4);
    const kept = this.inLen - keepFrom;
    const input = new Uint8Array(kept + bytes.byteLength + PAD);
    input.set(this.input.subarray(keepFrom, this.inLen));
    input.set(bytes, kept);
    this.input = input;
    this.inBase += keepFrom;
    this.inPos -= keepFrom;
    this.inLen = kept + bytes.byteLength;
    this.ended = last;
    if (this.skipBits > 0 && this.inLen > this.inPos) {
      this.bitBuf = (input[this.inPos++] as number) >>> this.skipBits;
      this.bitCount = 8 - this.skipBits;
      this.skipBits = 0;
    }
  }

  /** Decodes until it needs input, a part is full, the data ends, or (with `maxOutput`) it has output that many bytes. */
  run(maxOutput = Infinity): GzipStep {
    this.stop = Math.min(this.limit, this.pos + maxOutput);
    try {
      for (;;) {
        if (this.pos >= this.limit) return "part";
        if (this.pos >= this.stop) return "pause";
        const step = this.step();
        if (step) return step;
      }
    } catch (err) {
      // Past the end of the data the reader reads zeros, which may look like any error: the data is cut off.
      if (err instanceof GzipFormatError && this.pastEnd()) throw this.cutOff();
      throw err;
    }
  }

  /** The full part (after "part"), or the last one (after "end"). */
  part(): Uint8Array {
    return this.out.subarray(WINDOW, Math.min(this.pos, this.limit));
  }

  /** Starts the next part, once the full one was stored: the window and a match's overrun move to the front. */
  nextPart(): void {
    this.syncCrc();
    this.out.copyWithin(0, this.partBytes, this.pos);
    this.pos -= this.partBytes;
    this.crcPos -= this.partBytes;
    this.memberStart -= this.partBytes;
    this.partStart += this.partBytes;
  }

  /** The point to resume from at the start of the current part (after `nextPart`). */
  resumePoint(): GzipResumePoint {
    this.syncCrc();
    const memberOut = this.pos - this.memberStart;
    const window = this.out.subarray(this.pos - Math.min(WINDOW, memberOut), this.pos);
    return {
      // A restored decoder that has not read yet still owes the bits of its first byte that were read before.
      bit: (this.inBase + this.inPos) * 8 - this.bitCount + this.skipBits,
      out: this.outputBytes,
      mode: this.mode,
      last: this.last,
      stored: this.stored,
      literalLengths: this.lengths ? hexDigits(this.lengths.literal) : "",
      distanceLengths: this.lengths ? hexDigits(this.lengths.distance) : "",
      members: this.members,
      memberOut,
      crc: this.crc,
      window: toBase64(window),
    };
  }

  private restore(point: GzipResumePoint, partsDone: number): void {
    const window = fromBase64(point.window);
    const overrun = point.out - partsDone * this.partBytes;
    if (overrun < 0 || overrun > MAX_MATCH || window.length !== Math.min(WINDOW, point.memberOut) || window.length < overrun) {
      throw new Error("the saved inflate point does not fit its parts");
    }
    this.pos = WINDOW + overrun;
    this.out.set(window, this.pos - window.length);
    this.partStart = partsDone * this.partBytes;
    this.memberStart = this.pos - point.memberOut;
    this.crc = point.crc;
    this.crcPos = this.pos;
    this.mode = point.mode;
    this.last = point.last;
    this.stored = point.stored;
    this.members = point.members;
    if (point.mode === "codes" && point.literalLengths !== "") {
      this.useLengths(fromHexDigits(point.literalLengths), fromHexDigits(point.distanceLengths));
    }
  }

  private step(): GzipStep | null {
    switch (this.mode) {
      case "member":
        return this.memberHeader();
      case "block":
        return this.blockHeader();
      case "stored":
        return this.storedBytes();
      case "codes":
        return this.codes();
      case "trailer":
        return this.trailer();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Members: header and trailer (RFC 1952 2.3).

  private memberHeader(): GzipStep | null {
    const { input } = this;
    const at = this.inPos;
    const available = this.inLen - at;
    if (available === 0) {
      if (!this.ended) return "input";
      if (this.members === 0) throw this.error("the data is empty, not gzip");
      return "end";
    }
    if (input[at] === 0x1f && available < 2) {
      if (this.ended) throw this.cutOff();
      return "input";
    }
    if (input[at] !== 0x1f || input[at + 1] !== 0x8b) {
      throw this.members === 0
        ? this.error("the data is not gzip (it does not start with the bytes 1F 8B)")
        : this.error("bytes follow the end of the gzip data that are not another gzip member");
    }
    const headerEnd = this.headerEnd(at);
    if (headerEnd === null || headerEnd > this.inLen) {
      if (this.ended) throw this.cutOff();
      if (available > MAX_GZIP_HEADER_BYTES) throw this.error(`the gzip header is longer than ${MAX_GZIP_HEADER_BYTES} bytes`);
      return "input";
    }
    const flags = input[at + 3] as number;
    if (flags & 0x02) {
      const expected = (input[headerEnd - 2] as number) | ((input[headerEnd - 1] as number) << 8);
      if ((crc32(0, input, at, headerEnd - 2) & 0xffff) !== expected) throw this.error("the gzip header's checksum does not match");
    }
    this.inPos = headerEnd;
    this.members++;
    this.memberStart = this.pos;
    this.crc = 0;
    this.crcPos = this.pos;
    this.mode = "block";
    return null;
  }

  /** Where the member header starting at `at` ends, or null while its end is not in the input yet. */
  private headerEnd(at: number): number | null {
    const { input, inLen } = this;
    if (inLen - at < 10) return null;
    if (input[at + 2] !== 8) throw this.error(`the gzip data uses compression method ${input[at + 2]}, not deflate (8)`);
    const flags = input[at + 3] as number;
    if (flags & 0xe0) throw this.error("the gzip header sets reserved flags");
    let p = at + 10;
    if (flags & 0x04) {
      if (p + 2 > inLen) return null;
      p += 2 + ((input[p] as number) | ((input[p + 1] as number) << 8));
    }
    // The file name, then the comment: each up to a zero byte.
    for (const flag of [0x08, 0x10]) {
      if (!(flags & flag)) continue;
      if (p >= inLen) return null;
      const zero = input.subarray(0, inLen).indexOf(0, p);
      if (zero < 0) return null;
      p = zero + 1;
    }
    if (flags & 0x02) p += 2;
    return p;
  }

  private trailer(): GzipStep | null {
    this.alignToByte();
    const at = this.inPos;
    if (this.inLen - at < 8) {
      if (this.ended) throw this.cutOff();
      return "input";
    }
    this.syncCrc();
    const crc = readUint32(this.input, at);
    const length = readUint32(this.input, at + 4);
    if (crc !== this.crc) throw this.error("the inflated data does not match the gzip checksum (CRC-32): the file is damaged");
    if (length !== (this.pos - this.memberStart) % 2 ** 32) throw this.error("the inflated length does not match the gzip trailer: the file is damaged");
    this.inPos = at + 8;
    this.mode = "member";
    return null;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Blocks (RFC 1951 3.2.3).

  private blockHeader(): GzipStep | null {
    if (!this.ended && this.inLen - this.inPos < BLOCK_HEADER_BYTES) return "input";
    this.last = this.bits(1) === 1;
    const type = this.bits(2);
    if (type === 0) {
      this.alignToByte();
      const at = this.inPos;
      if (this.inLen - at < 4) throw this.cutOff();
      const length = (this.input[at] as number) | ((this.input[at + 1] as number) << 8);
      const check = (this.input[at + 2] as number) | ((this.input[at + 3] as number) << 8);
      if (length !== (~check & 0xffff)) throw this.error("a stored block's length does not match its check");
      this.inPos = at + 4;
      this.stored = length;
      this.lengths = null;
      this.mode = "stored";
    } else if (type === 1) {
      this.literals = FIXED.literals;
      this.distances = FIXED.distances;
      this.lengths = null;
      this.mode = "codes";
    } else if (type === 2) {
      this.dynamicHeader();
      this.mode = "codes";
    } else {
      throw this.error("a block has the reserved type 3");
    }
    this.checkNotPastEnd();
    return null;
  }

  private dynamicHeader(): void {
    const literalCount = this.bits(5) + 257;
    const distanceCount = this.bits(5) + 1;
    const codeLengthCount = this.bits(4) + 4;
    if (literalCount > 286 || distanceCount > 30) throw this.error("a block header declares too many codes");
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < codeLengthCount; i++) codeLengths[CODE_LENGTH_ORDER[i] as number] = this.bits(3);
    const codeLengthTable = buildTable(codeLengths, "code length", (message) => this.error(message));
    const lengths = new Uint8Array(literalCount + distanceCount);
    for (let i = 0; i < lengths.length; ) {
      const symbol = this.decode(codeLengthTable, "code length");
      if (symbol < 16) {
        lengths[i++] = symbol;
        continue;
      }
      let repeat: number;
      let value = 0;
      if (symbol === 16) {
        if (i === 0) throw this.error("a block header repeats a code length before the first");
        value = lengths[i - 1] as number;
        repeat = 3 + this.bits(2);
      } else repeat = symbol === 17 ? 3 + this.bits(3) : 11 + this.bits(7);
      if (i + repeat > lengths.length) throw this.error("a block header repeats code lengths past its codes");
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw this.error("a block has no end-of-block code");
    this.useLengths(lengths.slice(0, literalCount), lengths.slice(literalCount));
  }

  private useLengths(literal: Uint8Array, distance: Uint8Array): void {
    const fail = (message: string) => this.error(message);
    this.literals = buildTable(literal, "literal/length", fail);
    this.distances = buildTable(distance, "distance", fail);
    this.lengths = { literal, distance };
  }

  private storedBytes(): GzipStep | null {
    while (this.stored > 0) {
      if (this.pos >= this.stop) return null;
      const available = this.inLen - this.inPos;
      if (available === 0) {
        if (this.ended) throw this.cutOff();
        return "input";
      }
      const n = Math.min(this.stored, available, this.stop - this.pos);
      this.out.set(this.input.subarray(this.inPos, this.inPos + n), this.pos);
      this.pos += n;
      this.inPos += n;
      this.stored -= n;
    }
    this.mode = this.last ? "trailer" : "block";
    return null;
  }

  /** A Huffman block's symbols, until its end, the output asked for, or the input at hand runs short. The hot loop. */
  private codes(): GzipStep | null {
    const { out, input, stop, ended, inLen } = this;
    const { codes: literals, bits: literalBits } = this.literals;
    const { codes: distances, bits: distanceBits } = this.distances;
    const literalMask = (1 << literalBits) - 1;
    const distanceMask = (1 << distanceBits) - 1;
    const inputGuard = ended ? inLen : inLen - SYMBOL_BYTES;
    let { bitBuf, bitCount, inPos, pos } = this;
    const memberStart = this.memberStart;
    let step: GzipStep | null = null;
    try {
      for (;;) {
        // A full part, or a pause: run() tells which.
        if (pos >= stop) break;
        if (inPos > inputGuard) {
          if (!ended) {
            step = "input";
            break;
          }
          // Reading on at the end of the data: the look-ahead reads padding, but no symbol may use it.
          if ((inPos - inLen) * 8 > bitCount) throw this.errorAt(inLen, CUT_OFF);
        }
        while (bitCount < literalBits) {
          bitBuf |= (input[inPos++] as number) << bitCount;
          bitCount += 8;
        }
        let entry = literals[bitBuf & literalMask] as number;
        let n = entry & 15;
        if (n === 0) throw this.errorAt(inPos, "a block uses a literal/length code it did not define");
        bitBuf >>>= n;
        bitCount -= n;
        let symbol = entry >>> 4;
        if (symbol < 256) {
          out[pos++] = symbol;
          continue;
        }
        if (symbol === 256) {
          this.mode = this.last ? "trailer" : "block";
          break;
        }
        symbol -= 257;
        if (symbol >= 29) throw this.errorAt(inPos, "a block uses an invalid length code");
        let length = LENGTH_BASE[symbol] as number;
        let extra = LENGTH_EXTRA[symbol] as number;
        if (extra > 0) {
          while (bitCount < extra) {
            bitBuf |= (input[inPos++] as number) << bitCount;
            bitCount += 8;
          }
          length += bitBuf & ((1 << extra) - 1);
          bitBuf >>>= extra;
          bitCount -= extra;
        }
        while (bitCount < distanceBits) {
          bitBuf |= (input[inPos++] as number) << bitCount;
          bitCount += 8;
        }
        entry = distances[bitBuf & distanceMask] as number;
        n = entry & 15;
        if (n === 0) throw this.errorAt(inPos, "a block uses a distance code it did not define");
        bitBuf >>>= n;
        bitCount -= n;
        symbol = entry >>> 4;
        if (symbol >= 30) throw this.errorAt(inPos, "a block uses an invalid distance code");
        let distance = DISTANCE_BASE[symbol] as number;
        extra = DISTANCE_EXTRA[symbol] as number;
        if (extra > 0) {
          while (bitCount < extra) {
            bitBuf |= (input[inPos++] as number) << bitCount;
            bitCount += 8;
          }
          distance += bitBuf & ((1 << extra) - 1);
          bitBuf >>>= extra;
          bitCount -= extra;
        }
        if (distance > pos - memberStart) throw this.errorAt(inPos, "a block refers back before the start of the data");
        let from = pos - distance;
        const end = pos + length;
        if (distance >= length && length > 32) {
          out.copyWithin(pos, from, from + length);
          pos = end;
        } else {
          while (pos < end) out[pos++] = out[from++] as number;
        }
      }
    } finally {
      this.bitBuf = bitBuf;
      this.bitCount = bitCount;
      this.inPos = inPos;
      this.pos = pos;
    }
    if (step === null) this.checkNotPastEnd();
    return step;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Bits (least significant first, RFC 1951 3.1.1), outside the hot loop.

  private bits(n: number): number {
    while (this.bitCount < n) {
      this.bitBuf |= (this.input[this.inPos++] ?? 0) << this.bitCount;
      this.bitCount += 8;
    }
    const value = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return value;
  }

  private decode(table: Table, what: string): number {
    while (this.bitCount < table.bits) {
      this.bitBuf |= (this.input[this.inPos++] ?? 0) << this.bitCount;
      this.bitCount += 8;
    }
    const entry = table.codes[this.bitBuf & ((1 << table.bits) - 1)] as number;
    const n = entry & 15;
    if (n === 0) throw this.error(`a block header uses a ${what} code it did not define`);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return entry >>> 4;
  }

  /** Drops the bits up to the next byte and gives back the whole bytes the bit reader took ahead. */
  private alignToByte(): void {
    this.inPos -= this.bitCount >>> 3;
    this.bitBuf = 0;
    this.bitCount = 0;
  }

  /** At the end of the data, fails when what was read went past it (the reads beyond gave zeros). */
  private checkNotPastEnd(): void {
    if (this.pastEnd()) throw this.cutOff();
  }

  private pastEnd(): boolean {
    return this.ended && (this.inPos - this.inLen) * 8 > this.bitCount;
  }

  private cutOff(): GzipFormatError {
    return new GzipFormatError(CUT_OFF, this.inBase + this.inLen);
  }

  private syncCrc(): void {
    this.crc = crc32(this.crc, this.out, this.crcPos, this.pos);
    this.crcPos = this.pos;
  }

  private error(message: string): GzipFormatError {
    return new GzipFormatError(message, this.inputBytes);
  }

  private errorAt(inPos: number, message: string): GzipFormatError {
    return new GzipFormatError(message, this.inBase + Math.min(inPos, this.inLen));
  }
}

// -------------------------------------------------------------------------------------------------------------------
// Huffman tables (RFC 1951 3.2.2): one lookup of the next `bits` input bits gives a symbol and its code's length.

const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

type TableKind = "code length" | "literal/length" | "distance";

/**
 * The lookup table of a canonical code given by its lengths. As zlib: an over-subscribed code is refused, and an
 * incomplete one too, except a literal/length or distance code of a single one-bit code; a distance code of no codes
 * is allowed (its block has literals only) and fails where one is used.
 */
function buildTable(lengths: Uint8Array, kind: TableKind, fail: (message: string) => Error): Table {
  const count = new Array<number>(16).fill(0);
  for (const length of lengths) count[length] = (count[length] as number) + 1;
  count[0] = 0;
  let bits = 15;
  while (bits > 0 && count[bits] === 0) bits--;
  if (bits === 0) {
    if (kind !== "distance") throw fail(`a block header defines no ${kind} code`);
    return { codes: new Uint16Array(2), bits: 1 };
  }
  let left = 1;
  for (let length = 1; length <= 15; length++) {
    left = left * 2 - (count[length] as number);
    if (left < 0) throw fail(`a block header's ${kind} code is over-subscribed`);
  }
  if (left > 0 && (kind === "code length" || bits !== 1)) throw fail(`a block header's ${kind} code is incomplete`);
  const next = new Array<number>(16).fill(0);
  for (let length = 1, code = 0; length <= 15; length++) {
    code = (code + (count[length - 1] as number)) << 1;
    next[length] = code;
  }
  const codes = new Uint16Array(1 << bits);
  for (let symbol = 0; symbol < lengths.length; symbol++) {
    const length = lengths[symbol] as number;
    if (length === 0) continue;
    const code = next[length] as number;
    next[length] = code + 1;
    // Codes are sent most significant bit first, into a stream read least significant bit first.
    let reversed = 0;
    for (let i = 0; i < length; i++) reversed |= ((code >>> i) & 1) << (length - 1 - i);
    for (let i = reversed; i < codes.length; i += 1 << length) codes[i] = (symbol << 4) | length;
  }
  return { codes, bits };
}

/** The fixed codes of block type 1 (RFC 1951 3.2.6). */
const FIXED = (() => {
  const literal = new Uint8Array(288);
  literal.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  const fail = (message: string) => new Error(message);
  // 32 distance codes make the code complete; the two beyond the 30 distances fail where they are used, as in zlib.
  return { literals: buildTable(literal, "literal/length", fail), distances: buildTable(new Uint8Array(32).fill(5), "distance", fail) };
})();

function hexDigits(lengths: Uint8Array): string {
  let text = "";
  for (const length of lengths) text += length.toString(16);
  return text;
}

function fromHexDigits(text: string): Uint8Array {
  const lengths = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) lengths[i] = parseInt(text[i] as string, 16);
  return lengths;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0;
}

// -------------------------------------------------------------------------------------------------------------------
// CRC-32 (ISO 3309, as gzip's trailer has it), continued from `crc` over bytes[start, end).

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

export function crc32(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
