// Queue handlers: the import consumer (one slice per message, continuation or retry) and the dead-letter consumer.
import type { Config, Env } from "../../config.ts";
import { database } from "../../db/client.ts";
import { countFailedAttempt, getJobById } from "../../db/queries/jobs.ts";
import { retriesExhaustedReason } from "./failure-reasons.ts";
import { finishJob } from "./lifecycle.ts";
import type { ImportMessage } from "../../model/import-message.ts";
import { runImportSlice } from "./slice.ts";
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
    const { jobId } = message.body;
    try {
      const outcome = await runImportSlice(env, config, jobId);
      if (outcome.kind === "continue") await env.IMPORT_QUEUE.send({ jobId, checkpointByte: outcome.checkpointByte });
      message.ack();
    } catch (err) {
      // Transient (D1 busy, R2 hiccup, a send that failed): the next delivery resumes from the job's checkpoint.
      const delaySeconds = retryDelaySeconds(message.attempts);
      console.warn(JSON.stringify({ level: "warn", msg: "import slice failed, retrying", job_id: jobId, attempts: message.attempts, delay_s: delaySeconds, ...loggedError(err) }));
      await countFailedAttempt(database(env.DB), jobId).catch(() => undefined);
      message.retry({ delaySeconds });
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
