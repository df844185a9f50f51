// The failed-rows file of a finished job: the records of its file that were not imported and that the merchant can fix,
// in the file's own format, to fix and upload again. GET …/failed-rows streams it and POST …/retry stores it as a new
// job's upload: one producer for both.
//
// The file starts with the imported file's first bytes (a byte order mark, an Excel sep line, the CSV header line),
// then each failed record's bytes as uploaded (read from R2 by range, neighbouring records in one read), in file
// order. Each record's problems are appended in the file's encoding and delimiter: the CSV columns `_error_line`,
// `_error_column`, `_error_code` and `_error_message` (formula-escaped like the error report), or an `_errors` key in
// an NDJSON object. A Shopify variant's handle's first row comes along before it, marked `_error_code=context`, so
// that the variant re-imports with its product's title, vendor and status. An upload reads past these columns and
// that key (see model/failed-rows.ts); a failed-rows file uploaded again gets the new problems in place of the ones
// it carried (failed-rows-cut.ts).
import type { Db } from "../../db/client.ts";
import { type FailedRecordRow, listFailedRecords } from "../../db/queries/failed-records.ts";
import type { JobView } from "../../db/queries/jobs.ts";
import { CONTEXT_CODE, FAILED_ROW_COLUMNS, FAILED_ROW_KEY } from "../../model/failed-rows.ts";
import { unfinishedStates } from "../../model/job-states.ts";
import type { CsvDelimiter } from "../read/csv.ts";
import type { TextEncoding } from "../read/encoding.ts";
import { csvDelimiterOf } from "../sources/csv-source.ts";
import { csvCell } from "./error-report.ts";
import { type Codec, codecOf, concat } from "./failed-rows-codec.ts";
import { csvCutAt, csvErrorColumns, type ErrorColumns, withoutNdjsonErrors } from "./failed-rows-cut.ts";
import { importedFile } from "./inflated-copy.ts";

/** Failed records read from D1 at a time. */
const PAGE = 500;
/** Records at most this far apart are read from R2 in one range read (the bytes between them are read and dropped). */
const COALESCE_GAP_BYTES = 64 * 1024;
/** A coalesced range read spans at most this many bytes (a single record may be larger: it is read alone). */
const COALESCE_MAX_BYTES = 1024 * 1024;

const CONTEXT_MESSAGE =
  "The first row of this product: its product cells (title, description, vendor, status, …) go with the failed variants below. It is imported again with them.";

export type FailedRowsFile =
  | { kind: "file"; contentType: string; fileName: string; body: ReadableStream<Uint8Array> }
  /** The job has not finished: its failed rows are not all known. */
  | { kind: "not_finished" }
  /** The job's file has been deleted (UPLOAD_RETENTION_DAYS): its records cannot be read back. */
  | { kind: "gone" }
  /** A revert job: it reads no file, and has no failed rows. */
  | { kind: "no_file" };

/** The failed-rows file of a job of the caller's tenant (the caller has scoped the job). */
export async function failedRowsFile(bucket: R2Bucket, db: Db, job: JobView): Promise<FailedRowsFile> {
  if (job.kind === "revert") return { kind: "no_file" };
  if ((unfinishedStates as readonly string[]).includes(job.status)) return { kind: "not_finished" };
  if (job.objectDeletedAt !== null) return { kind: "gone" };
  const layout = layoutOf(job);
  const extension = job.format === "ndjson" ? "ndjson" : "csv";
  const contentType = `${job.format === "ndjson" ? "application/x-ndjson" : "text/csv"}; charset=${layout.encoding}`;
  const fileName = `${job.id}-failed-rows.${extension}`;
  // Nothing was read of the file (it failed or was canceled before its first record): nothing to give back.
  if (job.headerBytes === null) return { kind: "file", contentType, fileName, body: new Blob([]).stream() };
  const file = importedFile(job);
  if (!(await bucket.head(file.key))) return { kind: "gone" };
  const read = rangeReader(bucket, file.key);
  const pages = (afterStart: number | undefined) => listFailedRecords(db, job.id, PAGE, afterStart);
  return { kind: "file", contentType, fileName, body: streamOf(failedRowsBytes(read, pages, job.headerBytes, layout)) };
}

/** How the file's records are written: its format, encoding and (CSV) delimiter. */
interface Layout {
  format: "csv" | "ndjson";
  encoding: TextEncoding;
  delimiter: CsvDelimiter;
}

function layoutOf(job: JobView): Layout {
  const encoding = (job.encoding as TextEncoding | null) ?? "utf-8";
  if (job.format === "ndjson") return { format: "ndjson", encoding, delimiter: "," };
  return { format: "csv", encoding, delimiter: csvDelimiterOf(job.sourceState) ?? "," };
}

type RangeRead = (offset: number, length: number) => Promise<Uint8Array>;

function rangeReader(bucket: R2Bucket, key: string): RangeRead {
  return async (offset, length) => {
    if (length === 0) return new Uint8Array(0);
    const object = await bucket.get(key, { range: { offset, length } });
    // Deleted while the file streams (the sweeper, past UPLOAD_RETENTION_DAYS): the response ends in an error.
    if (!object) throw new Error(`the failed rows' file ${key} was deleted while it was read`);
    return new Uint8Array(await object.arrayBuffer());
  };
}

/** A record to write: its bytes in the file, its line, and its problems, or null for a record that comes as context. */
interface Piece {
  start: number;
  end: number;
  line: number;
  problems: readonly Problem[] | null;
}

/** A failed record's problem as stored: [column, code, message]. */
type Problem = readonly [string | null, string, string];

