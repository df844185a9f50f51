// The text encoding of an import file: how the encoding a file is read in is decided from its first bytes (a byte
// order mark, the charset the upload declared (model/charsets.ts), else UTF-8 or Windows-1252 by what the bytes
// are). The decision is made once, at the start of the file, and stored with the job: every continuation reads on in
// it, so a file is never re-sniffed mid-way. The parsers decode records in it (records.ts).
import type { Charset } from "../../model/charsets.ts";
import type { JobNote } from "../../model/job-notes.ts";
import { FileFormatError } from "./file-format-error.ts";
import { UTF8_BOM, utf8SequenceLength } from "./utf8.ts";

/** The encodings a file is read in, as the job JSON names them. */
export const textEncodings = ["utf-8", "utf-16le", "utf-16be", "windows-1252"] as const;
export type TextEncoding = (typeof textEncodings)[number];

/**
 * How many first bytes of a file are looked at: without a declared charset, UTF-8 if they are, else Windows-1252 if
 * they are that; with a declared UTF-8 or single-byte charset, whether they contradict it. A file that is UTF-8 there
 * and has a byte that is not later is still read as UTF-8 and fails there.
 */
export const ENCODING_SNIFF_BYTES = 64 * 1024;
// With a declared UTF-16 charset only a byte order mark, or the NUL bytes of the first characters, are looked at.
const UTF16_SNIFF_BYTES = 8;

/** How many of the first bytes the encoding is decided from. */
function encodingSniffBytes(declared: Charset | null): number {
  return declared?.startsWith("utf-16") ? UTF16_SNIFF_BYTES : ENCODING_SNIFF_BYTES;
}

/** The encoding a file is read in, and a note when its bytes contradict the charset the upload declared. */
export interface DecidedEncoding {
  encoding: TextEncoding;
  note?: JobNote;
}

/**
 * The encoding a file is read in, from its first bytes: all of them when the file is shorter than
 * `encodingSniffBytes(declared)`, else at least that many. A byte order mark decides, whatever was declared (as the
 * WHATWG Encoding Standard's decode does); then the declared charset (ISO-8859-1 is read as Windows-1252, as the
 * WHATWG standard maps it: the same characters but for 0x80–0x9F, which are C1 controls in ISO-8859-1 and € ‚ ƒ …
 * in Windows-1252). Without either: UTF-8, or Windows-1252 when the first bytes are that and not UTF-8.
 * UTF-16 without a byte order mark is refused unless its byte order was declared (utf-16le, utf-16be): guessing it
 * would misread every character.
 *
 * Where the bytes contradict the declaration, the decision comes with a note naming the encoding read in: a byte
 * order mark of another encoding; UTF-8 text declared single-byte (read as declared: "Café" would be "CafÃ©"); and
 * Windows-1252 text declared UTF-8, read as Windows-1252 by the rule an undeclared file is (it would fail as UTF-8).
 */
export function decideEncoding(first: Uint8Array, declared: Charset | null): DecidedEncoding {
  const marked = byteOrderMark(first);
  if (marked) return { encoding: marked, note: declared && !readsAs(declared, marked) ? bomNote(declared, marked) : undefined };
  const sniffed = () => sniff(first.subarray(0, ENCODING_SNIFF_BYTES), first.length < ENCODING_SNIFF_BYTES);
  switch (declared) {
    case "utf-16le":
    case "utf-16be":
      return { encoding: declared };
    case "windows-1252":
    case "iso-8859-1": {
      const bytes = sniffed();
      return { encoding: "windows-1252", note: bytes.utf8 >= 0 && bytes.invalid < 0 ? utf8DeclaredSingleByteNote(declared, first, bytes.utf8) : undefined };
    }
    case "utf-8": {
      const bytes = sniffed();
      if (undeclaredEncoding(bytes) === "utf-8") return { encoding: "utf-8" };
      return { encoding: "windows-1252", note: windows1252DeclaredUtf8Note(first, bytes.invalid) };
    }
    case "utf-16":
      throw utf16WithoutBomError(utf16ByteOrder(first), "declared");
    case null:
      break;
  }
  const order = utf16ByteOrder(first);
  if (order) throw utf16WithoutBomError(order, "detected");
  return { encoding: undeclaredEncoding(sniffed()) };
}

