// /api/v1/webhook-endpoints through HTTP: create (the secret once), list, get, update, delete, rotate, enable; the scope,
// the URL guard, the limits, and a server without ENCRYPTION_KEY.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { webhookEventTypes } from "../../src/model/webhook-events.ts";
import { MAX_ENDPOINTS } from "../../src/webhooks/endpoints.ts";
import { createTenant, problemOf, request } from "../helpers.ts";
import { outboundId, outboundUrl } from "../outbound-helpers.ts";
import { createEndpoint, ENDPOINTS, type Endpoint, getEndpoint, send } from "../webhook-helpers.ts";

const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe("webhook endpoints", () => {
  it("are created with a secret shown once, then listed, read, updated and deleted", async () => {
    const t = await createTenant();
    const url = outboundUrl(outboundId(), "/hook");
    const res = await send(t.key, "POST", ENDPOINTS, { url, events: ["import.completed", "import.failed"], description: "ERP" });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Endpoint & { secret: string };
    expect(res.headers.get("location")).toBe(`${ENDPOINTS}/${created.id}`);
    expect(created).toMatchObject({ url, events: ["import.completed", "import.failed"], description: "ERP", enabled: true, disabled_reason: null, consecutive_failures: 0 });
    expect(created.secret).toMatch(SECRET);

    const read = await getEndpoint(t.key, created.id);
    expect(read).not.toHaveProperty("secret");
    expect(read).toMatchObject({ id: created.id, url });
    // The secret is sealed at rest, not stored as it is.
    const row = await env.DB.prepare("SELECT secret_sealed FROM webhook_endpoints WHERE id = ?").bind(created.id).first<{ secret_sealed: string }>();
    expect(row!.secret_sealed).not.toContain(created.secret.slice(6));

    const list = await request(ENDPOINTS, { key: t.key });
    expect(((await list.json()) as { data: Endpoint[] }).data.map((e) => e.id)).toEqual([created.id]);

    const patched = await send(t.key, "PATCH", `${ENDPOINTS}/${created.id}`, { events: ["revert.completed"], description: null });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ url, events: ["revert.completed"], description: null });

    expect((await send(t.key, "DELETE", `${ENDPOINTS}/${created.id}`)).status).toBe(204);
    expect((await request(`${ENDPOINTS}/${created.id}`, { key: t.key })).status).toBe(404);
    expect((await send(t.key, "DELETE", `${ENDPOINTS}/${created.id}`)).status).toBe(404);
  });

  it("need the scope webhooks:manage, and a tenant sees only its own", async () => {
    const owner = await createTenant();
    const endpoint = await createEndpoint(owner.key, { url: outboundUrl(outboundId()), events: ["import.completed"] });
    const importer = await createTenant(["imports:read", "imports:write", "products:read"]);
    const refused = await request(ENDPOINTS, { key: importer.key });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toMatchObject({ required_scope: "webhooks:manage" });
    const other = await createTenant(["webhooks:manage"]);
    expect((await request(`${ENDPOINTS}/${endpoint.id}`, { key: other.key })).status).toBe(404);
    expect((await send(other.key, "POST", `${ENDPOINTS}/${endpoint.id}/rotate-secret`)).status).toBe(404);
    expect(((await (await request(ENDPOINTS, { key: other.key })).json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("refuse a URL the outbound guard refuses (422 url-refused, naming why), unknown events and unbounded fields", async () => {
    const t = await createTenant(["webhooks:manage"]);
    const port = inject("outboundPort");
    for (const url of ["ftp://example.com/hook", `http://127.0.0.2:${port}/hook`, "https://10.0.0.1/hook", "https://169.254.169.254/latest"]) {
      const res = await send(t.key, "POST", ENDPOINTS, { url, events: ["import.completed"] });
      expect(res.status, url).toBe(422);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/url-refused", detail: expect.stringMatching(/^The url is refused: .+/) });
    }
    const invalid = await send(t.key, "POST", ENDPOINTS, { url: outboundUrl(outboundId()), events: ["import.done", "import.completed", "import.completed"] });
    expect(invalid.status).toBe(400);
    const names = (await problemOf(invalid)).errors!.map((e) => e.name);
    expect(names).toContain("events.0");
    const empty = await send(t.key, "POST", ENDPOINTS, { url: outboundUrl(outboundId()), events: [] });
    expect((await problemOf(empty)).errors!.map((e) => e.name)).toEqual(["events"]);
    const long = await send(t.key, "POST", ENDPOINTS, { url: outboundUrl(outboundId()), events: ["import.completed"], description: "x".repeat(501) });
    expect((await problemOf(long)).errors!.map((e) => e.name)).toEqual(["description"]);
    const extra = await send(t.key, "POST", ENDPOINTS, { url: outboundUrl(outboundId()), events: ["import.completed"], secret: "whsec_mine" });
    expect(extra.status).toBe(400);
    // Updates are checked the same way.
    const endpoint = await createEndpoint(t.key, { url: outboundUrl(outboundId()), events: [...webhookEventTypes] });
    const moved = await send(t.key, "PATCH", `${ENDPOINTS}/${endpoint.id}`, { url: "https://192.168.1.1/hook" });
    expect(moved.status).toBe(422);
    expect((await getEndpoint(t.key, endpoint.id)).url).toBe(endpoint.url);
  });

  it(`are at most ${MAX_ENDPOINTS} per tenant (409 limit-reached)`, async () => {
    const t = await createTenant(["webhooks:manage"]);
    for (let i = 0; i < MAX_ENDPOINTS; i++) await createEndpoint(t.key, { url: outboundUrl(outboundId()), events: ["import.completed"] });
    const res = await send(t.key, "POST", ENDPOINTS, { url: outboundUrl(outboundId()), events: ["import.completed"] });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/limit-reached" });
    const page = await request(`${ENDPOINTS}?limit=15`, { key: t.key });
    const first = (await page.json()) as { data: Endpoint[]; next_cursor: string };
    const rest = (await (await request(`${ENDPOINTS}?limit=15&cursor=${first.next_cursor}`, { key: t.key })).json()) as { data: Endpoint[]; next_cursor: null };
    expect(first.data.length + rest.data.length).toBe(MAX_ENDPOINTS);
    expect(rest.next_cursor).toBeNull();
  });

  it("rotate their secret: a new one, shown once, with the previous one's overlap", async () => {
    const t = await createTenant(["webhooks:manage"]);
    const endpoint = await createEndpoint(t.key, { url: outboundUrl(outboundId()), events: ["import.completed"] });
    const res = await send(t.key, "POST", `${ENDPOINTS}/${endpoint.id}/rotate-secret`);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as Endpoint & { secret: string };
    expect(rotated.secret).toMatch(SECRET);
    expect(rotated.secret).not.toBe(endpoint.secret);
    const overlapMs = Date.parse(rotated.previous_secret_expires_at!) - Date.now();
    expect(overlapMs).toBeGreaterThan(23 * 3_600_000);
    expect(overlapMs).toBeLessThanOrEqual(24 * 3_600_000);
  });

  it("answer 503 unavailable, not 500, when the server has no ENCRYPTION_KEY", async () => {
    const t = await createTenant(["webhooks:manage"]);
    const req = new Request(`https://api.test${ENDPOINTS}`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
      body: JSON.stringify({ url: outboundUrl(outboundId()), events: ["import.completed"] }),
    });
    const res = await worker.fetch(req, { ...env, ENCRYPTION_KEY: undefined }, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/unavailable", detail: expect.stringContaining("ENCRYPTION_KEY") });
    expect(((await (await request(ENDPOINTS, { key: t.key })).json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("and what is sent to them are in the OpenAPI document: the event types, the payload and the signature headers", async () => {
    const doc = (await (await request("/api/v1/openapi.json")).json()) as {
      webhooks: Record<string, { post: { parameters: { name: string; in: string }[]; requestBody: { content: Record<string, { schema: { $ref: string } }> } } }>;
      components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
    };
    const event = doc.webhooks.jobEvent!.post;
    expect(event.parameters.filter((p) => p.in === "header").map((p) => p.name)).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    expect(event.requestBody.content["application/json"]!.schema.$ref).toBe("#/components/schemas/WebhookEvent");
    expect(doc.components.schemas.WebhookEvent!.properties.type!.enum).toEqual([...webhookEventTypes]);
  });
});
