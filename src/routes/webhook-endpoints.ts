// /api/v1/webhook-endpoints: where a tenant's job events are delivered (src/webhooks/), with each endpoint's delivery
// log. Scope webhooks:manage for all of it: the secret and the delivery log are for whoever wires the integration.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { MissingEncryptionKeyError } from "../crypto/secret-box.ts";
import { database } from "../db/client.ts";
import { deleteEndpoint, enableEndpoint, getDelivery, getEndpoint, listDeliveries, listEndpoints, markRedelivery, updateEndpoint } from "../db/queries/webhooks.ts";
import type { AppEnv } from "../http/context.ts";
import { readJsonBody } from "../http/json-body.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { guardedUrl } from "../http/validate.ts";
import {
  createWebhookEndpoint,
  deliverySchema,
  attemptSchema,
  endpointInputSchema,
  endpointPatchSchema,
  endpointPath,
  endpointSchema,
  endpointWithSecretSchema,
  MAX_DESCRIPTION_LENGTH,
  MAX_ENDPOINTS,
  rotateEndpointSecret,
  SECRET_OVERLAP_HOURS,
  toAttemptJson,
  toDeliveryJson,
  toEndpointJson,
  WEBHOOK_ENDPOINTS,
} from "../webhooks/endpoints.ts";
import { type WebhookPayload, webhookPayloadSchema } from "../imports/jobs/job-event.ts";
import { DELIVERY_LIMITS } from "../webhooks/deliver.ts";
import type { DeliveryRow } from "../db/queries/webhooks.ts";

