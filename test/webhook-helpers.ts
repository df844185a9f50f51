// Webhook tests: endpoints made through the API, the webhook queue recorded instead of consumed, its messages handed
// to the Worker's queue handler one at a time, and what the test server received verified with the standardwebhooks
// package (an implementation of the spec that is not ours).
import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect } from "vitest";
import { type Env, readConfig } from "../src/config.ts";
import worker from "../src/index.ts";
import type { WebhookMessage } from "../src/model/webhook-message.ts";
import { type ConsumerEnv, consumerEnv } from "./consumer-helpers.ts";
import { request } from "./helpers.ts";
import type { ReceivedRequest } from "./outbound-helpers.ts";

export const ENDPOINTS = "/api/v1/webhook-endpoints";
export const { webhookQueueName: WEBHOOK_QUEUE_NAME, webhookDeadLetterQueueName: WEBHOOK_DLQ_NAME } = readConfig(env);

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
  previous_secret_expires_at: string | null;
  secret?: string;
}

export interface Delivery {
  id: string;
  event_type: string;
  job_id: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  payload?: { type: string; data: Record<string, unknown> };
  attempts_log?: { attempt: number; status_code: number | null; error: string | null }[];
}

export function send(key: string, method: string, path: string, body?: unknown): Promise<Response> {
  return request(path, { method, key, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function createEndpoint(key: string, body: { url: string; events: string[]; description?: string }): Promise<Endpoint & { secret: string }> {
  const res = await send(key, "POST", ENDPOINTS, body);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${await res.text()}`);
  return res.json();
}

export async function getEndpoint(key: string, id: string): Promise<Endpoint> {
  const res = await request(`${ENDPOINTS}/${id}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

export async function deliveries(key: string, endpointId: string): Promise<Delivery[]> {
  const res = await request(`${ENDPOINTS}/${endpointId}/deliveries`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Delivery[] }).data;
}

export async function delivery(key: string, endpointId: string, id: string): Promise<Delivery> {
  const res = await request(`${ENDPOINTS}/${endpointId}/deliveries/${id}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

export interface WebhookConsumer extends ConsumerEnv {
  /** The webhook messages sent, in order, not yet taken. */
  webhooks: WebhookMessage[];
}

/** A consumer env (see consumer-helpers.ts) whose webhook queue records its messages. */
export function webhookConsumer(vars: Partial<Record<keyof Env, string>> = {}): WebhookConsumer {
  const consumer = consumerEnv(vars);
  const webhooks: WebhookMessage[] = [];
  consumer.env.WEBHOOK_QUEUE = {
    send: async (body: WebhookMessage) => void webhooks.push(body),
    sendBatch: async (messages: Iterable<MessageSendRequest<WebhookMessage>>) => {
      for (const m of messages) webhooks.push(m.body);
    },
  } as unknown as Queue<WebhookMessage>;
  return Object.assign(consumer, { webhooks });
}

/** Takes the webhook messages recorded so far. */
export function takeWebhooks(consumer: WebhookConsumer): WebhookMessage[] {
  return consumer.webhooks.splice(0);
}

let seq = 0;

/** Hands one message to the Worker's queue handler; returns whether it was acked or retried, and the retry's delay. */
export async function handle(testEnv: Env, body: unknown, options: { attempts?: number; queue?: string } = {}): Promise<{ result: QueueResult; retryDelay?: number }> {
  const batch = createMessageBatch(options.queue ?? WEBHOOK_QUEUE_NAME, [{ id: `wh-${++seq}`, timestamp: new Date(), attempts: options.attempts ?? 1, body }]);
  let retryDelay: number | undefined;
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (opts?: QueueRetryOptions) => {
      retryDelay = opts?.delaySeconds;
      retry(opts);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<WebhookMessage>, testEnv);
  return { result: await getQueueResult(batch, ctx), retryDelay };
}

/** Verifies a received request as a receiver would, with `secret`; returns the parsed body. Throws if it does not verify. */
export function verified(secret: string, received: ReceivedRequest): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(received.body, received.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}
