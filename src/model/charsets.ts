// The charsets an upload may declare (the `charset` parameter of its Content-Type) and the labels they are known by:
// the upload body reader (http/upload-body.ts) checks a declaration against them, the job keeps the canonical name,
// and the reader decides a file's encoding from it (imports/read/encoding.ts).

/** The charsets an upload may declare, by their canonical names. */
export const charsets = ["utf-8", "utf-16", "utf-16le", "utf-16be", "windows-1252", "iso-8859-1"] as const;
export type Charset = (typeof charsets)[number];

// The labels each charset is known by (IANA names and common aliases), lower case.
const charsetLabels: Record<string, Charset> = {
  "utf-8": "utf-8",
  utf8: "utf-8",
  "unicode-1-1-utf-8": "utf-8",
  "utf-16": "utf-16",
  "utf-16le": "utf-16le",
  "utf-16be": "utf-16be",
  "windows-1252": "windows-1252",
  cp1252: "windows-1252",
  "x-cp1252": "windows-1252",
  "iso-8859-1": "iso-8859-1",
  "iso8859-1": "iso-8859-1",
  iso_8859_1: "iso-8859-1",
  "iso_8859-1": "iso-8859-1",
  latin1: "iso-8859-1",
  l1: "iso-8859-1",
};

/** The charset a label names (case-insensitive), or null when it is not one a file may be in. */
export function charsetOf(label: string): Charset | null {
  const key = label.toLowerCase();
  return Object.hasOwn(charsetLabels, key) ? charsetLabels[key]! : null;
}
