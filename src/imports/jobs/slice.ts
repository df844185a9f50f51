// One slice of an import: read the file from the job's checkpoint, turn it into rows through the job's row source, and
// commit them in chunks until the file ends or the invocation's budget (rows, wall time) is spent.
import { concatBytes } from "../../bytes.ts";
import type { Config, Env } from "../../config.ts";
import { database, type Db } from "../../db/client.ts";
import { getJobById, type JobRow } from "../../db/queries/jobs.ts";
import { DryRunCommits } from "../commit/dry-run.ts";
import { importMode, type JobOptions } from "../sources/options.ts";
import { storedMapping } from "../sources/column-mapping.ts";
import { isPresetName } from "../sources/presets/index.ts";
import type { TextEncoding } from "../read/encoding.ts";
import { FILE_GONE, unreadableStateReason } from "./failure-reasons.ts";
import { inflateSlice } from "./inflate.ts";
import { importedFile, needsInflate } from "./inflated-copy.ts";
import { JobNotes, NO_ROWS } from "../../model/job-notes.ts";
import { finishJob, type NextJob, startInLine } from "./lifecycle.ts";
import { runReplacePhases } from "./replace.ts";
import { runRevert } from "./revert.ts";
import { ObjectGoneError, RangedObjectReader } from "../read/object-reader.ts";
import { type ChunkCommits, CommitPipeline } from "../commit/pipeline.ts";
import { FileFormatError } from "../read/file-format-error.ts";
import { type Checkpoint, PermanentImportError, type ResumeState, type RowSource, type SourceOptions } from "../sources/contract.ts";
import type { RowOutcome } from "../sources/rows.ts";
import { openRowSource } from "../sources/open.ts";
import { UnreadableSourceState } from "../sources/state.ts";
import { type Chunk, rowParameterBytes } from "../commit/write.ts";

export type SliceOutcome =
  | { kind: "continue"; checkpointByte: number }
  /**
   * The job finished, or let go of its tenant's line to wait for confirmation (replace mode); `next` is the job that now
   * comes first in its tenant's line, for the caller to start.
   */
  | { kind: "finished"; next: NextJob | null }
  /** Nothing to do: the job is gone, finished, or another invocation got there first. */
  | { kind: "skipped"; reason: string };

/** How a slice's reading ended, before the job is finished. */
type ReadOutcome = { kind: "continue"; checkpointByte: number } | { kind: "finished" } | { kind: "skipped"; reason: string };

type ByteReader = Pick<RangedObjectReader, "read">;

// A chunk also closes when its rows' JSON could reach this many bytes: they travel as one parameter, and D1
// takes at most 2 MB per value (JSON can be six times the source: a control character becomes \u0001).
const CHUNK_PARAMETER_BYTES = 1_800_000;
// Bytes handed to the row source at a time: R2 bodies arrive in small pieces (4 KiB locally), and the parser's
// per-call work pays off on larger ones.
const PARSE_BYTES = 64 * 1024;
// The event loop gets a turn at least once per this many bytes parsed (a chunk's commit gives it one too): rows that
// add nothing to a chunk (rejected, skipped, or a megabyte each) would otherwise keep it for seconds. The clock cannot
// tell (in production it stands still while code runs), so the work is counted; every record's work is linear in its
// bytes, and this much of the worst takes a few milliseconds.
const TURN_BYTES = 256 * 1024;

/**
 * What one queue invocation may spend (rows, wall time). The slices it runs one after another share it: a job that
 * finishes early leaves the rest to the next job of its tenant's line.
 */
export class InvocationBudget {
  readonly started = Date.now();
  /** Rows taken by the invocation's earlier slices. */
  rows = 0;

  constructor(private readonly config: Pick<Config, "importSliceRows" | "importSliceMs">) {}

  /** Whether the budget is spent, counting `rows` more taken by the running slice. */
  spent(rows = 0): boolean {
    return this.rows + rows >= this.config.importSliceRows || Date.now() - this.started >= this.config.importSliceMs;
  }
}

