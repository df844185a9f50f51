// Webhook deliveries: a job's end announced to the tenant's endpoints, POSTed to the test's server with the Standard
// Webhooks headers, verified by the standardwebhooks package (not our code) across retries and a secret rotation;
// backoff, Retry-After, disabling, re-enabling, 410, redelivery, the dead-letter queue and the sweeper's repairs.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import worker from "../../src/index.ts";
import { MAX_PAYLOAD_BYTES, webhookPayloadSchema } from "../../src/imports/jobs/job-event.ts";
import { drain, requestHeld, uploadHeld } from "../consumer-helpers.ts";
import { createTenant, seedProducts, type TestTenant } from "../helpers.ts";
import { getJob, upload, accepted } from "../imports-helpers.ts";
import { outboundId, outboundRequests, outboundUrl, scriptOutbound } from "../outbound-helpers.ts";
import {
  createEndpoint,
  deliveries,
  delivery,
  ENDPOINTS,
  getEndpoint,
  handle,
  send,
  takeWebhooks,
  verified,
  WEBHOOK_DLQ_NAME,
  type WebhookConsumer,
  webhookConsumer,
} from "../webhook-helpers.ts";

const CSV = "sku,name,price\nA-1,Apple,1.00\nB-2,Banana,2.00\n";
const CSV_WITH_ERRORS = "sku,name,price\nA-1,Apple,1.00\nB-2,Banana,not-a-price\n";
const ALL_IMPORT_EVENTS = ["import.completed", "import.completed_with_errors", "import.failed", "import.canceled", "import.needs_confirmation"];
const config = readConfig(env);

/** An import uploaded through the API and run by the consumer; returns the job id and the webhook messages it sent. */
async function importRun(consumer: WebhookConsumer, key: string, body = CSV, query = ""): Promise<{ jobId: string; messages: { deliveryId: string }[] }> {
  const job = await uploadHeld(consumer, key, body, query);
  await drain(consumer);
  return { jobId: job.id, messages: takeWebhooks(consumer) };
}

async function tenantWithEndpoint(events = ALL_IMPORT_EVENTS): Promise<{ t: TestTenant; hook: string; endpoint: Awaited<ReturnType<typeof createEndpoint>> }> {
  const t = await createTenant();
  const hook = outboundId();
  const endpoint = await createEndpoint(t.key, { url: outboundUrl(hook, "/hook"), events });
  return { t, hook, endpoint };
}

afterEach(() => vi.restoreAllMocks());