type MarkedEncoding = Exclude<TextEncoding, "windows-1252">;

function byteOrderMark(first: Uint8Array): MarkedEncoding | null {
  if (startsWith(first, UTF8_BOM)) return "utf-8";
  if (startsWith(first, [0xff, 0xfe])) return "utf-16le";
  if (startsWith(first, [0xfe, 0xff])) return "utf-16be";
  return null;
}

function readsAs(declared: Charset, encoding: TextEncoding): boolean {
  return declared === encoding || (declared === "utf-16" && encoding.startsWith("utf-16"));
}

/** What the first bytes are, as far as UTF-8 and Windows-1252 go. */
interface SniffedBytes {
  /** Where the first UTF-8 character beyond ASCII starts, or -1. */
  utf8: number;
  /** Where the first byte that is no UTF-8 is, or -1. */
  invalid: number;
  /** Whether every byte that is no UTF-8 is a character in Windows-1252 (five bytes of 0x80–0x9F are none). */
  windows1252: boolean;
}

/** One pass over the first bytes; `whole` when they are all the file has. */
function sniff(bytes: Uint8Array, whole: boolean): SniffedBytes {
  const end = bytes.length;
  const found: SniffedBytes = { utf8: -1, invalid: -1, windows1252: true };
  let i = 0;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const size = utf8SequenceLength(bytes, i, end);
    if (size > 0) {
      if (found.utf8 < 0) found.utf8 = i;
      i += size;
      continue;
    }
    // A character cut off by the end of the sniffed bytes may go on after them; at the end of the file it cannot.
    if (!whole && end - i < 4 && b >= 0xc2 && b <= 0xf4) break;
    if (found.invalid < 0) found.invalid = i;
    if (b === 0x81 || b === 0x8d || b === 0x8f || b === 0x90 || b === 0x9d) found.windows1252 = false;
    i++;
  }
  return found;
}

/**
 * UTF-8 or Windows-1252, by the first bytes: Windows-1252 when they are not UTF-8, hold no UTF-8 character beyond
 * ASCII (a file mixing both is broken UTF-8, read as such: it fails on the line where it breaks) and every byte is a
 * character in Windows-1252. Else UTF-8.
 */
function undeclaredEncoding(bytes: SniffedBytes): TextEncoding {
  return bytes.utf8 < 0 && bytes.invalid >= 0 && bytes.windows1252 ? "windows-1252" : "utf-8";
}

const BOM_NAMES: Record<MarkedEncoding, string> = { "utf-8": "UTF-8", "utf-16le": "UTF-16LE", "utf-16be": "UTF-16BE" };

function bomNote(declared: Charset, encoding: MarkedEncoding): JobNote {
  return {
    code: "charset_mismatch",
    message: `The upload declared charset=${declared}, but the file starts with a ${BOM_NAMES[encoding]} byte order mark, which decides: it was read in ${encoding}.`,
  };
}

function utf8DeclaredSingleByteNote(declared: Charset, bytes: Uint8Array, at: number): JobNote {
  const character = bytes.subarray(at, at + utf8SequenceLength(bytes, at, bytes.length));
  const asUtf8 = new TextDecoder().decode(character);
  const asDeclared = new TextDecoder("windows-1252").decode(character);
  return {
    code: "charset_mismatch",
    message:
      `The upload declared charset=${declared}, so the file was read in windows-1252, but its first bytes are UTF-8 text: "${asUtf8}" was read as "${asDeclared}". ` +
      "If the products show such characters, upload the file again with charset=utf-8 (or without a charset).",
  };
}

