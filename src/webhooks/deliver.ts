// The webhook queue's consumer: one attempt per message, POSTed to the endpoint with the Standard Webhooks headers
// (a new timestamp and signature each attempt, the same webhook-id on every one). A 2xx delivers it; anything else
// (another status, a redirect, a timeout, no connection) is a failed attempt, retried by the queue with the delays of
// retryDelaySeconds until max_retries (wrangler.toml), after which the dead-letter consumer marks it failed. A 410 Gone
// disables the endpoint at once; WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row disable it too.
import type { Config, Env } from "../config.ts";
import { unseal } from "../crypto/secret-box.ts";
import { database, type Db } from "../db/client.ts";
import { type DeliveryRow, deliveryToSend, type EndpointRow, failDelivery, recordAttempt } from "../db/queries/webhooks.ts";
import { loggedError } from "../log-error.ts";
import { outboundFetch, type OutboundLimits } from "../outbound/fetch.ts";
import { outboundPolicy } from "../outbound/url-guard.ts";
import { secretContext } from "./endpoints.ts";
import { isWebhookMessage } from "../model/webhook-message.ts";
import { signedHeaders } from "./signature.ts";

/** An endpoint answers within these, or the attempt fails; its response body is not read. */
export const DELIVERY_LIMITS: OutboundLimits = { headersTimeoutMs: 10_000, totalTimeoutMs: 15_000, maxBytes: 4096 };

/** The queue's longest delay (Cloudflare Queues: 12 hours). */
const MAX_DELAY_SECONDS = 12 * 60 * 60;

/** After the n-th failed attempt of a message: 1 min, 3 min, 9 min, 27 min, 81 min, about 4 h, then 12 h. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(MAX_DELAY_SECONDS, 60 * 3 ** Math.max(0, attempt - 1));
}

/** A 429's or 503's Retry-After (seconds or an HTTP date), within the queue's longest delay; null if absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null) return null;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header.trim()) : (Date.parse(header) - now) / 1000;
  if (!Number.isFinite(seconds)) return null;
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(seconds)));
}

type AttemptResult = { kind: "done" } | { kind: "retry"; delaySeconds: number };

export async function handleWebhookBatch(batch: MessageBatch<unknown>, env: Env, config: Config): Promise<void> {
  const db = database(env.DB);
  for (const message of batch.messages) {
    if (!isWebhookMessage(message.body)) {
      console.error(JSON.stringify({ level: "error", msg: "malformed webhook message dropped", message_id: message.id }));
      message.ack();
      continue;
    }
    try {
      const result = await attemptDelivery(env, db, config, message.body.deliveryId, message.attempts);
      if (result.kind === "retry") message.retry({ delaySeconds: result.delaySeconds });
      else message.ack();
    } catch (err) {
      // Ours, not the endpoint's (D1 busy, ENCRYPTION_KEY missing): the message comes back.
      const delaySeconds = retryDelaySeconds(message.attempts);
      console.warn(JSON.stringify({ level: "warn", msg: "webhook delivery failed, retrying", delivery_id: message.body.deliveryId, delay_s: delaySeconds, ...loggedError(err) }));
      message.retry({ delaySeconds });
    }
  }
}

/** The dead-letter consumer: the delivery's retries ran out. */
export async function handleWebhookDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = database(env.DB);
  for (const message of batch.messages) {
    if (isWebhookMessage(message.body)) await failDelivery(db, message.body.deliveryId, "every retry failed", Date.now());
    message.ack();
  }
}

async function signingSecrets(env: Env, endpoint: EndpointRow, now: number): Promise<string[]> {
  const context = secretContext(endpoint.id);
  const secrets = [await unseal(env, endpoint.secretSealed, context)];
  if (endpoint.previousSecretSealed !== null && (endpoint.previousSecretExpiresAt ?? 0) > now) secrets.push(await unseal(env, endpoint.previousSecretSealed, context));
  return secrets;
}

/** One attempt of the delivery, recorded; `messageAttempt` is the message's delivery count (its retry delay). */
async function attemptDelivery(env: Env, db: Db, config: Config, id: string, messageAttempt: number): Promise<AttemptResult> {
  const found = await deliveryToSend(db, id);
  // Purged with its retention, or delivered already (a duplicate message).
  if (!found || found.delivery.status !== "pending") return { kind: "done" };
  const { delivery, endpoint } = found;
  if (!endpoint || !endpoint.enabled) {
    await failDelivery(db, id, endpoint ? `the endpoint is disabled: ${endpoint.disabledReason ?? "disabled"}` : "the endpoint was deleted", Date.now());
    return { kind: "done" };
  }
  const now = Date.now();
  const headers = {
    ...(await signedHeaders(delivery.id, Math.floor(now / 1000), delivery.payload, await signingSecrets(env, endpoint, now))),
    "content-type": "application/json",
  };
  const sent = await outboundFetch(endpoint.url, { method: "POST", headers, body: delivery.payload, redirects: "manual" }, outboundPolicy(env), DELIVERY_LIMITS);
  const latencyMs = Date.now() - now;
  let statusCode: number | null = null;
  let error: string | null = null;
  let retryAfter: number | null = null;
  if (sent.kind === "response") {
    statusCode = sent.response.status;
    if (statusCode === 429 || statusCode === 503) retryAfter = retryAfterSeconds(sent.response.headers.get("retry-after"), now);
    await sent.response.body?.cancel().catch(() => undefined);
    if (statusCode < 200 || statusCode > 299) error = statusCode >= 300 && statusCode < 400 ? "redirects are not followed" : `HTTP ${statusCode}`;
  } else error = sent.kind === "refused" ? `URL refused: ${sent.reason}` : `${sent.reason}: ${sent.detail}`;
  return settle(db, config, delivery, { statusCode, latencyMs, error, at: now, delaySeconds: retryAfter ?? retryDelaySeconds(messageAttempt) });
}

async function settle(
  db: Db,
  config: Config,
  delivery: DeliveryRow,
  attempt: { statusCode: number | null; latencyMs: number; error: string | null; at: number; delaySeconds: number },
): Promise<AttemptResult> {
  const { statusCode, latencyMs, error, at, delaySeconds } = attempt;
  const succeeded = error === null;
  const gone = statusCode === 410;
  const status = succeeded ? "succeeded" : gone ? "failed" : "pending";
  const { recorded, endpoint } = await recordAttempt(
    db,
    delivery,
    { attempt: delivery.attempts + 1, at, statusCode, latencyMs, error, status, nextAttemptAt: status === "pending" ? at + delaySeconds * 1000 : null },
    { disableAfter: config.webhookDisableAfterFailures, ...(gone ? { disableReason: "the endpoint answered 410 Gone" } : {}) },
  );
  // Another message of the same delivery recorded this attempt first: its chain goes on, this one ends.
  if (!recorded || status !== "pending") return { kind: "done" };
  if (!endpoint?.enabled) {
    await failDelivery(db, delivery.id, `the endpoint is disabled: ${endpoint?.disabledReason ?? "deleted"}`, at);
    return { kind: "done" };
  }
  return { kind: "retry", delaySeconds };
}
