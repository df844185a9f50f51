// One queue invocation of an import: read the file from the job's checkpoint, parse, validate and commit
// in chunks until the file ends or the slice's budget (rows, wall time) is spent.
import type { Config, Env } from "../config.ts";
import { database } from "../db/client.ts";
import { failJob, getJobById, startJob, type JobRow } from "../db/queries/jobs.ts";
import { CsvParser, type CsvDelimiter, type CsvRecord, detectDelimiterFromBytes, headerLine } from "./csv.ts";
import { type HeaderMapping, IgnoredColumns, mapHeader } from "./header.ts";
import type { JobOptions } from "./job.ts";
import { NdjsonParser, type NdjsonRecord } from "./ndjson.ts";
import { ObjectGoneError, RangedObjectReader } from "./object-reader.ts";
import { FileFormatError, type RecordParser } from "./records.ts";
import { csvRow, ndjsonRow, type RowOutcome } from "./rows.ts";
import { CommitPipeline } from "./pipeline.ts";
import { type Checkpoint, type Chunk, rowParameterBytes } from "./write.ts";

export type SliceOutcome =
  | { kind: "continue"; cursorByte: number }
  | { kind: "finished" }
  /** Nothing to do: the job is gone, finished, or another invocation got there first. */
  | { kind: "skipped"; reason: string };

const FILE_GONE = "The uploaded file is no longer stored, so the import cannot continue. Upload the file again.";

type PieceReader = Pick<RangedObjectReader, "read">;

/** A problem with the file as a whole: the job fails, retrying cannot help. */
export class PermanentImportError extends Error {}

// A chunk also closes when its rows' JSON could reach this many bytes: they travel as one parameter, and D1
// takes at most 2 MB per value (JSON can be six times the source: a control character becomes \u0001).
const CHUNK_PARAMETER_BYTES = 1_800_000;
// Bytes handed to the parser at a time.
const PARSE_BYTES = 64 * 1024;
// A CSV's delimiter is detected from its header line; a header longer than this is judged by this much of it (and
// after more blank lines than this, by this much of the file), so the bytes read ahead for it stay bounded.
const DETECT_DELIMITER_MAX_BYTES = 64 * 1024;

export async function runImportSlice(env: Env, config: Config, jobId: string): Promise<SliceOutcome> {
  const db = database(env.DB);
  let job = await getJobById(db, jobId);
  if (!job) return { kind: "skipped", reason: "job not found" };
  if (job.status === "queued") job = (await startJob(db, job.id)) ?? (await getJobById(db, jobId));
  if (!job || job.status !== "processing") return { kind: "skipped", reason: `job is ${job?.status ?? "gone"}` };

  try {
    return await new ImportSlice(env, config, job).run();
  } catch (err) {
    if (err instanceof FileFormatError) {
      await failJob(db, job.id, namingLine(err.line, err.message));
      return { kind: "finished" };
    }
    if (err instanceof PermanentImportError) {
      await failJob(db, job.id, err.message);
      return { kind: "finished" };
    }
    throw err;
  }
}

class ImportSlice {
  private readonly started = Date.now();
  private readonly options: JobOptions;
  private readonly pipeline: CommitPipeline;
  private rowsThisSlice = 0;

  // Per file format.
  private mapping: HeaderMapping | null = null;
  private delimiter: CsvDelimiter = ",";
  private newHeader: Chunk["header"];
  private readonly ignored: IgnoredColumns;
  /** What of `ignored` is committed: a chunk carries the list when it changed. */
  private committedIgnored: { count: number; truncated: boolean };