export async function runImportSlice(env: Env, config: Config, jobId: string, budget = new InvocationBudget(config)): Promise<SliceOutcome> {
  const db = database(env.DB);
  let job = await getJobById(db, jobId);
  if (!job) return { kind: "skipped", reason: "job not found" };
  // A job that waits for its tenant's earlier jobs stays queued; the one ahead of it starts it when it finishes.
  if (job.status === "queued") job = (await startInLine(db, job.id)) ?? (await getJobById(db, jobId));
  if (!job || job.status !== "processing") return { kind: "skipped", reason: `job is ${job?.status ?? "gone"}` };
  // Canceled between two slices: it stops where the last one committed.
  if (job.cancelRequestedAt !== null) return canceled(env, job);
  const outcome = await work(env, db, config, job, budget);
  if (outcome.kind !== "skipped") return outcome;
  // A write refused because a cancel was requested meanwhile looks like a lost race: the job is canceled at that boundary.
  const now = await getJobById(db, jobId);
  return now?.status === "processing" && now.cancelRequestedAt !== null ? canceled(env, now) : outcome;
}

/** The slice's work on a processing job: a revert's windows, its archive phases, or its file's inflate and then its rows. */
async function work(env: Env, db: Db, config: Config, started: JobRow, budget: InvocationBudget): Promise<SliceOutcome> {
  let job = started;
  if (job.kind === "revert") {
    const outcome = await runRevert(env, config, job, budget);
    return outcome.kind === "continue" ? { kind: "continue", checkpointByte: job.checkpointByte } : outcome;
  }
  if (job.replacePhase !== null) return replacePhases(env, config, job, budget);
  // A compressed file is inflated first, once (inflate.ts); the rows are read from its copy, with what budget is left.
  if (needsInflate(job)) {
    const inflate = await inflateSlice(env, config, job, budget);
    if (inflate.kind === "skipped") return inflate;
    if (inflate.kind === "failed") return failed(env, job, inflate.reason);
    if (inflate.kind === "continue" || budget.spent()) return { kind: "continue", checkpointByte: job.checkpointByte };
    job = inflate.job;
  }

  let outcome: ReadOutcome;
  try {
    outcome = await new ImportSlice(env, config, job, budget).run();
  } catch (err) {
    if (err instanceof FileFormatError) return failed(env, job, namingLine(err.line, err.message));
    if (err instanceof PermanentImportError) return failed(env, job, err.message);
    if (err instanceof UnreadableSourceState) {
      // What went wrong is for us (it names the state's parts); the client is told what it means for the import.
      console.error(JSON.stringify({ level: "error", msg: "unreadable source state", job_id: job.id, error: err.message }));
      return failed(env, job, unreadableStateReason(job));
    }
    throw err;
  }
  if (outcome.kind !== "finished") return outcome;
  if (importMode(JSON.parse(job.options) as JobOptions) === "replace") {
    // The last chunk moved the job on to counting what the file did not mention: on in this invocation.
    const counting = await getJobById(db, job.id);
    if (counting?.status !== "processing" || counting.replacePhase === null) return { kind: "skipped", reason: `job is ${counting?.status ?? "gone"}` };
    return replacePhases(env, config, counting, budget);
  }
  const finished = await finishJob(env, db, job, { status: "completed" }, { handOver: "return" });
  return { kind: "finished", next: finished?.next ?? null };
}

async function replacePhases(env: Env, config: Config, job: JobRow, budget: InvocationBudget): Promise<SliceOutcome> {
  const outcome = await runReplacePhases(env, config, job, budget);
  return outcome.kind === "continue" ? { kind: "continue", checkpointByte: job.checkpointByte } : outcome;
}

async function canceled(env: Env, job: JobRow): Promise<SliceOutcome> {
  const finished = await finishJob(env, database(env.DB), job, { status: "canceled" }, { handOver: "return" });
  return finished ? { kind: "finished", next: finished.next } : { kind: "skipped", reason: "another invocation canceled the job first" };
}

async function failed(env: Env, job: JobRow, reason: string): Promise<SliceOutcome> {
  const finished = await finishJob(env, database(env.DB), job, { status: "failed", reason }, { handOver: "return" });
  return { kind: "finished", next: finished?.next ?? null };
}

