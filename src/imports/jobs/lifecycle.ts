// A job's life after its row exists: accepted into its tenant's line, started in line order, finished in one place.
//
// A tenant's writing jobs apply in the order the API accepted them: one D1 database has one writer, so running two of
// them at once would only make the order chance. A job accepted behind others waits without costing anything: no
// message of its own is sent (or one that arrives early does nothing), and the job that finishes ahead of it starts it:
// in the same queue invocation while its budget lasts, else by a message. The sweeper sends that message again if it
// was lost (see sweeper.ts). Dry runs write nothing, so they
// neither wait nor hold anyone up. A replace-mode job whose archiving waits for confirmation lets go of the line like a
// finished one, and takes a new place at its end when it is confirmed. A canceled job leaves the line like a finished one.
// Every end, and the wait for a confirmation, is announced to the tenant's webhook endpoints (announceJob) here and
// nowhere else.
import type { Env } from "../../config.ts";
import { type Db } from "../../db/client.ts";
import {
  countFailedRecords,
  type EndedJob,
  failJob,
  type JobRow,
  type JobView,
  markCanceled,
  markConfirmed,
  markQueued,
  renewLineHead,
  requestCancel,
  startJob,
} from "../../db/queries/jobs.ts";
import { discardInflated } from "./inflated-copy.ts";
import { loggedError } from "../../log-error.ts";
import type { ImportMessage } from "../../model/import-message.ts";
import { announceJob } from "./announce.ts";

/**
 * pending → queued: the upload is stored. Sends the job's first message when nothing is ahead of it in the line;
 * otherwise the job ahead sends it when it finishes. Null if the job left `pending` meanwhile (the sweeper failed it).
 */
export async function acceptJob(env: Env, db: Db, jobId: string, now = Date.now()): Promise<JobView | null> {
  const job = await markQueued(db, jobId, now);
  if (job && job.waitingFor === null) await env.IMPORT_QUEUE.send(firstMessage(job));
  return job;
}

/** queued → processing, when no job accepted before it is still in its tenant's line; null if it has to wait. */
export function startInLine(db: Db, jobId: string, now = Date.now()): Promise<JobRow | null> {
  return startJob(db, jobId, now);
}

/**
 * How a job finishes. `canceled`: a processing job whose cancel was requested, at the boundary where its writes stopped;
 * a failure of a job whose cancel was requested ends it canceled too (its rows up to the request stand).
 */
export type Finish = { status: "completed" } | { status: "failed"; reason: string } | { status: "canceled" };

/** The job that comes first in its tenant's line once the one ahead has finished. */
export type NextJob = Pick<JobRow, "id" | "checkpointByte">;

export interface FinishOptions {
  now?: number;
  /**
   * Who starts the next job of the line: "send" sends its message; "return" hands it to the caller, a queue invocation
   * with budget left that runs it at once (no queue hop between a tenant's jobs) or else sends its message.
   */
  handOver?: "send" | "return";
}

/** A finishing job: who it is, and its file (a compressed file's inflated copy is deleted when it finishes). */
export type FinishingJob = Pick<JobRow, "id" | "tenantId" | "objectKey" | "contentEncoding">;

/**
 * The one place a job finishes. A completed job's last chunk committed `completed` with its rows (they must land
 * together); a failure is applied here. A compressed file's inflated copy (or its unfinished upload) is deleted, unless
 * the job has failed rows that are read from it; the file as sent is kept until UPLOAD_RETENTION_DAYS. The end is announced
 * to the tenant's webhook endpoints. Then the next job of the tenant's line is started (or returned,
 * see FinishOptions). Returns null if the job had already finished (nothing happens then).
 */
export async function finishJob(
  env: Env,
  db: Db,
  job: FinishingJob,
  finish: Finish,
  { now = Date.now(), handOver = "send" }: FinishOptions = {},
): Promise<{ next: NextJob | null } | null> {
  // An end applied here returns the inflate's checkpoint as the job ended with it, which names an upload to abort.
  let ended: EndedJob | null = null;
  if (finish.status !== "completed") {
    ended = (finish.status === "failed" ? await failJob(db, job.id, finish.reason, now) : null) ?? (await markCanceled(db, job.id, now));
    if (!ended) return null;
  }
  await announceJob(env, db, job.id, now);
  await discardInflatedCopy(env, db, ended ?? { ...job, inflateCheckpoint: null });
  return handOverLine(env, db, job.tenantId, { now, handOver });
}

/**
 * Deletes what a finished job's inflate left, but for a copy the job's failed rows are read from (GET …/failed-rows,
 * POST …/retry): that one stays until the sweeper deletes it with the file, after UPLOAD_RETENTION_DAYS.
 */