  private chunk: RowOutcome[] = [];
  private chunkEnd: Checkpoint;
  private chunkBytes = 0;

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly job: JobRow,
  ) {
    this.options = JSON.parse(job.options) as JobOptions;
    const checkpoint = { cursorByte: job.cursorByte, cursorLine: job.cursorLine };
    this.chunkEnd = checkpoint;
    this.pipeline = new CommitPipeline(env.DB, job, checkpoint, Math.min(job.errorCount, config.maxStoredErrors), config.maxStoredErrors);
    this.ignored = new IgnoredColumns(JSON.parse(job.ignoredColumns) as string[], job.ignoredColumnsTruncated);
    this.committedIgnored = { count: this.ignored.names.length, truncated: this.ignored.truncated };
    if (job.columns !== null) {
      this.mapping = { ok: true, columns: JSON.parse(job.columns) as HeaderMapping["columns"], ignored: [] };
      this.delimiter = (job.delimiter ?? ",") as CsvDelimiter;
    }
  }

  async run(): Promise<SliceOutcome> {
    let outcome: SliceOutcome;
    try {
      outcome = await this.read();
      await this.pipeline.drain();
    } catch (err) {
      await this.pipeline.abandon();
      throw err;
    }
    const { stats, lostRace } = this.pipeline;
    console.log(
      JSON.stringify({
        msg: "import slice",
        job_id: this.job.id,
        rows: stats.rows,
        products_written: stats.productsWritten,
        d1_rows_written: stats.rowsWritten,
        d1_wait_ms: stats.dbWaitMs,
        ms: Date.now() - this.started,
        outcome: lostRace ? "skipped" : outcome.kind,
      }),
    );
    if (lostRace) return { kind: "skipped", reason: "another invocation committed first" };
    return outcome;
  }

  private async read(): Promise<SliceOutcome> {
    const reader = new RangedObjectReader(this.env.UPLOADS, this.job.objectKey, this.job.cursorByte, this.job.sizeBytes);
    if (!(await reader.open())) throw new PermanentImportError(FILE_GONE);
    try {
      // Records arrive a batch per read; a batch is taken whole before the next read, so the rows before
      // a broken spot are committed whatever the reads looked like.
      for await (const batch of this.records(reader)) {
        for (const record of batch) {
          if (!this.accept(record)) continue;
          await this.closeChunk(false);
          if (this.shouldHandOver()) {
            await reader.cancel().catch(() => undefined);
            return { kind: "continue", cursorByte: this.chunkEnd.cursorByte };
          }
        }
      }
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      // Rows before a broken spot are still committed, so processed_rows says exactly how far the file was read.
      if (err instanceof FileFormatError) {
        await this.closeChunk(false);
        await this.pipeline.drain();
      }
      if (err instanceof ObjectGoneError) throw new PermanentImportError(FILE_GONE);
      throw err;
    }
    if (this.job.format === "csv" && !this.mapping) {
      throw new PermanentImportError("The file is empty: it has no header line. The first line must name the columns (sku, name, price, …).");
    }
    if (this.job.format === "ndjson" && this.job.processedRows + this.rowsThisSlice + this.chunk.length === 0) {
      throw new PermanentImportError('The file is empty: it has no line with a product. Each line must be a JSON object such as {"sku": "A-1", "name": "Shirt", "price": "19.99"}.');
    }
    await this.closeChunk(true);
    return { kind: "finished" };
  }

  private async *records(reader: PieceReader): AsyncGenerator<(CsvRecord | NdjsonRecord)[]> {
    const head = await this.readHead(reader);
    const parser = this.parserFor(head.bytes);
    yield parser.push(head.bytes);
    if (!head.done) {
      // R2 bodies arrive in small pieces (4 KiB locally); the parser's per-call work pays off on larger ones.
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        pending.push(next.value);
        pendingBytes += next.value.byteLength;
        if (pendingBytes < PARSE_BYTES) continue;
        yield parser.push(concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
      if (pendingBytes > 0) yield parser.push(concat(pending, pendingBytes));
    }
    for (let rest = parser.finish(); rest.length > 0; rest = parser.finish()) yield rest;
  }

  /** The first bytes, read until the parser can be built from them (a CSV's delimiter needs its first line). */
  private async readHead(reader: PieceReader): Promise<{ bytes: Uint8Array; done: boolean }> {
    let bytes: Uint8Array = new Uint8Array(0);
    while (!this.canBuildParser(bytes)) {
      const next = await reader.read();
      if (next.done) return { bytes, done: true };
      bytes = concat([bytes, next.value], bytes.byteLength + next.value.byteLength);
    }
    return { bytes, done: false };
  }

  /** Whether the parser can be built from these first bytes: a CSV's delimiter needs its header line. */
  private canBuildParser(prefix: Uint8Array): boolean {
    if (this.job.format !== "csv" || this.mapping || this.options.delimiter) return true;
    const { start, end } = headerLine(prefix);
    return end >= 0 || prefix.length >= Math.min(start, DETECT_DELIMITER_MAX_BYTES) + DETECT_DELIMITER_MAX_BYTES;
  }

  /** Builds the parser; a CSV's first slice reads the delimiter from the first bytes unless the client chose one. */
  private parserFor(firstBytes: Uint8Array): RecordParser<CsvRecord | NdjsonRecord> {
    const position = { startOffset: this.job.cursorByte, startLine: this.job.cursorLine };
    if (this.job.format === "ndjson") return new NdjsonParser(position);
    if (!this.mapping) this.delimiter = this.options.delimiter ?? detectDelimiterFromBytes(firstBytes);
    return new CsvParser({ ...position, delimiter: this.delimiter });
  }

  /** Takes one record; returns true when the chunk is full and should be closed. */
  private accept(record: CsvRecord | NdjsonRecord): boolean {
    const end = { cursorByte: record.end, cursorLine: record.nextLine };
    if (this.job.format === "csv" && !this.mapping) {
      const header = mapHeader((record as CsvRecord).fields);
      if (!header.ok) throw new PermanentImportError(`Line ${record.line}: ${header.message}`);
      this.mapping = header;
      this.newHeader = { columns: JSON.stringify(header.columns), delimiter: this.delimiter };
      for (const name of header.ignored) this.ignored.add(name);
      this.chunkEnd = end;
      return false;
    }
    const row =
      this.job.format === "csv"
        ? csvRow(record as CsvRecord, this.mapping as HeaderMapping, this.delimiter, this.options.currency)
        : ndjsonRow(record as NdjsonRecord, this.options.currency, this.ignored);
    this.chunk.push(row);
    this.chunkEnd = end;
    this.chunkBytes += rowParameterBytes(row);
    return this.chunk.length >= this.config.importChunkRows || this.chunkBytes >= CHUNK_PARAMETER_BYTES;
  }

  /** After a chunk closed: stop here (another invocation won, or the budget is spent and the file goes on)? */
  private shouldHandOver(): boolean {
    if (this.pipeline.lostRace) return true;
    const spent = this.rowsThisSlice >= this.config.importSliceRows || Date.now() - this.started >= this.config.importSliceMs;
    // At the very end of the file, finishing here is cheaper than a continuation that reads nothing.
    return spent && this.chunkEnd.cursorByte < this.job.sizeBytes;
  }

  /** Hands the rows read so far to the commit pipeline; the last chunk of the file is sent even when empty. */
  private async closeChunk(last: boolean): Promise<void> {
    const chunk: Chunk = { rows: this.chunk, end: this.chunkEnd, header: this.newHeader, last };
    const ignored = this.ignored;
    if (ignored.names.length !== this.committedIgnored.count || ignored.truncated !== this.committedIgnored.truncated) {
      chunk.ignoredColumns = { names: [...ignored.names], truncated: ignored.truncated };
    }
    if (chunk.rows.length === 0 && !last && !chunk.header && !chunk.ignoredColumns) return;
    this.rowsThisSlice += chunk.rows.length;
    this.chunk = [];
    this.chunkBytes = 0;
    this.newHeader = undefined;
    this.committedIgnored = { count: ignored.names.length, truncated: ignored.truncated };
    await this.pipeline.add(chunk);
  }
}

/** A failure reason that names the line once: prefixed with it unless the message already says it. */
function namingLine(line: number, message: string): string {
  return new RegExp(`\\bline ${line}\\b`, "i").test(message) ? message : `Line ${line}: ${message}`;
}

function concat(parts: Uint8Array[], byteLength: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(byteLength);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}


