// The input shapes an upload may be: the one table the upload route (media types, file names), the job's `format`
// (the stored column and the API's enum) and the row sources (sources.ts) derive from. A new shape is an entry here
// and its row source.

const FORMATS = {
  csv: { mediaType: "text/csv", fileName: /\.csv$/i, extensions: ".csv", about: "CSV with a header line; columns sku, name, price required." },
  ndjson: { mediaType: "application/x-ndjson", fileName: /\.(nd)?jsonl?$/i, extensions: ".ndjson, .jsonl, .json", about: "One JSON object per line." },
} as const satisfies Record<string, { mediaType: string; fileName: RegExp; extensions: string; about: string }>;

export type ImportFormat = keyof typeof FORMATS;
export const importFormats = Object.keys(FORMATS) as [ImportFormat, ...ImportFormat[]];

/** The media type a file of the format is stored with. */
export function formatMediaType(format: ImportFormat): string {
  return FORMATS[format].mediaType;
}

/** The format a media type names (lower-case, without parameters), if any. */
export function formatOfMediaType(type: string): ImportFormat | undefined {
  return importFormats.find((f) => FORMATS[f].mediaType === type);
}

/** The format a file name's extension names, if any (a multipart part sent as application/octet-stream). */
export function formatOfFileName(name: string | null): ImportFormat | undefined {
  return name === null ? undefined : importFormats.find((f) => FORMATS[f].fileName.test(name));
}

/** What a file of the format holds, as the OpenAPI document says. */
export function formatAbout(format: ImportFormat): string {
  return FORMATS[format].about;
}

/** The media types an upload may declare, and the file extensions a multipart part may be named with, as text. */
export const formatMediaTypes = importFormats.map(formatMediaType);
export const formatExtensions = importFormats.map((f) => FORMATS[f].extensions).join(", ");
