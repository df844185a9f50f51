// The commit pipeline of one slice of an import: chunks are committed in order, one batch in flight at a time,
// while the reader parses ahead: one D1 round trip per chunk (two for a chunk with rows that ask the catalog first,
// see catalog-lookup.ts).
import { settleAgainstCatalog } from "./catalog-lookup.ts";
import { problemsOf } from "../sources/rows.ts";
import { type Chunk, type ChunkContext, commitChunk, type ChunkResult, storedErrorsAfter } from "./write.ts";

export interface CommitStats {
  rows: number;
  productsWritten: number;
  rowsWritten: number;
  /** Time the slice stood still waiting for D1 (the rest of its time is reading and validating). */
  dbWaitMs: number;
}

/** Where a slice hands its closed chunks, in file order: an import's CommitPipeline, or a dry run's (dry-run.ts). */
export interface ChunkCommits {
  /** Another invocation committed from our checkpoint first: stop, it carries on. */
  readonly lostRace: boolean;
  readonly stats: CommitStats;
  add(chunk: Chunk): Promise<void>;
  /** Commits everything handed over and waits for it. */
  drain(): Promise<void>;
  /** After a failure: lets a batch in flight land (or fail) before the job's fate is decided. */
  abandon(): Promise<void>;
}

export class CommitPipeline implements ChunkCommits {
  lostRace = false;
  readonly stats: CommitStats = { rows: 0, productsWritten: 0, rowsWritten: 0, dbWaitMs: 0 };
  private inFlight: Promise<ChunkResult> | null = null;

  /** `next`: the context of the next chunk's batch (it starts where the last chunk handed over ends). */
  constructor(
    private readonly db: D1Database,
    private next: ChunkContext,
  ) {}

  /** Starts the chunk's commit once the one before it landed. */
  async add(chunk: Chunk): Promise<void> {
    if (this.lostRace) return;
    const waitStarted = Date.now();
    await this.settle();
    if (this.lostRace) return;
    const context = this.next;
    await settleAgainstCatalog(this.db, context.tenantId, context.currency, chunk.rows);
    this.stats.dbWaitMs += Date.now() - waitStarted;
    const errors = chunk.rows.reduce((n, r) => n + problemsOf(r).length, 0);
    this.next = { ...context, from: chunk.end, storedErrors: storedErrorsAfter(context, errors) };
    this.inFlight = handled(commitChunk(this.db, context, chunk));
    // Parsing ahead is CPU-bound and D1 answers often arrive before they are awaited, so without this the
    // invocation could run for seconds without giving the event loop a turn (other requests on the isolate wait).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  async drain(): Promise<void> {
    await this.settle();
  }

  async abandon(): Promise<void> {
    await this.settle().catch(() => undefined);
  }

  private async settle(): Promise<void> {
    if (!this.inFlight) return;
    const result = await this.inFlight;
    this.inFlight = null;
    if (!result.applied) this.lostRace = true;
    addResult(this.stats, result);
  }
}

export function addResult(stats: CommitStats, result: ChunkResult): void {
  stats.rows += result.rows;
  stats.productsWritten += result.productsWritten;
  stats.rowsWritten += result.rowsWritten;
}

/**
 * A D1 call may fail while the reader is still parsing: mark it handled now (whoever awaits it still sees the
 * failure), so it never surfaces as an unhandled rejection of the invocation.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
