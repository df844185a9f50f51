// Reverting an import (POST …/revert): a revert job, which applies in its tenant's line like any import. Its work is the
// reverted import's revisions (import_revisions), walked in windows (commit/revert.ts), as many as the invocation's
// budget allows, then handed over to a message like a slice.
//
// The import kept them in the batches that changed its products, for as long as the job is kept (JOB_RETENTION_DAYS);
// an import is reverted once (a dry run as often as asked). A revert that stopped (failed, canceled) is resumed by the
// next revert of its import, from the last window it committed: what it reverted is not walked again.
import { newId } from "../../auth/keys.ts";
import type { Config, Env } from "../../config.ts";
import { database, type Db } from "../../db/client.ts";
import { findReverts, getJob, insertRevertJob, type JobRow, type JobView } from "../../db/queries/jobs.ts";
import { completeRevert, type RevertCheckpoint, revertNext } from "../commit/revert.ts";
import { acceptJob, finishJob, type NextJob } from "./lifecycle.ts";
import { unfinishedStates } from "../../model/job-states.ts";
import { loggedError } from "../../log-error.ts";

/** How a revert job's invocation ended (the slice's outcomes, see slice.ts). */
export type RevertOutcome = { kind: "continue" } | { kind: "finished"; next: NextJob | null } | { kind: "skipped"; reason: string };

interface Budget {
  rows: number;
  spent(): boolean;
}

/** Runs the revert job's windows from its checkpoint until the revisions end or the budget is spent. */
export async function runRevert(env: Env, config: Config, job: JobRow, budget: Budget): Promise<RevertOutcome> {
  if (job.revertOf === null) return { kind: "skipped", reason: "not a revert job" };
  const started = Date.now();
  // A window is a chunk's worth of products (IMPORT_CHUNK_ROWS), each read and written through its primary key as an
  // import's chunk writes them.
  const n = config.importChunkRows;
  let at: RevertCheckpoint = { jobId: job.id, revertOf: job.revertOf, tenantId: job.tenantId, from: job.revertCursor };
  let windows = 0;
  let outcome: RevertOutcome | null = null;
  while (outcome === null) {
    if (budget.spent()) {
      outcome = { kind: "continue" };
      break;
    }
    windows++;
    budget.rows += n;
    const cursor = await revertNext(env.DB, at, { n, dryRun: job.dryRun, maxStored: config.maxStoredErrors });
    if (cursor !== null) {
      at = { ...at, from: cursor };
      continue;
    }
    if (await completeRevert(env.DB, at)) {
      const done = await finishJob(env, database(env.DB), job, { status: "completed" }, { handOver: "return" });
      outcome = { kind: "finished", next: done?.next ?? null };
    } else outcome = { kind: "skipped", reason: "another invocation moved the revert on first" };
  }
  console.log(JSON.stringify({ msg: "import slice", job_id: job.id, kind: "revert", windows, ms: Date.now() - started, outcome: outcome.kind }));
  return outcome;
}

/** Why an import cannot be reverted (409), or that its revert data is gone with its retention (410). */
export type RevertRefusal =
  | { kind: "not_found" }
  | { kind: "gone" }
  | { kind: "conflict"; reason: "not_finished" | "dry_run" | "is_revert" | "no_revert_data" | "already_reverted"; job: JobView; revertJobId?: string };

export type RevertRequest = { kind: "accepted"; job: JobView } | RevertRefusal;

/**
 * POST …/revert: a revert job of the tenant's import `importId`, accepted into the tenant's line (a dry run waits for
 * nobody). The import must have finished (completed, failed or canceled: what it committed is undone), written (no dry run, no revert itself), kept revert data, and have no
 * standing revert (a stopped one is resumed); past JOB_RETENTION_DAYS after it finished, its revisions are being purged.
 */
export async function requestRevert(env: Env, db: Db, config: Config, tenantId: string, importId: string, dryRun: boolean, now = Date.now()): Promise<RevertRequest> {
  const original = await getJob(db, tenantId, importId);
  if (!original) return { kind: "not_found" };
  const conflict = (reason: Extract<RevertRefusal, { kind: "conflict" }>["reason"], revertJobId?: string): RevertRefusal => ({
    kind: "conflict",
    reason,
    job: original,
    ...(revertJobId && { revertJobId }),
  });
  if (original.kind === "revert") return conflict("is_revert");
  if (original.dryRun) return conflict("dry_run");
  // A failed or canceled import stands as far as it came: its committed chunks kept their revisions, and are undone.
  if ((unfinishedStates as readonly string[]).includes(original.status)) return conflict("not_finished");
  if (original.finishedAt !== null && original.finishedAt + config.jobRetentionMs <= now) return { kind: "gone" };
  if (!original.keepRevisions) return conflict("no_revert_data");
  const reverts = await findReverts(db, importId);
  if (!dryRun && reverts.standing) return conflict("already_reverted", reverts.standing);
  const id = newId("imp");
  const inserted = await insertRevertJob(db, {
    id,
    tenantId,
    kind: "revert",
    revertOf: importId,
    status: "pending",
    format: original.format,
    fileName: null,
    // A revert reads no file: nothing is stored for it, so there is nothing for the sweeper to delete.
    objectKey: "",
    sizeBytes: 0,
    objectDeletedAt: now,
    dryRun,
    // After a revert that stopped (failed, canceled): the windows it committed are done, the rest is this job's.
    revertCursor: reverts.resumeFrom,
    options: original.options,
    createdAt: now,
    heartbeatAt: now,
  });
  if (!inserted) {
    // Another request reverted it meanwhile (the unique index on revert_of).
    const earlier = await findReverts(db, importId);
    return conflict("already_reverted", earlier.standing ?? undefined);
  }
  let queued: JobView | null = null;
  try {
    queued = await acceptJob(env, db, id, now);
  } catch (err) {
    // Accepted all the same: a queued job whose message was lost is sent it again by the sweeper, and one left pending
    // fails as stuck, after which a new revert resumes it. There is no file to clean up.
    console.error(JSON.stringify({ level: "error", msg: "enqueue failed", job_id: id, ...loggedError(err) }));
  }
  const job = queued ?? (await getJob(db, tenantId, id));
  if (!job) throw new Error(`revert job ${id} was inserted but not found`);
  return { kind: "accepted", job };
}