/** A URL of at most 2048 characters, the events and a description, each character up to 3 bytes of UTF-8, with room. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_DELIVERIES_PAGE = 100;

const deliveryWithAttemptsSchema = deliverySchema
  .extend({ payload: webhookPayloadSchema.describe("The body sent, as it is sent on every attempt."), attempts_log: z.array(attemptSchema) })
  .meta({ id: "WebhookDeliveryDetail" });

const idParam = (what: string) => z.string().min(1).max(64).describe(what);
const endpointParams = z.object({ id: idParam("The webhook endpoint's id.") });
const deliveryParams = z.object({ id: idParam("The webhook endpoint's id."), delivery_id: idParam("The delivery's id (its `webhook-id`).") });
const endpointListQuery = z.object({ limit: limitParam(1, MAX_ENDPOINTS, MAX_ENDPOINTS), cursor: cursorParam(z.tuple([z.string()])) });
const deliveryListQuery = z.object({ limit: limitParam(1, MAX_DELIVERIES_PAGE, 50), cursor: cursorParam(z.tuple([z.number().int(), z.string()])) });
const endpointPageSchema = z.object({ data: z.array(endpointSchema), next_cursor: z.string().nullable() }).meta({ id: "WebhookEndpointPage" });
const deliveryPageSchema = z.object({ data: z.array(deliverySchema), next_cursor: z.string().nullable() }).meta({ id: "WebhookDeliveryPage" });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const jsonBody = (component: string, description: string) => ({
  description: `${description} At most ${MAX_BODY_BYTES} bytes.`,
  required: true,
  // A reference: the handler reads the body itself (readJsonBody), bounded; the component is registered below.
  content: { "application/json": { schema: { $ref: `#/components/schemas/${component}` } } },
});
const problem = (description: string) => ({ description, content: problemContent });
const bodyProblems = {
  413: problem("The body is larger than the limit, given in `max_bytes`."),
  415: { ...problem("The body is not application/json (UTF-8)."), headers: headers({ Accept: "application/json" }) },
  422: problem("The outbound guard refuses the url (`url-refused`, naming why): https only, no private, loopback or metadata address."),
};
const noEndpoint = { 404: problem("The tenant has no webhook endpoint of that id.") };
const noSecretKey = { 503: problem("The server cannot seal secrets: its ENCRYPTION_KEY is not set.") };
const TAG = "Webhooks" as const;
const SCOPE = "webhooks:manage" as const;

const createRoute = apiRoute({
  method: "post",
  path: WEBHOOK_ENDPOINTS,
  operationId: "createWebhookEndpoint",
  summary: "Register a webhook endpoint",
  description:
    `The events of the tenant's jobs are POSTed to \`url\`, signed as Standard Webhooks specifies. The answer carries the signing secret ` +
    `(\`whsec_…\`), shown only here and on rotation. A tenant keeps at most ${MAX_ENDPOINTS} endpoints; a description has at most ${MAX_DESCRIPTION_LENGTH} characters.`,
  tag: TAG,
  scope: SCOPE,
  request: { body: jsonBody("WebhookEndpointInput", "The url, the event types, an optional description.") },
  responses: {
    201: { description: "Created, with its secret.", content: json(endpointWithSecretSchema), headers: headers({ Location: "The endpoint's URL." }) },
    409: problem(`The tenant already has ${MAX_ENDPOINTS} endpoints (\`limit-reached\`).`),
    ...bodyProblems,
    ...noSecretKey,
  },
});

const listRoute = apiRoute({
  method: "get",
  path: WEBHOOK_ENDPOINTS,
  operationId: "listWebhookEndpoints",
  summary: "List the webhook endpoints",
  description: `By id. A tenant keeps at most ${MAX_ENDPOINTS}, so one page of the largest size lists them all.`,
  tag: TAG,
  scope: SCOPE,
  request: { query: endpointListQuery },
  responses: { 200: { description: "A page of endpoints.", content: json(endpointPageSchema) } },
});

const getRoute = apiRoute({
  method: "get",
  path: `${WEBHOOK_ENDPOINTS}/{id}`,
  operationId: "getWebhookEndpoint",
  summary: "Get a webhook endpoint",
  description: "Its secret is not shown: it was, once, when the endpoint was created or its secret rotated.",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams },
  responses: { 200: { description: "The endpoint.", content: json(endpointSchema) }, ...noEndpoint },
});

const updateRoute = apiRoute({
  method: "patch",
  path: `${WEBHOOK_ENDPOINTS}/{id}`,
  operationId: "updateWebhookEndpoint",
  summary: "Change a webhook endpoint's url, events or description",
  description: "The fields given replace the endpoint's. Each attempt goes to the url the endpoint has at that moment, pending deliveries' too.",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams, body: jsonBody("WebhookEndpointPatch", "Any of url, events, description (null clears it).") },
  responses: { 200: { description: "The endpoint as changed.", content: json(endpointSchema) }, ...noEndpoint, ...bodyProblems },
});

const deleteRoute = apiRoute({
  method: "delete",
  path: `${WEBHOOK_ENDPOINTS}/{id}`,
  operationId: "deleteWebhookEndpoint",
  summary: "Delete a webhook endpoint",
  description: "Its pending deliveries are not attempted again.",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams },
  responses: { 204: { description: "Deleted." }, ...noEndpoint },
});

const rotateRoute = apiRoute({
  method: "post",
  path: `${WEBHOOK_ENDPOINTS}/{id}/rotate-secret`,
  operationId: "rotateWebhookSecret",
  summary: "Rotate a webhook endpoint's signing secret",
  description:
    `A new secret, returned only here. The previous one keeps signing for ${SECRET_OVERLAP_HOURS} hours: every delivery meanwhile carries ` +
    "both signatures in `webhook-signature`, so a receiver can switch secrets without missing one. A second rotation ends the first one's overlap.",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams },
  responses: { 200: { description: "The endpoint with its new secret.", content: json(endpointWithSecretSchema) }, ...noEndpoint, ...noSecretKey },
});

const enableRoute = apiRoute({
  method: "post",
  path: `${WEBHOOK_ENDPOINTS}/{id}/enable`,
  operationId: "enableWebhookEndpoint",
  summary: "Enable a disabled webhook endpoint",
  description: "Its count of failures in a row starts again from zero. Deliveries given up while it was disabled are not resent: redeliver them.",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams },
  responses: { 200: { description: "The endpoint, enabled.", content: json(endpointSchema) }, ...noEndpoint },
});

const deliveriesRoute = apiRoute({
  method: "get",
  path: `${WEBHOOK_ENDPOINTS}/{id}/deliveries`,
  operationId: "listWebhookDeliveries",
  summary: "The endpoint's delivery log, newest first",
  description: "Kept as long as the jobs they announce (JOB_RETENTION_DAYS).",
  tag: TAG,
  scope: SCOPE,
  request: { params: endpointParams, query: deliveryListQuery },
  responses: { 200: { description: "A page of deliveries.", content: json(deliveryPageSchema) }, ...noEndpoint },
});

const deliveryRoute = apiRoute({
  method: "get",
  path: `${WEBHOOK_ENDPOINTS}/{id}/deliveries/{delivery_id}`,
  operationId: "getWebhookDelivery",
  summary: "A delivery, its body and its attempts",
  tag: TAG,
  scope: SCOPE,
  request: { params: deliveryParams },
  responses: { 200: { description: "The delivery.", content: json(deliveryWithAttemptsSchema) }, 404: problem("No such endpoint, or no such delivery of it.") },
});

const redeliverRoute = apiRoute({
  method: "post",
  path: `${WEBHOOK_ENDPOINTS}/{id}/deliveries/{delivery_id}/redeliver`,
  operationId: "redeliverWebhook",
  summary: "Send a delivery again",
  description: "The same body under the same `webhook-id` (a new timestamp and signature), with a new round of retries if it fails.",
  tag: TAG,
  scope: SCOPE,
  request: { params: deliveryParams },
  responses: {
    202: { description: "Queued; the delivery is pending again.", content: json(deliverySchema) },
    404: problem("No such endpoint, or no such delivery of it."),
    409: problem("The endpoint is disabled (enable it first), or the delivery is still pending (its own retries send it)."),
  },
});

function noSuchEndpoint(id: string): ProblemError {
  return problems.notFound(`No webhook endpoint with id "${id}".`);
}

/** Sealing needs ENCRYPTION_KEY: without it, a 503 that says so rather than a 500. */
async function sealing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MissingEncryptionKeyError) throw problems.unavailable("Webhook secrets cannot be stored: the server's ENCRYPTION_KEY is not set.");
    throw err;
  }
}