function windows1252DeclaredUtf8Note(bytes: Uint8Array, at: number): JobNote {
  const byte = bytes[at]!;
  let line = 1;
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
  const hex = `0x${byte.toString(16).toUpperCase()}`;
  return {
    code: "charset_mismatch",
    message:
      `The upload declared charset=utf-8, but the file is not UTF-8: line ${line} has the byte ${hex}, which is no UTF-8 character, and its first bytes hold no UTF-8 character beyond ASCII. ` +
      `It was read in windows-1252, where ${hex} is "${new TextDecoder("windows-1252").decode(Uint8Array.of(byte))}"; if the products' text looks wrong, upload the file again with the charset it was saved in.`,
  };
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

// Characters whose UTF-16 code units are looked at: enough for ASCII text (a header, a JSON object) to show its
// NUL high (or low) bytes, far too many for UTF-8 text to have NULs in just those places.
const UTF16_SNIFF_UNITS = 4;

/**
 * The byte order the first characters show when they are ASCII in UTF-16 (one NUL byte each: after them in
 * little-endian, before them in big-endian), or null.
 */
function utf16ByteOrder(bytes: Uint8Array): "utf-16le" | "utf-16be" | null {
  if (bytes.length < 2 * UTF16_SNIFF_UNITS) return null;
  let little = true;
  let big = true;
  for (let i = 0; i < UTF16_SNIFF_UNITS; i++) {
    const first = bytes[2 * i];
    const second = bytes[2 * i + 1];
    little &&= first !== 0 && second === 0;
    big &&= first === 0 && second !== 0;
  }
  return little ? "utf-16le" : big ? "utf-16be" : null;
}

function utf16WithoutBomError(order: "utf-16le" | "utf-16be" | null, how: "declared" | "detected"): FileFormatError {
  const hint = order ? `; its first characters look ${order === "utf-16le" ? "little" : "big"}-endian: declare charset=${order}` : "";
  const cause =
    how === "declared"
      ? "The file is declared as UTF-16 (charset=utf-16) but has no byte order mark, so its byte order is unknown"
      : "The file is encoded as UTF-16 without a byte order mark, so its byte order is unknown";
  return new FileFormatError(
    "utf16_without_bom",
    1,
    `${cause}. Send it with charset=utf-16le or charset=utf-16be in the Content-Type${hint}; or save it with a byte order mark, ` +
      'or as UTF-8 (for example "CSV UTF-8" in Excel), and upload it again.',
  );
}

/** The text of the file's first bytes in `encoding`, without a byte order mark; a malformed character becomes U+FFFD. */
export function decodeLeniently(bytes: Uint8Array, encoding: TextEncoding): string {
  return new TextDecoder(encoding).decode(bytes);
}

/**
 * The encoding a row source reads its job's file in: the one stored with the job, or else decided from the file's
 * first bytes and then committed with the job's first chunk (see SourceStateChange).
 */
export class FileEncoding {
  private encoding: TextEncoding | null;
  private note: JobNote | undefined;
  private committed: boolean;
  private readonly declared: Charset | null;

  constructor(job: { encoding: string | null; checkpointByte: number }, declared: Charset | null) {
    // A job that moved on before encodings were recorded was read as UTF-8, the only encoding there was.
    this.encoding = (job.encoding as TextEncoding | null) ?? (job.checkpointByte > 0 ? "utf-8" : null);
    this.committed = job.encoding !== null;
    this.declared = declared;
  }

  /** Whether these first bytes (from the checkpoint on) are enough to decide the encoding. */
  canDecide(first: Uint8Array): boolean {
    return this.encoding !== null || first.length >= encodingSniffBytes(this.declared);
  }

  /** The encoding, decided from the first bytes: enough to decide (canDecide), or all the file has. */
  decide(first: Uint8Array): TextEncoding {
    if (this.encoding === null) ({ encoding: this.encoding, note: this.note } = decideEncoding(first, this.declared));
    return this.encoding;
  }

  /** The encoding once decided, and the note on it if any, the first time only: they are committed with the next chunk. */
  takeChange(): { encoding?: TextEncoding; notes?: JobNote[] } {
    if (this.committed || this.encoding === null) return {};
    this.committed = true;
    return this.note ? { encoding: this.encoding, notes: [this.note] } : { encoding: this.encoding };
  }
}
