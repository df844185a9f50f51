// The job lifecycle's one announce (called from src/imports/jobs/lifecycle.ts whenever a job ends or starts waiting for
// confirmation): a delivery for each of the tenant's enabled endpoints subscribed to the event, each sent as a message
// of the webhook queue. The job's state change committed before, so an announce that fails is logged, not thrown; the
// sweeper announces again the jobs whose state was not recorded as announced, and a delivery's id, derived from its
// endpoint, job and event, makes a second announce deliver nothing twice.
import type { Env } from "../../config.ts";
import type { Db } from "../../db/client.ts";
import { getJobById } from "../../db/queries/jobs.ts";
import { enabledEndpoints, insertDeliveries, type NewDelivery } from "../../db/queries/webhooks.ts";
import { sha256Hex } from "../../hash.ts";
import { loggedError } from "../../log-error.ts";
import { eventFor, type WebhookEventType } from "../../model/webhook-events.ts";
import { endpointEvents } from "../../webhooks/endpoints.ts";
import { MAX_PAYLOAD_BYTES, webhookPayload } from "./job-event.ts";

/** The webhook-id of the event `type` of `jobId` for `endpointId`: the same however often the job is announced. */
export async function deliveryId(endpointId: string, jobId: string, type: WebhookEventType): Promise<string> {
  return `msg_${(await sha256Hex(`${endpointId}\n${jobId}\n${type}`)).slice(0, 32)}`;
}

/** Announces the job's current state, if it is announced and was not; never throws (see above). */
export async function announceJob(env: Env, db: Db, jobId: string, now = Date.now()): Promise<void> {
  try {
    const job = await getJobById(db, jobId);
    if (!job || job.announcedStatus === job.status) return;
    const type = eventFor(job);
    if (type === null) return;
    const subscribed = (await enabledEndpoints(db, job.tenantId)).filter((e) => endpointEvents(e).includes(type));
    const payload = JSON.stringify(webhookPayload(type, job));
    if (new TextEncoder().encode(payload).byteLength > MAX_PAYLOAD_BYTES) throw new Error(`webhook payload of job ${job.id} is larger than ${MAX_PAYLOAD_BYTES} bytes`);
    const deliveries: NewDelivery[] = await Promise.all(
      subscribed.map(async (endpoint) => ({
        id: await deliveryId(endpoint.id, job.id, type),
        endpointId: endpoint.id,
        tenantId: job.tenantId,
        eventType: type,
        jobId: job.id,
        payload,
        status: "pending" as const,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
      })),
    );
    const inserted = await insertDeliveries(db, deliveries, job);
    // A message lost here leaves its delivery pending and due: the sweeper sends it again.
    if (inserted.length > 0) await env.WEBHOOK_QUEUE.sendBatch(inserted.map((id) => ({ body: { deliveryId: id } })));
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "job not announced; the sweeper will announce it", job_id: jobId, ...loggedError(err) }));
  }
}