async function discardInflatedCopy(env: Env, db: Db, job: EndedJob): Promise<void> {
  if (job.contentEncoding === null) return;
  await discardInflated(env.UPLOADS, job, { keepCopy: (await countFailedRecords(db, job.id)) > 0 });
}

/**
 * After a job of the tenant let go of its line (it finished, or it waits for confirmation, which its own statement
 * committed): the next job of the line is started, or returned (see FinishOptions).
 */
export async function handOverLine(
  env: Env,
  db: Db,
  tenantId: string,
  { now = Date.now(), handOver = "send" }: FinishOptions = {},
): Promise<{ next: NextJob | null }> {
  const next = await nextInLine(db, tenantId, now);
  if (next && handOver === "send") await sendStart(env, next);
  return { next: handOver === "return" ? next : null };
}

/**
 * A replace-mode import that counted more to archive than max_archive (its own statement moved it to
 * needs_confirmation): announced, and it lets go of its tenant's line.
 */
export async function awaitConfirmation(env: Env, db: Db, job: Pick<JobRow, "id" | "tenantId">, options: FinishOptions = {}): Promise<{ next: NextJob | null }> {
  await announceJob(env, db, job.id, options.now);
  return handOverLine(env, db, job.tenantId, options);
}

export type Confirmation = { kind: "confirmed" | "already_confirmed" | "not_waiting"; job: JobView };

/**
 * needs_confirmation → queued: the job takes the next place in its tenant's line (behind every job accepted before the
 * confirmation) and archives once it comes first; its message is sent when nothing is ahead of it. A job confirmed
 * before is `already_confirmed` (a repeat changes nothing); null if the tenant has no such job.
 */
export async function confirmJob(env: Env, db: Db, tenantId: string, jobId: string, now = Date.now()): Promise<Confirmation | null> {
  const confirmed = await markConfirmed(db, tenantId, jobId, now);
  if (!confirmed) return null;
  const { moved, job } = confirmed;
  if (moved) {
    if (job.waitingFor === null) await sendStart(env, job);
    return { kind: "confirmed", job };
  }
  return { kind: job.confirmedAt !== null ? "already_confirmed" : "not_waiting", job };
}

/**
 * What POST …/cancel did: `canceled` the job ended now or before; `requested` it is processing and ends at its next
 * boundary; `finished` it had completed or failed (nothing changed).
 */
export type Cancellation = { kind: "canceled" | "requested" | "finished"; job: JobView };

/**
 * POST …/cancel. A pending, queued or needs_confirmation job is canceled at once: a queued one leaves its tenant's
 * line, and when it was first in it the next job starts; one waiting for confirmation archives nothing. A processing
 * job gets the request recorded: its guarded writes stop at the next boundary (a chunk, an inflated part, an archive
 * window), and the consumer then ends it (finishJob with `canceled`). A repeat changes nothing. Null if the tenant has
 * no such job.
 */
export async function cancelJob(env: Env, db: Db, tenantId: string, jobId: string, now = Date.now()): Promise<Cancellation | null> {
  const request = await requestCancel(db, tenantId, jobId, now);
  if (!request) return null;
  const { job, canceled, freedLine } = request;
  if (canceled) {
    await announceJob(env, db, jobId, now);
    // A confirmed replace-mode job waiting in line again has its inflated copy still stored.
    await discardInflatedCopy(env, db, canceled);
    if (freedLine) await handOverLine(env, db, tenantId, { now });
  }
  if (job.status === "canceled") return { kind: "canceled", job };
  return { kind: job.status === "processing" ? "requested" : "finished", job };
}

/**
 * The first job of the tenant's line if it is still queued, its heartbeat renewed. A failure is logged, not thrown: the
 * finished job must not be retried for it, and the sweeper starts a job whose start was lost.
 */
async function nextInLine(db: Db, tenantId: string, now: number): Promise<NextJob | null> {
  try {
    return await renewLineHead(db, tenantId, now);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "next job not started; the sweeper will start it", tenant_id: tenantId, ...loggedError(err) }));
    return null;
  }
}

/** Sends the message that starts a job; a failure is logged, not thrown (see nextInLine). */
export async function sendStart(env: Env, job: NextJob): Promise<void> {
  try {
    await env.IMPORT_QUEUE.send(firstMessage(job));
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "next job not started; the sweeper will start it", job_id: job.id, ...loggedError(err) }));
  }
}

/** The message that starts (or resumes) a queued job. */
export function firstMessage(job: Pick<JobRow, "id" | "checkpointByte">): ImportMessage {
  return { jobId: job.id, checkpointByte: job.checkpointByte };
}
