// A tenant's webhook endpoints: what a client sends and is shown, and the steps that need more than one query (the URL
// guard, the secret sealed under the endpoint's id).
import { z } from "zod";
import { newId } from "../auth/keys.ts";
import type { Env } from "../config.ts";
import { seal } from "../crypto/secret-box.ts";
import type { Db } from "../db/client.ts";
import { createEndpoint, type DeliveryRow, type AttemptRow, type EndpointRow, rotateSecret } from "../db/queries/webhooks.ts";
import { guardedUrl } from "../http/validate.ts";
import { deliveryStates, webhookEventTypes, type WebhookEventType } from "../model/webhook-events.ts";
import { MAX_OUTBOUND_URL_LENGTH } from "../outbound/url-guard.ts";
import { generateSecret } from "./signature.ts";

export const WEBHOOK_ENDPOINTS = "/api/v1/webhook-endpoints";
export const MAX_ENDPOINTS = 20;
export const MAX_DESCRIPTION_LENGTH = 500;
/** After a rotation the previous secret signs too, for this long: receivers switch secrets without missing a delivery. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;
export const SECRET_OVERLAP_HOURS = SECRET_OVERLAP_MS / 3_600_000;

const urlSchema = z.string().min(1).max(MAX_OUTBOUND_URL_LENGTH).describe("Where deliveries are POSTed: an https URL the outbound guard accepts.");
const eventsSchema = z
  .array(z.enum(webhookEventTypes))
  .min(1)
  .max(webhookEventTypes.length)
  .refine((events) => new Set(events).size === events.length, { error: "must not name an event twice" })
  .describe("The event types the endpoint receives.");
const descriptionSchema = z.string().max(MAX_DESCRIPTION_LENGTH).nullable();

export const endpointInputSchema = z
  .strictObject({ url: urlSchema, events: eventsSchema, description: descriptionSchema.optional() })
  .meta({ id: "WebhookEndpointInput" });
export const endpointPatchSchema = z
  .strictObject({ url: urlSchema.optional(), events: eventsSchema.optional(), description: descriptionSchema.optional() })
  .meta({ id: "WebhookEndpointPatch" });
export type EndpointInput = z.output<typeof endpointInputSchema>;
export type EndpointPatch = z.output<typeof endpointPatchSchema>;

export const endpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(webhookEventTypes)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable().describe("Why the endpoint was disabled (failures in a row, a 410); null while enabled."),
    disabled_at: z.string().nullable(),
    consecutive_failures: z.int().min(0).describe("Failed delivery attempts since the last success."),
    previous_secret_expires_at: z.string().nullable().describe("Until when the secret before the last rotation signs too; null if none does."),
    created_at: z.string(),
    updated_at: z.string(),
    links: z.object({ self: z.string(), deliveries: z.string() }),
  })
  .meta({ id: "WebhookEndpoint" });

export const endpointWithSecretSchema = endpointSchema
  .extend({ secret: z.string().describe("The signing secret (`whsec_…`): shown only now; store it to verify deliveries.") })
  .meta({ id: "WebhookEndpointWithSecret" });

export const deliverySchema = z
  .object({
    id: z.string().describe("The delivery's `webhook-id`, the same on every attempt."),
    event_type: z.enum(webhookEventTypes),
    job_id: z.string(),
    status: z.enum(deliveryStates),
    attempts: z.int().min(0),
    last_status_code: z.int().nullable().describe("The status of the last attempt; null if none, or no response came."),
    last_latency_ms: z.int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable().describe("When a pending delivery is attempted next (about: the queue's delay)."),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "WebhookDelivery" });

export const attemptSchema = z
  .object({ attempt: z.int().min(1), at: z.string(), status_code: z.int().nullable(), latency_ms: z.int().min(0), error: z.string().nullable() })
  .meta({ id: "WebhookAttempt" });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function endpointPath(id: string): string {
  return `${WEBHOOK_ENDPOINTS}/${id}`;
}

export function endpointEvents(endpoint: Pick<EndpointRow, "events">): WebhookEventType[] {
  return JSON.parse(endpoint.events) as WebhookEventType[];
}

export function toEndpointJson(e: EndpointRow, now = Date.now()): z.output<typeof endpointSchema> {
  const overlap = e.previousSecretSealed !== null && (e.previousSecretExpiresAt ?? 0) > now;
  return {
    id: e.id,
    url: e.url,
    events: endpointEvents(e),
    description: e.description,
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    disabled_at: iso(e.disabledAt),
    consecutive_failures: e.consecutiveFailures,
    previous_secret_expires_at: overlap ? iso(e.previousSecretExpiresAt) : null,
    created_at: iso(e.createdAt)!,
    updated_at: iso(e.updatedAt)!,
    links: { self: endpointPath(e.id), deliveries: `${endpointPath(e.id)}/deliveries` },
  };
}

export function toDeliveryJson(d: DeliveryRow): z.output<typeof deliverySchema> {
  return {
    id: d.id,
    event_type: d.eventType as WebhookEventType,
    job_id: d.jobId,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_latency_ms: d.lastLatencyMs,
    last_error: d.lastError,
    next_attempt_at: d.status === "pending" ? iso(d.nextAttemptAt) : null,
    created_at: iso(d.createdAt)!,
    updated_at: iso(d.updatedAt)!,
  };
}

export function toAttemptJson(a: AttemptRow): z.output<typeof attemptSchema> {
  return { attempt: a.attempt, at: iso(a.at)!, status_code: a.statusCode, latency_ms: a.latencyMs, error: a.error };
}

/** The associated data a secret is sealed with: it opens only on its own endpoint's row. */
export function secretContext(endpointId: string): string {
  return `webhook-endpoint:${endpointId}`;
}

export type Creation = { kind: "created"; endpoint: EndpointRow; secret: string } | { kind: "limit_reached" };

export async function createWebhookEndpoint(env: Env, db: Db, tenantId: string, input: EndpointInput, now = Date.now()): Promise<Creation> {
  const url = guardedUrl(env, input.url, "The url");
  const id = newId("whe");
  const secret = generateSecret();
  const endpoint = await createEndpoint(
    db,
    {
      id,
      tenantId,
      url,
      events: JSON.stringify(input.events),
      description: input.description ?? null,
      secretSealed: await seal(env, secret, secretContext(id)),
      previousSecretSealed: null,
      previousSecretExpiresAt: null,
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      consecutiveFailures: 0,
      createdAt: now,
      updatedAt: now,
    },
    MAX_ENDPOINTS,
  );
  return endpoint ? { kind: "created", endpoint, secret } : { kind: "limit_reached" };
}

/** A new secret, returned once; the current one keeps signing for SECRET_OVERLAP_MS. Null if the tenant has no such endpoint. */
export async function rotateEndpointSecret(env: Env, db: Db, tenantId: string, id: string, now = Date.now()): Promise<{ endpoint: EndpointRow; secret: string } | null> {
  const secret = generateSecret();
  const endpoint = await rotateSecret(db, tenantId, id, await seal(env, secret, secretContext(id)), now + SECRET_OVERLAP_MS, now);
  return endpoint ? { endpoint, secret } : null;
}