async function* failedRowsBytes(
  read: RangeRead,
  pages: (afterStart: number | undefined) => Promise<FailedRecordRow[]>,
  headerBytes: number,
  layout: Layout,
): AsyncGenerator<Uint8Array> {
  const codec = codecOf(layout.encoding);
  const header = await read(0, headerBytes);
  const lineBreak = lineBreakOf(header, codec);
  // A failed-rows file uploaded again: its problems' columns give way to the new ones.
  const errorColumns = layout.format === "csv" ? csvErrorColumns(header, codec, layout.delimiter) : null;
  yield layout.format === "csv" ? codec.beforeLineBreak(header, codec.encode(csvCells(FAILED_ROW_COLUMNS, layout.delimiter)), lineBreak, errorColumns?.at) : header;
  // The context record last written (or written as a failed record of its own): each handle's first row goes once.
  let covered = -1;
  let after: number | undefined;
  for (;;) {
    const records = await pages(after);
    if (records.length === 0) return;
    after = (records[records.length - 1] as FailedRecordRow).byteStart;
    const pieces: Piece[] = [];
    for (const record of records) {
      const context = record.contextStart;
      if (context !== null && record.contextEnd !== null && record.contextLine !== null && context !== covered && context !== record.byteStart) {
        pieces.push({ start: context, end: record.contextEnd, line: record.contextLine, problems: null });
      }
      if (context !== null) covered = context;
      pieces.push({ start: record.byteStart, end: record.byteEnd, line: record.line, problems: JSON.parse(record.problems) as Problem[] });
    }
    for (const group of coalesced(pieces)) {
      const first = group[0] as Piece;
      const bytes = await read(first.start, (group[group.length - 1] as Piece).end - first.start);
      for (const piece of group) {
        const record = bytes.subarray(piece.start - first.start, piece.end - first.start);
        yield layout.format === "csv" ? csvRecord(record, piece, layout, codec, lineBreak, errorColumns) : ndjsonRecord(record, piece, codec);
      }
    }
  }
}

/** Pieces in file order, grouped into range reads: neighbours close enough, within a bounded span. */
function* coalesced(pieces: readonly Piece[]): Generator<Piece[]> {
  let group: Piece[] = [];
  for (const piece of pieces) {
    const first = group[0];
    const last = group[group.length - 1];
    if (first && last && (piece.start - last.end > COALESCE_GAP_BYTES || piece.end - first.start > COALESCE_MAX_BYTES)) {
      yield group;
      group = [];
    }
    group.push(piece);
  }
  if (group.length > 0) yield group;
}

/**
 * The CSV record with its problems as four more cells, before its line break; in place of the cells under the header's
 * `_error_*` columns when it has them last.
 */
function csvRecord(record: Uint8Array, piece: Piece, layout: Layout, codec: Codec, lineBreak: Uint8Array, errorColumns: ErrorColumns | null): Uint8Array {
  const cells =
    piece.problems === null
      ? [piece.line, "", CONTEXT_CODE, CONTEXT_MESSAGE]
      : [
          piece.line,
          piece.problems.map(([column]) => column ?? "").join("; "),
          piece.problems.map(([, code]) => code).join("; "),
          piece.problems.map(([, , message]) => message).join(" "),
        ];
  const cut = errorColumns ? csvCutAt(record, codec, layout.delimiter, errorColumns.keep) : undefined;
  return codec.beforeLineBreak(record, codec.encode(csvCells(cells, layout.delimiter)), lineBreak, cut);
}

/** Cells after a record's own: each led by the delimiter, formula-escaped and quoted as the error report's. */
function csvCells(cells: readonly (string | number)[], delimiter: CsvDelimiter): string {
  return cells.map((cell) => `${delimiter}${csvCell(cell, delimiter)}`).join("");
}

/**
 * The NDJSON object with its problems under `_errors`, before its closing brace, in place of the `_errors` an earlier
 * failed-rows file gave it. A line that is no object (not JSON, an array) has nowhere to take them: it comes as
 * uploaded, and its problems are in the job's error list.
 */
function ndjsonRecord(uploaded: Uint8Array, piece: Piece, codec: Codec): Uint8Array {
  const record = withoutNdjsonErrors(uploaded, codec);
  const errors = (piece.problems ?? []).map(([column, code, message]) => ({ line: piece.line, column, code, message }));
  const breakAt = record.length - codec.lineBreakLength(record);
  const close = codec.lastNonSpace(record, breakAt);
  const withLineBreak = breakAt === record.length ? concat([record, codec.encode("\n")]) : record;
  if (close < 0 || codec.asciiAt(record, close) !== "}") return withLineBreak;
  const open = codec.lastNonSpace(record, close);
  const empty = open >= 0 && codec.asciiAt(record, open) === "{";
  const key = codec.encode(`${empty ? "" : ","}${JSON.stringify(FAILED_ROW_KEY)}:${JSON.stringify(errors)}`);
  const out = concat([record.subarray(0, close), key, record.subarray(close)]);
  return breakAt === record.length ? concat([out, codec.encode("\n")]) : out;
}

/** The line break a header ends with, else CRLF (RFC 4180's). */
function lineBreakOf(header: Uint8Array, codec: Codec): Uint8Array {
  const length = codec.lineBreakLength(header);
  return length > 0 ? header.slice(header.length - length) : codec.encode("\r\n");
}

/** A generator's bytes as a stream, pulled one piece at a time, so the file never sits whole in memory. */
function streamOf(bytes: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await bytes.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await bytes.return(undefined);
    },
  });
}
