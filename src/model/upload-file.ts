// A file as an upload brings it: its format, the charset it declared, its name and its bytes. The upload body reader
// (http/upload-body.ts) makes one from a request, an upload session (imports/jobs/upload-session.ts) describes one
// already stored; accepting the upload (imports/jobs/upload.ts) makes either a job.
import { z } from "zod";
import type { Charset } from "./charsets.ts";
import type { ImportFormat } from "./formats.ts";

/** The content encodings a file may be sent in (compressed). */
export const contentEncodings = ["gzip"] as const;
export type ContentEncoding = (typeof contentEncodings)[number];

/** What an upload says of its file: everything a job is made from but the bytes. */
export interface UploadedFile {
  format: ImportFormat;
  contentType: string;
  /** The charset its Content-Type declared (see charsets.ts), or null. */
  charset: Charset | null;
  /** How the bytes are compressed, or null when they are the file as it is. */
  contentEncoding: ContentEncoding | null;
  fileName: string | null;
  /** The bytes sent (compressed, if the file is). */
  size: number;
}

export interface UploadSource extends UploadedFile {
  /** A stream of exactly `size` bytes, or an already buffered file (multipart). */
  body: ReadableStream<Uint8Array> | Blob;
}

// ---------------------------------------------------------------------------
// File names: shown on every job, so bounded and free of characters that rewrite what a reader sees.

/** The longest file name a job keeps, in characters (code points). */
export const FILE_NAME_MAX_LENGTH = 255;
// C0 and C1 controls and DEL (line breaks, tabs, escapes), the Unicode line and paragraph separators, and the
// bidirectional marks and controls that can disguise an extension.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;
const FILE_NAME_RULE = `at most ${FILE_NAME_MAX_LENGTH} characters without control characters (line breaks, tabs, bidirectional controls)`;

function isTooLong(name: string): boolean {
  // Code points never outnumber UTF-16 units, so short names skip the count; a long one is counted only up to the cap.
  return name.length > FILE_NAME_MAX_LENGTH && firstCodePoints(name, FILE_NAME_MAX_LENGTH + 1).length > FILE_NAME_MAX_LENGTH;
}

/** The first `count` code points of `text`, never splitting a surrogate pair; reads at most 2 × count UTF-16 units. */
function firstCodePoints(text: string, count: number): string[] {
  return Array.from(text.slice(0, 2 * count)).slice(0, count);
}

/** The file-name rule for a name the client gives explicitly (the `filename` query parameter); zod counts code points. */
export const fileNameSchema = z
  .string()
  .min(1, { error: "must not be empty", abort: true })
  .max(FILE_NAME_MAX_LENGTH, { error: `must be ${FILE_NAME_RULE}`, abort: true })
  .refine((name) => name.search(CONTROL_CHARACTERS) === -1, { error: `must be ${FILE_NAME_RULE}` });

/**
 * The same rule applied to the name a browser or curl put on a multipart file part, which the client did not type:
 * control characters are removed and a long name is cut, keeping its extension. Null when nothing is left.
 */
export function cleanFileName(name: string): string | null {
  const clean = name.replace(CONTROL_CHARACTERS, "");
  if (clean === "") return null;
  if (!isTooLong(clean)) return clean;
  const extension = /\.[^.]{1,16}$/.exec(clean.slice(-17))?.[0] ?? "";
  const stem = firstCodePoints(clean.slice(0, clean.length - extension.length), FILE_NAME_MAX_LENGTH - Array.from(extension).length);
  return stem.join("") + extension;
}