class ImportSlice {
  private readonly started = Date.now();
  private readonly source: RowSource;
  private readonly commits: ChunkCommits;
  private rowsThisSlice = 0;
  /** Bytes handed to the source since the event loop last had a turn. */
  private bytesSinceTurn = 0;

  private chunk: RowOutcome[] = [];
  private chunkEnd: Checkpoint;
  private chunkBytes = 0;

  private readonly currency: string;
  private readonly notes: JobNotes;
  /** The object the rows are read from, and its size. */
  private readonly file: { key: string; size: number };

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly job: JobRow,
    private readonly budget: InvocationBudget,
  ) {
    const options = JSON.parse(job.options) as JobOptions;
    const replace = importMode(options) === "replace";
    this.currency = options.currency;
    this.notes = new JobNotes(job);
    this.file = importedFile(job);
    this.source = openRowSource(job.format, resumeStateOf(job), sourceOptionsOf(job, options));
    this.chunkEnd = this.source.position;
    const Commits = job.dryRun ? DryRunCommits : CommitPipeline;
    this.commits = new Commits(env.DB, {
      jobId: job.id,
      tenantId: job.tenantId,
      from: this.chunkEnd,
      storedErrors: Math.min(job.errorCount, config.maxStoredErrors),
      maxStoredErrors: config.maxStoredErrors,
      currency: options.currency,
      seq: job.writeSeq,
      mentions: job.dryRun ? (replace ? "record" : null) : replace || job.stampMentions ? "stamp" : null,
      replace,
      slice: { startedAt: this.started, startByte: job.checkpointByte },
    });
  }

  async run(): Promise<ReadOutcome> {
    let outcome: ReadOutcome;
    try {
      outcome = await this.read();
      await this.commits.drain();
    } catch (err) {
      await this.commits.abandon();
      throw err;
    } finally {
      this.budget.rows += this.rowsThisSlice;
    }
    const { stats, lostRace } = this.commits;
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

  private async read(): Promise<ReadOutcome> {
    const reader = new RangedObjectReader(this.env.UPLOADS, this.file.key, this.job.checkpointByte, this.file.size);
    if (!(await reader.open())) throw new PermanentImportError(FILE_GONE);
    const source = this.source;
    try {
      // The source parses a piece of bytes at a time and its rows are all taken before the next piece, so the
      // rows before a broken spot are committed whatever the pieces looked like.
      for await (const _ of this.feed(reader)) {
        for (let row = source.next(); row; row = source.next()) {
          const full = this.add(row);
          // The budget is checked at every record: a chunk that is not full closes here when it is spent.
          if (this.shouldHandOver()) {
            await this.closeChunk(false);
            await reader.cancel().catch(() => undefined);
            return { kind: "continue", checkpointByte: this.chunkEnd.byte };
          }
          if (full) await this.closeChunk(false);
          else if (this.bytesSinceTurn >= TURN_BYTES) await this.turn();
        }
        // Records that are no row (a CSV header) move the checkpoint too.
        this.chunkEnd = source.position;
        if (this.bytesSinceTurn >= TURN_BYTES) await this.turn();
      }
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      // Rows before a broken spot are still committed, so processed_rows says exactly how far the file was read (and
      // the job says which encoding it was read in).
      if (err instanceof FileFormatError || err instanceof PermanentImportError) {
        await this.closeChunk(false);
        await this.commits.drain();
      }
      if (err instanceof ObjectGoneError) throw new PermanentImportError(FILE_GONE);
      throw err;
    }
    source.checkComplete();
    await this.closeChunk(true);
    return { kind: "finished" };
  }

  /** Feeds the file to the source, a piece at a time; yields after each piece, when its rows are ready. */
  private async *feed(reader: ByteReader): AsyncGenerator<void> {
    const source = this.source;
    const head = await this.readHead(reader);
    this.push(head.bytes);
    yield;
    if (!head.done) {
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        pending.push(next.value);
        pendingBytes += next.value.byteLength;
        if (pendingBytes < PARSE_BYTES) continue;
        this.push(concatBytes(pending, pendingBytes));
        yield;
        pending = [];
        pendingBytes = 0;
      }
      if (pendingBytes > 0) {
        this.push(concatBytes(pending, pendingBytes));
        yield;
      }
    }
    while (source.finish()) yield;
  }

  private push(bytes: Uint8Array): void {
    this.bytesSinceTurn += bytes.byteLength;
    this.source.push(bytes);
  }

  /** Gives the event loop a turn (see TURN_BYTES). */
  private async turn(): Promise<void> {
    this.bytesSinceTurn = 0;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** The first bytes, read until the source can start from them (a CSV's delimiter needs its first line). */
  private async readHead(reader: ByteReader): Promise<{ bytes: Uint8Array; done: boolean }> {
    let bytes: Uint8Array = new Uint8Array(0);
    while (!this.source.canStart(bytes)) {
      const next = await reader.read();
      if (next.done) return { bytes, done: true };
      bytes = concatBytes([bytes, next.value], bytes.byteLength + next.value.byteLength);
    }
    return { bytes, done: false };
  }

  /** Takes one row; returns true when the chunk is full and should be closed. */
  private add(row: RowOutcome): boolean {
    this.chunk.push(row);
    this.chunkEnd = this.source.position;
    this.chunkBytes += rowParameterBytes(row, this.currency);
    return this.chunk.length >= this.config.importChunkRows || this.chunkBytes >= CHUNK_PARAMETER_BYTES;
  }

  /**
   * After a record: stop here (another invocation won, or the budget is spent and the file goes on)? The rows of the
   * open chunk count: a slice takes at most its rows.
   */
  private shouldHandOver(): boolean {
    if (this.commits.lostRace) return true;
    const spent = this.budget.spent(this.rowsThisSlice + this.chunk.length);
    // At the very end of the file, finishing here is cheaper than a continuation that reads nothing.
    return spent && this.chunkEnd.byte < this.file.size;
  }

  /**
   * Hands the rows read so far to be committed, with the job's notes when one was added; the last chunk of the file is
   * sent even when empty.
   */
  private async closeChunk(last: boolean): Promise<void> {
    const { notes: sourceNotes, ...change } = this.source.takeStateChange();
    for (const note of sourceNotes ?? []) this.notes.add(note);
    if (last && this.job.processedRows + this.rowsThisSlice + this.chunk.length === 0) this.notes.add(NO_ROWS);
    const notes = this.notes.takeChange();
    if (this.chunk.length === 0 && !last && Object.keys(change).length === 0 && !notes) return;
    const chunk: Chunk = { rows: this.chunk, end: this.chunkEnd, last, ...change, ...(notes && { notes }) };
    this.rowsThisSlice += chunk.rows.length;
    this.chunk = [];
    this.chunkBytes = 0;
    await this.commits.add(chunk);
    // Each chunk's commit gave the event loop a turn (a D1 round trip, or the pipeline's own).
    this.bytesSinceTurn = 0;
  }
}

/** Where the job's row source resumes: the checkpoint and what was committed with it. */
function resumeStateOf(job: JobRow): ResumeState {
  return {
    position: { byte: job.checkpointByte, line: job.checkpointLine },
    rowsBefore: job.processedRows,
    sourceState: job.sourceState,
    encoding: job.encoding as TextEncoding | null,
    ignoredColumns: { names: JSON.parse(job.ignoredColumns) as string[], omittedKeys: JSON.parse(job.ignoredOmittedKeys) as number[] },
  };
}

/** What the upload asked of how its file is read. */
function sourceOptionsOf(job: JobRow, options: JobOptions): SourceOptions {
  return {
    ...options,
    mapping: storedMapping(job),
    // A preset is named by `profile=` (see resolveMapping); a saved profile or a mapping says how to read the columns.
    preset: job.profile !== null && isPresetName(job.profile) ? job.profile : null,
    detectPreset: job.profile === null && job.mapping === null,
  };
}

/** A failure reason that names the line once: prefixed with it unless the message already says it. */
function namingLine(line: number, message: string): string {
  return new RegExp(`\\bline ${line}\\b`, "i").test(message) ? message : `Line ${line}: ${message}`;
}