describe("webhook deliveries", () => {
  it("announce a job's end through the queues to the endpoint, signed as Standard Webhooks specifies", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    await scriptOutbound(hook, [{ status: 204 }]);
    // The real queues: the import consumer finishes the job, the webhook consumer delivers it.
    const job = await accepted(await upload(t.key, CSV));
    let received = await outboundRequests(hook);
    for (let i = 0; received.length === 0 && i < 300; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      received = await outboundRequests(hook);
    }
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request).toMatchObject({ method: "POST", path: `/s/${hook}/hook` });
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(request!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const event = verified(endpoint.secret, request!);
    expect(event).toMatchObject({
      type: "import.completed",
      data: { id: job.id, kind: "import", status: "completed", counters: { processed_rows: 2, created: 2, error_count: 0 }, links: { self: `/api/v1/products/import/${job.id}` } },
    });
    expect(new TextEncoder().encode(request!.body).byteLength).toBeLessThan(MAX_PAYLOAD_BYTES);
    // The body is what the OpenAPI document's WebhookEvent says, field for field.
    expect(webhookPayloadSchema.strict().safeParse(event).success).toBe(true);

    let log = await deliveries(t.key, endpoint.id);
    for (let i = 0; log[0]?.status !== "succeeded" && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      log = await deliveries(t.key, endpoint.id);
    }
    expect(log).toEqual([expect.objectContaining({ id: request!.headers["webhook-id"], event_type: "import.completed", job_id: job.id, status: "succeeded", attempts: 1, last_status_code: 204 })]);
  });

  it("retry a failed attempt with backoff under the same webhook-id, each attempt signed anew", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 500 }, { status: 200 }]);
    const { jobId, messages } = await importRun(consumer, t.key, CSV_WITH_ERRORS);
    expect(messages).toHaveLength(1);
    const first = await handle(consumer.env, messages[0], { attempts: 1 });
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.retryDelay).toBe(60);
    expect((await deliveries(t.key, endpoint.id))[0]).toMatchObject({ status: "pending", attempts: 1, last_status_code: 500, last_error: "HTTP 500" });
    const second = await handle(consumer.env, messages[0], { attempts: 2 });
    expect(second.result.explicitAcks).toHaveLength(1);
    const received = await outboundRequests(hook);
    expect(received).toHaveLength(2);
    expect(received[0]!.headers["webhook-id"]).toBe(received[1]!.headers["webhook-id"]);
    for (const r of received) expect(verified(endpoint.secret, r)).toMatchObject({ type: "import.completed_with_errors", data: { id: jobId, counters: { rejected_rows: 1 } } });
    const detail = await delivery(t.key, endpoint.id, messages[0]!.deliveryId);
    expect(detail).toMatchObject({ status: "succeeded", attempts: 2, last_status_code: 200, payload: { type: "import.completed_with_errors" } });
    expect(detail.attempts_log!.map((a) => [a.attempt, a.status_code])).toEqual([[1, 500], [2, 200]]);
    expect((await getEndpoint(t.key, endpoint.id)).consecutive_failures).toBe(0);
  });

  it("honour Retry-After on a 429, and count a redirect as a failed attempt without following it", async () => {
    const { t, hook } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 429, headers: { "retry-after": "120" } }, { status: 302, redirectTo: outboundUrl(hook, "/elsewhere") }]);
    const { messages } = await importRun(consumer, t.key);
    expect((await handle(consumer.env, messages[0], { attempts: 1 })).retryDelay).toBe(120);
    expect((await handle(consumer.env, messages[0], { attempts: 2 })).retryDelay).toBe(180);
    expect((await outboundRequests(hook)).map((r) => r.path)).toEqual([`/s/${hook}/hook`, `/s/${hook}/hook`]);
  });

  it("during a rotation carry both signatures, each verifying with its own secret", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const rotated = (await (await send(t.key, "POST", `${ENDPOINTS}/${endpoint.id}/rotate-secret`)).json()) as { secret: string };
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 200 }]);
    const { messages } = await importRun(consumer, t.key);
    await handle(consumer.env, messages[0]);
    const [received] = await outboundRequests(hook);
    expect(received!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verified(rotated.secret, received!).type).toBe("import.completed");
    expect(verified(endpoint.secret, received!).type).toBe("import.completed");
    // A secret of neither does not verify.
    expect(() => verified(`whsec_${btoa("x".repeat(32))}`, received!)).toThrow();
  });

  it("disable an endpoint after WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row; enabled again, a redelivery goes out", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer({ WEBHOOK_DISABLE_AFTER_FAILURES: "2" });
    await scriptOutbound(hook, [{ status: 500 }, { status: 500 }, { status: 200 }]);
    const { messages } = await importRun(consumer, t.key);
    expect((await handle(consumer.env, messages[0], { attempts: 1 })).result.retryMessages).toHaveLength(1);
    expect((await handle(consumer.env, messages[0], { attempts: 2 })).result.explicitAcks).toHaveLength(1);
    expect(await getEndpoint(t.key, endpoint.id)).toMatchObject({ enabled: false, consecutive_failures: 2, disabled_reason: "2 delivery attempts failed in a row" });
    expect((await deliveries(t.key, endpoint.id))[0]).toMatchObject({ status: "failed", attempts: 2 });
    // A disabled endpoint gets no new deliveries, and cannot be redelivered to.
    expect((await importRun(consumer, t.key)).messages).toEqual([]);
    const refused = await send(t.key, "POST", `${ENDPOINTS}/${endpoint.id}/deliveries/${messages[0]!.deliveryId}/redeliver`);
    expect(refused.status).toBe(409);

    const enabled = await send(t.key, "POST", `${ENDPOINTS}/${endpoint.id}/enable`);
    expect(await enabled.json()).toMatchObject({ enabled: true, consecutive_failures: 0, disabled_reason: null });
    const redeliver = await worker.fetch(
      new Request(`https://api.test${ENDPOINTS}/${endpoint.id}/deliveries/${messages[0]!.deliveryId}/redeliver`, { method: "POST", headers: { authorization: `Bearer ${t.key}` } }),
      { ...env, WEBHOOK_QUEUE: consumer.env.WEBHOOK_QUEUE },
      createExecutionContext(),
    );
    expect(redeliver.status).toBe(202);
    expect(await redeliver.json()).toMatchObject({ id: messages[0]!.deliveryId, status: "pending" });
    const again = takeWebhooks(consumer);
    expect(again).toEqual([messages[0]]);
    expect((await handle(consumer.env, again[0], { attempts: 1 })).result.explicitAcks).toHaveLength(1);
    const received = await outboundRequests(hook);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(verified(endpoint.secret, received[2]!).type).toBe("import.completed");
    expect((await delivery(t.key, endpoint.id, messages[0]!.deliveryId)).attempts_log!.map((a) => a.status_code)).toEqual([500, 500, 200]);
  });

  it("disable an endpoint at once when it answers 410 Gone", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 410 }]);
    const { messages } = await importRun(consumer, t.key);
    expect((await handle(consumer.env, messages[0])).result.explicitAcks).toHaveLength(1);
    expect(await getEndpoint(t.key, endpoint.id)).toMatchObject({ enabled: false, disabled_reason: "the endpoint answered 410 Gone" });
    expect((await deliveries(t.key, endpoint.id))[0]).toMatchObject({ status: "failed", last_status_code: 410 });
  });

  it("are marked failed by the dead-letter consumer when the queue's retries run out", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 500 }]);
    const { messages } = await importRun(consumer, t.key);
    await handle(consumer.env, messages[0], { attempts: 1 });
    expect((await handle(consumer.env, messages[0], { queue: WEBHOOK_DLQ_NAME })).result.explicitAcks).toHaveLength(1);
    expect((await deliveries(t.key, endpoint.id))[0]).toMatchObject({ status: "failed", attempts: 1, last_error: "every retry failed" });
    // A late duplicate of the message attempts nothing.
    await handle(consumer.env, messages[0], { attempts: 9 });
    expect(await outboundRequests(hook)).toHaveLength(1);
  });

  it("go only to endpoints subscribed to the event", async () => {
    const t = await createTenant();
    const [failedOnly, completedOnly] = [outboundId(), outboundId()];
    await createEndpoint(t.key, { url: outboundUrl(failedOnly), events: ["import.failed"] });
    const subscribed = await createEndpoint(t.key, { url: outboundUrl(completedOnly), events: ["import.completed"] });
    const { messages } = await importRun(webhookConsumer(), t.key);
    expect(messages).toHaveLength(1);
    expect((await deliveries(t.key, subscribed.id)).map((d) => d.id)).toEqual([messages[0]!.deliveryId]);
  });

  it("announce import.needs_confirmation, import.canceled and revert.completed", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint([...ALL_IMPORT_EVENTS, "revert.completed"]);
    const consumer = webhookConsumer();
    await seedProducts(t.tenantId, [{ sku: "OLD-1" }, { sku: "OLD-2" }, { sku: "OLD-3" }]);
    const waiting = await importRun(consumer, t.key, CSV, "?mode=replace&max_archive=1");
    expect((await getJob(t.key, waiting.jobId)).status).toBe("needs_confirmation");
    const cancel = await requestHeld(consumer, `/api/v1/products/import/${waiting.jobId}/cancel`, { method: "POST", key: t.key });
    expect(cancel.status).toBe(200);
    const imported = await importRun(consumer, t.key);
    const revert = await accepted(await requestHeld(consumer, `/api/v1/products/import/${imported.jobId}/revert`, { method: "POST", key: t.key }));
    await drain(consumer);
    const reverted = takeWebhooks(consumer);
    const log = await deliveries(t.key, endpoint.id);
    expect(log.map((d) => [d.event_type, d.job_id]).reverse()).toEqual([
      ["import.needs_confirmation", waiting.jobId],
      ["import.canceled", waiting.jobId],
      ["import.completed", imported.jobId],
      ["revert.completed", revert.id],
    ]);
    expect(waiting.messages).toHaveLength(1);
    expect(reverted).toHaveLength(1);
    await scriptOutbound(hook, [{ status: 200 }]);
    await handle(consumer.env, reverted[0]);
    const [received] = await outboundRequests(hook);
    expect(verified(endpoint.secret, received!)).toMatchObject({ type: "revert.completed", data: { id: revert.id, kind: "revert", links: { failed_rows: null } } });
  });

  it("are made by the sweeper when a job's announce was lost, once, and resent when their message was lost", async () => {
    const { t, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    const { jobId, messages } = await importRun(consumer, t.key);
    // As if the announce had never happened: no delivery, the state not recorded as announced, the job idle since.
    await env.DB.batch([
      env.DB.prepare("DELETE FROM webhook_deliveries WHERE id = ?").bind(messages[0]!.deliveryId),
      env.DB.prepare("UPDATE import_jobs SET announced_status = NULL, heartbeat_at = heartbeat_at - 600000 WHERE id = ?").bind(jobId),
    ]);
    const report = await sweep(consumer.env, config);
    expect(report.jobsAnnounced).toBeGreaterThanOrEqual(1);
    expect(takeWebhooks(consumer)).toEqual(messages);
    expect((await sweep(consumer.env, config)).jobsAnnounced).toBe(0);
    expect(takeWebhooks(consumer)).toEqual([]);
    // Its message lost: the delivery stays pending past its due time, and the sweeper sends it again.
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = next_attempt_at - 3600000 WHERE id = ?").bind(messages[0]!.deliveryId).run();
    expect((await sweep(consumer.env, config)).deliveriesResent).toBe(1);
    expect(takeWebhooks(consumer)).toEqual(messages);
    expect((await deliveries(t.key, endpoint.id)).map((d) => d.status)).toEqual(["pending"]);
  });

  it("list the delivery log newest first, a page at a time", async () => {
    const { t, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) jobs.push((await importRun(consumer, t.key)).jobId);
    const first = (await (await send(t.key, "GET", `${ENDPOINTS}/${endpoint.id}/deliveries?limit=2`)).json()) as { data: { job_id: string }[]; next_cursor: string };
    const second = (await (await send(t.key, "GET", `${ENDPOINTS}/${endpoint.id}/deliveries?limit=2&cursor=${first.next_cursor}`)).json()) as {
      data: { job_id: string }[];
      next_cursor: string | null;
    };
    expect([...first.data, ...second.data].map((d) => d.job_id)).toEqual([...jobs].reverse());
    expect(second.next_cursor).toBeNull();
    const tooMany = await send(t.key, "GET", `${ENDPOINTS}/${endpoint.id}/deliveries?limit=101`);
    expect(tooMany.status).toBe(400);
  });

  it("of a deleted endpoint are given up, not attempted", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 200 }]);
    const { messages } = await importRun(consumer, t.key);
    expect((await send(t.key, "DELETE", `${ENDPOINTS}/${endpoint.id}`)).status).toBe(204);
    expect((await handle(consumer.env, messages[0])).result.explicitAcks).toHaveLength(1);
    expect(await outboundRequests(hook)).toEqual([]);
    const row = await env.DB.prepare("SELECT status, last_error FROM webhook_deliveries WHERE id = ?").bind(messages[0]!.deliveryId).first();
    expect(row).toEqual({ status: "failed", last_error: "the endpoint was deleted" });
  });

  it("are purged by the sweeper with their attempts after JOB_RETENTION_DAYS", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 200 }]);
    const { messages } = await importRun(consumer, t.key);
    await handle(consumer.env, messages[0]);
    const id = messages[0]!.deliveryId;
    await env.DB.prepare("UPDATE webhook_deliveries SET created_at = created_at - ? WHERE id = ?").bind(config.jobRetentionMs + 60_000, id).run();
    expect((await sweep(consumer.env, config)).deliveriesPurged).toBeGreaterThanOrEqual(1);
    expect(await deliveries(t.key, endpoint.id)).toEqual([]);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM webhook_attempts WHERE delivery_id = ?").bind(id).first()).toEqual({ n: 0 });
  });

  it("are purged more than one statement's bound parameters' worth at a time", async () => {
    const { t, endpoint } = await tenantWithEndpoint();
    const old = Date.now() - config.jobRetentionMs - 60_000;
    const insert = env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_type, job_id, payload, status, attempts, created_at, updated_at) VALUES (?, ?, ?, 'import.completed', 'imp_x', '{}', 'succeeded', 1, ?, ?)",
    );
    const attempt = env.DB.prepare("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms) VALUES (?, 1, ?, 200, 5)");
    const ids = Array.from({ length: 150 }, (_, i) => `msg_purge_${t.tenantId}_${i}`);
    await env.DB.batch(ids.flatMap((id) => [insert.bind(id, endpoint.id, t.tenantId, old, old), attempt.bind(id, old)]));
    const consumer = webhookConsumer();
    expect((await sweep(consumer.env, config)).deliveriesPurged).toBeGreaterThanOrEqual(150);
    expect(await deliveries(t.key, endpoint.id)).toEqual([]);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM webhook_attempts WHERE delivery_id LIKE ?").bind(`msg_purge_${t.tenantId}_%`).first()).toEqual({ n: 0 });
  });

  it("go to each of 20 endpoints subscribed to the event, more than one statement's bound parameters' worth", async () => {
    const t = await createTenant();
    const endpoints = [];
    for (let i = 0; i < 20; i++) endpoints.push(await createEndpoint(t.key, { url: outboundUrl(outboundId(), "/hook"), events: ["import.completed"] }));
    const consumer = webhookConsumer();
    const { jobId, messages } = await importRun(consumer, t.key);
    const made = [];
    for (const endpoint of endpoints) made.push(...(await deliveries(t.key, endpoint.id)));
    expect(made).toHaveLength(20);
    for (const d of made) expect(d).toMatchObject({ event_type: "import.completed", job_id: jobId, status: "pending" });
    expect(messages.map((m) => m.deliveryId).sort()).toEqual(made.map((d) => d.id).sort());
  });

  it("run one chain of attempts however many messages a delivery has: a second one records nothing, and a pending delivery is not redelivered", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    // Slow answers: both messages read the delivery before either attempt is recorded.
    await scriptOutbound(hook, [{ status: 500, delayMs: 300 }, { status: 500, delayMs: 300 }]);
    const { messages } = await importRun(consumer, t.key);
    const [message] = messages;
    const refused = await send(t.key, "POST", `${ENDPOINTS}/${endpoint.id}/deliveries/${message!.deliveryId}/redeliver`);
    expect(refused.status).toBe(409);
    expect((await refused.json()) as { detail: string }).toMatchObject({ detail: expect.stringContaining("still pending") });
    // Two messages of the same delivery, both taken before either recorded its attempt (a resend while the first
    // waited): one attempt is recorded and retried, the other ends.
    const [first, second] = await Promise.all([handle(consumer.env, message), handle(consumer.env, message)]);
    const retried = [first, second].filter((r) => r.result.retryMessages.length > 0);
    expect(retried).toHaveLength(1);
    const detail = await delivery(t.key, endpoint.id, message!.deliveryId);
    expect(detail).toMatchObject({ status: "pending", attempts: 1 });
    expect(detail.attempts_log).toHaveLength(1);
    expect((await getEndpoint(t.key, endpoint.id)).consecutive_failures).toBe(1);
  });

  it("are retried, unsent, while the Worker cannot open the secret (ENCRYPTION_KEY missing); a malformed message is dropped", async () => {
    const { t, hook, endpoint } = await tenantWithEndpoint();
    const consumer = webhookConsumer();
    await scriptOutbound(hook, [{ status: 200 }]);
    const { messages } = await importRun(consumer, t.key);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { result, retryDelay } = await handle({ ...consumer.env, ENCRYPTION_KEY: undefined }, messages[0], { attempts: 1 });
    expect(result.retryMessages).toHaveLength(1);
    expect(retryDelay).toBe(60);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(warn.mock.calls[0]![0]))).toMatchObject({ level: "warn", msg: "webhook delivery failed, retrying", delivery_id: messages[0]!.deliveryId });
    expect(await outboundRequests(hook)).toEqual([]);
    expect((await deliveries(t.key, endpoint.id))[0]).toMatchObject({ status: "pending", attempts: 0 });

    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect((await handle(consumer.env, { job: "x" })).result.explicitAcks).toHaveLength(1);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ level: "error", msg: "malformed webhook message dropped" });
  });
});
