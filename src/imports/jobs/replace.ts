// A replace-mode import after its last row: the file was the whole catalog, so every product of the tenant that it did
// not mention is archived (never deleted). Each phase walks the catalog in bounded windows with its own checkpoint (see
// commit/archive.ts), as many windows as the invocation's budget allows, then hands over to a message like a slice:
//
//   counting → archiving → completed          the products it would archive are within max_archive
//   counting → needs_confirmation             more than max_archive: nothing is archived; the job lets go of its
//                                             tenant's line and waits for POST …/confirm (or the sweeper's expiry);
//              … → queued → archiving → completed   confirmed, it archives once it comes first in the line again
//   counting → completed                      nothing to archive
//   counting → purging → completed            a dry run: it reports would_archive and deletes the SKUs it recorded
import type { Config, Env } from "../../config.ts";
import { database } from "../../db/client.ts";
import type { JobRow } from "../../db/queries/jobs.ts";
import { archiveLimit, DEFAULT_MAX_ARCHIVE } from "../../model/import-mode.ts";
import { archiveNext, countNext, leavePhase, type PhaseCheckpoint, purgeNext } from "../commit/archive.ts";
import type { JobOptions } from "../sources/options.ts";
import { awaitConfirmation, finishJob, type NextJob } from "./lifecycle.ts";

/** How a replace phase's invocation ended (the slice's outcomes, see slice.ts). */
export type PhaseOutcome = { kind: "continue" } | { kind: "finished"; next: NextJob | null } | { kind: "skipped"; reason: string };

/** The invocation's budget (slice.ts's InvocationBudget): the products a window reads count as its rows. */
interface Budget {
  rows: number;
  spent(): boolean;
}

// A window walks this many chunks' worth (IMPORT_CHUNK_ROWS) of the catalog per statement: in a daily sync most of a
// window is only read (the products the file mentioned), and every window is a round trip; an archiving window writes
// at most that many products.
const WINDOW_CHUNKS = 5;

const NO_WRITE_SEQUENCE =
  "The file's rows were imported, but the products it did not mention could not be told apart from the others, so nothing was archived. Upload the file again.";

/** Runs the job's replace phases from where it stands until they end or the budget is spent. */
export async function runReplacePhases(env: Env, config: Config, job: JobRow, budget: Budget): Promise<PhaseOutcome> {
  if (job.replacePhase === null) return { kind: "skipped", reason: "no replace phase" };
  // Every writing job is given one as it starts (from its tenant's row); without it nothing can tell what was mentioned.
  if (!job.dryRun && job.writeSeq === null) {
    const done = await finishJob(env, database(env.DB), job, { status: "failed", reason: NO_WRITE_SEQUENCE }, { handOver: "return" });
    return { kind: "finished", next: done?.next ?? null };
  }
  const started = Date.now();
  const db = env.DB;
  const windowRows = config.importChunkRows * WINDOW_CHUNKS;
  let at: PhaseCheckpoint = { jobId: job.id, tenantId: job.tenantId, phase: job.replacePhase, from: job.replaceCursor };
  let counts = { would: job.wouldArchive ?? 0, kept: job.catalogProducts };
  let windows = 0;
  let outcome: PhaseOutcome | null = null;
  while (outcome === null) {
    if (budget.spent()) {
      outcome = { kind: "continue" };
      break;
    }
    windows++;
    if (at.phase === "counting") {
      budget.rows += windowRows;
      const counted = await countNext(db, at, windowRows, job.dryRun ? null : job.writeSeq);
      if (counted) {
        at = { ...at, from: counted.cursor };
        counts = counted;
        continue;
      }
      const next = await afterCounting(env, job, at, counts);
      if ("kind" in next) outcome = next;
      else at = next;
    } else if (at.phase === "archiving") {
      budget.rows += windowRows;
      const archived = await archiveNext(db, at, windowRows, job.writeSeq as number);
      if (archived) at = { ...at, from: archived.cursor };
      else outcome = await complete(env, job, at);
    } else {
      budget.rows += windowRows;
      if ((await purgeNext(db, at, windowRows)) < windowRows) outcome = await complete(env, job, at);
    }
  }
  console.log(JSON.stringify({ msg: "import slice", job_id: job.id, phase: at.phase, windows, ms: Date.now() - started, outcome: outcome.kind }));
  return outcome;
}

/**
 * The count is done: within max_archive the job goes on to archive (or completes, with nothing to archive); past it,
 * it waits for confirmation and lets go of its tenant's line; a dry run goes on to purge what it recorded. The limit is
 * taken of the tenant's products not archived once the file's rows are in (a dry run's: those the catalog has, and
 * those it would create). Returns where the next phase starts, or how the invocation ends.
 */
async function afterCounting(env: Env, job: JobRow, at: PhaseCheckpoint, counts: { would: number; kept: number }): Promise<PhaseCheckpoint | PhaseOutcome> {
  const options = JSON.parse(job.options) as JobOptions;
  const limit = archiveLimit(options.maxArchive ?? DEFAULT_MAX_ARCHIVE, job.dryRun ? counts.kept + job.created : counts.kept);
  const onTo = async (next: "archiving" | "purging") =>
    (await leavePhase(env.DB, at, { status: "processing", next, limit })) ? { ...at, phase: next, from: "" } : lost();
  if (job.dryRun) return onTo("purging");
  if (counts.would === 0) {
    if (!(await leavePhase(env.DB, at, { status: "completed", next: null, limit }))) return lost();
    return finished(env, job);
  }
  if (counts.would <= limit) return onTo("archiving");
  if (!(await leavePhase(env.DB, at, { status: "needs_confirmation", next: "archiving", limit }))) return lost();
  return { kind: "finished", ...(await awaitConfirmation(env, database(env.DB), job, { handOver: "return" })) };
}

/** The phase's walk ended: the job completes (its last window committed already). */
async function complete(env: Env, job: JobRow, at: PhaseCheckpoint): Promise<PhaseOutcome> {
  if (!(await leavePhase(env.DB, at, { status: "completed", next: null }))) return lost();
  return finished(env, job);
}

async function finished(env: Env, job: JobRow): Promise<PhaseOutcome> {
  const done = await finishJob(env, database(env.DB), job, { status: "completed" }, { handOver: "return" });
  return { kind: "finished", next: done?.next ?? null };
}

function lost(): PhaseOutcome {
  return { kind: "skipped", reason: "another invocation moved the job on first" };
}
