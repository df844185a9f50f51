// Queue handlers: the import consumer and the dead-letter consumer. An import message runs one slice of its job (a
// continuation is sent if the file goes on); when the job finishes with budget left, the next job of its tenant's line
// runs in the same invocation.
import type { Config, Env } from "../../config.ts";
import { database } from "../../db/client.ts";
import { countFailedAttempt, getJobById } from "../../db/queries/jobs.ts";
import { retriesExhaustedReason } from "./failure-reasons.ts";
import { finishJob, firstMessage, sendStart } from "./lifecycle.ts";
import type { ImportMessage } from "../../model/import-message.ts";
import { InvocationBudget, runImportSlice } from "./slice.ts";
import { loggedError } from "../../log-error.ts";

function isImportMessage(body: unknown): body is ImportMessage {
  const m = body as (Partial<ImportMessage> & { cursorByte?: unknown }) | null;
  // `cursorByte` is the field's name in messages sent before it was renamed (still queued during a deploy).
  return typeof m?.jobId === "string" && (typeof m.checkpointByte === "number" || typeof m.cursorByte === "number");
}

/** Exponential backoff with jitter: between half and all of 5 s, 10 s, 20 s …, capped at 10 minutes. */
export function retryDelaySeconds(attempts: number, random = Math.random): number {
  const ceiling = Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

export async function handleImportBatch(batch: MessageBatch<unknown>, env: Env, config: Config): Promise<void> {
  // One message at a time: each slice already uses the invocation's CPU and memory budget.
  for (const message of batch.messages) {
    if (!isImportMessage(message.body)) {
      console.error(JSON.stringify({ level: "error", msg: "malformed import message dropped", message_id: message.id }));
      message.ack();
      continue;
    }
    // The job this invocation works on: the message's, then the jobs of its tenant's line it starts here.
    let current: ImportMessage = message.body;
    const budget = new InvocationBudget(config);
    try {
      for (;;) {
        const outcome = await runImportSlice(env, config, current.jobId, budget);
        if (outcome.kind === "continue") await env.IMPORT_QUEUE.send({ jobId: current.jobId, checkpointByte: outcome.checkpointByte });
        if (outcome.kind !== "finished" || !outcome.next) break;
        if (budget.spent()) {
          await sendStart(env, outcome.next);
          break;
        }
        current = firstMessage(outcome.next);
      }
      message.ack();
    } catch (err) {
      // Transient (D1 busy, R2 hiccup, a send that failed): the next delivery resumes from the job's checkpoint.
      const attempts = current === message.body ? message.attempts : 1;
      const delaySeconds = retryDelaySeconds(attempts);
      console.warn(JSON.stringify({ level: "warn", msg: "import slice failed, retrying", job_id: current.jobId, attempts, delay_s: delaySeconds, ...loggedError(err) }));
      await countFailedAttempt(database(env.DB), current.jobId).catch(() => undefined);
      if (current === message.body) message.retry({ delaySeconds });
      else {
        // A job started here after the message's own finished: its retry is a message of its own.
        await env.IMPORT_QUEUE.send(current, { delaySeconds });
        message.ack();
      }
    }
  }
}

export async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = database(env.DB);
  for (const message of batch.messages) {
    if (isImportMessage(message.body)) {
      const job = await getJobById(db, message.body.jobId);
      if (job) await finishJob(env, db, job, { status: "failed", reason: retriesExhaustedReason(job) });
    }
    message.ack();
  }
}
