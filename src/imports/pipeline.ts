// The commit pipeline of one slice: chunks are committed in order, one batch in flight at a time, while the
// reader parses ahead: one D1 round trip per chunk. In a dry run a chunk waits until the chunk after it is known,
// so the batch that commits it can also compare the next one with the catalog.
import { type Checkpoint, type Chunk, commitChunk, type ChunkResult, type Comparison, compareWithCatalog } from "./write.ts";

export interface PipelineJob {
  id: string;
  tenantId: string;
  dryRun: boolean;
}

type Commit = ChunkResult & { nextComparison: Comparison };

export class CommitPipeline {
  /** Where the last chunk handed to a batch ends: the guard of the next batch. */
  private checkpoint: Checkpoint;
  /** Another invocation committed from our checkpoint first: stop, it carries on. */
  lostRace = false;
  /** dbWaitMs: time the slice stood still waiting for D1 (the rest of its time is reading and validating). */
  readonly stats = { rows: 0, productsWritten: 0, rowsWritten: 0, dbWaitMs: 0 };

  private waiting: { chunk: Chunk; comparison: Promise<Comparison> } | null = null;
  private inFlight: Promise<Commit> | null = null;
  private storedErrors: number;
  /** Dry runs: what this invocation's earlier chunks would have written (see DryRunView). */
  private readonly wouldHaveWritten = new Map<string, number>();

  constructor(
    private readonly db: D1Database,
    private readonly job: PipelineJob,
    from: Checkpoint,
    storedErrors: number,
    private readonly maxStoredErrors: number,
  ) {
    this.checkpoint = from;
    this.storedErrors = storedErrors;
  }

  /** Hands over a closed chunk. An import commits it now; a dry run commits the chunk before it (see write.ts). */
  async add(chunk: Chunk): Promise<void> {
    if (this.lostRace) return;
    if (!this.job.dryRun) return this.commit(chunk, null);
    if (this.waiting) await this.commit(this.waiting.chunk, { comparison: this.waiting.comparison, next: chunk });
    else this.waiting = { chunk, comparison: handled(compareWithCatalog(this.db, this.job.tenantId, chunk)) };
  }

  /** Commits everything handed over and waits for it. */
  async drain(): Promise<void> {
    if (this.waiting && !this.lostRace) await this.commit(this.waiting.chunk, { comparison: this.waiting.comparison, next: null });
    await this.settle();
  }

  /** After a failure: lets the batch in flight land (or fail) before the job's fate is decided. */
  async abandon(): Promise<void> {
    await this.settle().catch(() => undefined);
  }

  private async commit(chunk: Chunk, dryRun: { comparison: Promise<Comparison>; next: Chunk | null } | null): Promise<void> {
    const waitStarted = Date.now();
    const comparison = dryRun ? await dryRun.comparison : null;
    await this.settle();
    this.stats.dbWaitMs += Date.now() - waitStarted;
    if (this.lostRace) return;
    const context = {
      jobId: this.job.id,
      tenantId: this.job.tenantId,
      from: this.checkpoint,
      storedErrors: this.storedErrors,
      maxStoredErrors: this.maxStoredErrors,
    };
    this.checkpoint = chunk.end;
    const errors = chunk.rows.reduce((n, r) => n + (r.ok ? 0 : r.errors.length), 0);
    this.storedErrors = Math.min(this.storedErrors + errors, this.maxStoredErrors);
    const view = dryRun && comparison ? { comparison, next: dryRun.next, wouldHaveWritten: this.wouldHaveWritten } : null;
    const commit = handled(commitChunk(this.db, context, chunk, view));
    this.inFlight = commit;
    const next = dryRun?.next;
    this.waiting = next ? { chunk: next, comparison: handled(commit.then((c) => c.nextComparison)) } : null;
    // Parsing ahead is CPU-bound and D1 answers often arrive before they are awaited, so without this the
    // invocation could run for seconds without giving the event loop a turn (other requests on the isolate wait).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  private async settle(): Promise<void> {
    if (!this.inFlight) return;
    const result = await this.inFlight;
    this.inFlight = null;
    if (!result.applied) this.lostRace = true;
    this.stats.rows += result.rows;
    this.stats.productsWritten += result.productsWritten;
    this.stats.rowsWritten += result.rowsWritten;
  }
}

/**
 * A D1 call may fail while the reader is still parsing: mark it handled now (whoever awaits it still sees the
 * failure), so it never surfaces as an unhandled rejection of the invocation.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