export function registerWebhookEndpointRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("WebhookEndpointInput", endpointInputSchema);
  app.openAPIRegistry.register("WebhookEndpointPatch", endpointPatchSchema);
  // What the API sends to an endpoint: the document's `webhooks` section.
  app.openAPIRegistry.registerWebhook({
    method: "post",
    path: "jobEvent",
    operationId: "jobEvent",
    summary: "A job event, POSTed to each subscribed webhook endpoint",
    description:
      "Signed as Standard Webhooks specifies. Any 2xx within " +
      `${DELIVERY_LIMITS.totalTimeoutMs / 1000} s delivers it; anything else is retried with backoff under the same \`webhook-id\`.`,
    tags: [TAG],
    security: [],
    request: {
      headers: z.object({
        "webhook-id": z.string().describe("The delivery's id (`msg_…`): the same on every attempt; deduplicate on it."),
        "webhook-timestamp": z.string().describe("The attempt's time, in seconds since the epoch."),
        "webhook-signature": z
          .string()
          .describe(
            "`v1,<base64 HMAC-SHA256 of \"<webhook-id>.<webhook-timestamp>.<body>\">` keyed with the secret's bytes after `whsec_`; " +
              `two, separated by a space, for ${SECRET_OVERLAP_HOURS} hours after a rotation.`,
          ),
      }),
      body: { required: true, content: { "application/json": { schema: webhookPayloadSchema } } },
    },
    responses: {
      200: { description: "Delivered (any 2xx)." },
      410: { description: "The endpoint is disabled at once." },
    },
  });

  app.openapi(createRoute, async (c) => {
    const input = await readJsonBody(c, endpointInputSchema, MAX_BODY_BYTES);
    const created = await sealing(() => createWebhookEndpoint(c.env, database(c.var.db), c.var.caller.tenantId, input));
    if (created.kind === "limit_reached") throw new ProblemError("limit-reached", `A tenant keeps at most ${MAX_ENDPOINTS} webhook endpoints; delete one first.`);
    return c.json({ ...toEndpointJson(created.endpoint), secret: created.secret }, 201, { location: endpointPath(created.endpoint.id) });
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listEndpoints(database(c.var.db), c.var.caller.tenantId, { limit: query.limit, afterId: query.cursor?.[0] });
    const { page, next } = nextCursor(rows, query.limit, (row) => [row.id]);
    return c.json({ data: page.map((row) => toEndpointJson(row)), next_cursor: next }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await getEndpoint(database(c.var.db), c.var.caller.tenantId, id);
    if (!row) throw noSuchEndpoint(id);
    return c.json(toEndpointJson(row), 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { id } = c.req.valid("param");
    const patch = await readJsonBody(c, endpointPatchSchema, MAX_BODY_BYTES);
    const url = patch.url === undefined ? undefined : guardedUrl(c.env, patch.url, "The url");
    const row = await updateEndpoint(
      database(c.var.db),
      c.var.caller.tenantId,
      id,
      {
        ...(url !== undefined && { url }),
        ...(patch.events !== undefined && { events: JSON.stringify(patch.events) }),
        ...(patch.description !== undefined && { description: patch.description }),
      },
      Date.now(),
    );
    if (!row) throw noSuchEndpoint(id);
    return c.json(toEndpointJson(row), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteEndpoint(database(c.var.db), c.var.caller.tenantId, id))) throw noSuchEndpoint(id);
    return c.body(null, 204);
  });

  app.openapi(rotateRoute, async (c) => {
    const { id } = c.req.valid("param");
    const rotated = await sealing(() => rotateEndpointSecret(c.env, database(c.var.db), c.var.caller.tenantId, id));
    if (!rotated) throw noSuchEndpoint(id);
    return c.json({ ...toEndpointJson(rotated.endpoint), secret: rotated.secret }, 200);
  });

  app.openapi(enableRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await enableEndpoint(database(c.var.db), c.var.caller.tenantId, id, Date.now());
    if (!row) throw noSuchEndpoint(id);
    return c.json(toEndpointJson(row), 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const db = database(c.var.db);
    if (!(await getEndpoint(db, c.var.caller.tenantId, id))) throw noSuchEndpoint(id);
    const rows = await listDeliveries(db, c.var.caller.tenantId, id, { limit: query.limit, after: query.cursor });
    const { page, next } = nextCursor(rows, query.limit, (row: DeliveryRow) => [row.createdAt, row.id]);
    return c.json({ data: page.map(toDeliveryJson), next_cursor: next }, 200);
  });

  app.openapi(deliveryRoute, async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    const found = await getDelivery(database(c.var.db), c.var.caller.tenantId, id, delivery_id);
    if (!found) throw problems.notFound(`Webhook endpoint "${id}" has no delivery "${delivery_id}".`);
    return c.json({ ...toDeliveryJson(found.delivery), payload: JSON.parse(found.delivery.payload) as WebhookPayload, attempts_log: found.attempts.map(toAttemptJson) }, 200);
  });

  app.openapi(redeliverRoute, async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    const db = database(c.var.db);
    const endpoint = await getEndpoint(db, c.var.caller.tenantId, id);
    if (!endpoint) throw noSuchEndpoint(id);
    if (!endpoint.enabled) throw new ProblemError("conflict", `Webhook endpoint "${id}" is disabled (${endpoint.disabledReason ?? "disabled"}); enable it first: POST ${endpointPath(id)}/enable.`);
    const marked = await markRedelivery(db, c.var.caller.tenantId, id, delivery_id, Date.now());
    if (!marked) throw problems.notFound(`Webhook endpoint "${id}" has no delivery "${delivery_id}".`);
    const { redelivered, delivery } = marked;
    if (!redelivered) {
      const next = delivery.nextAttemptAt === null ? "" : ` (its next attempt is due at ${new Date(delivery.nextAttemptAt).toISOString()})`;
      throw new ProblemError("conflict", `Delivery "${delivery_id}" is still pending${next}; it can be sent again once it has succeeded or failed.`);
    }
    await c.env.WEBHOOK_QUEUE.send({ deliveryId: delivery.id });
    return c.json(toDeliveryJson(delivery), 202);
  });
}
