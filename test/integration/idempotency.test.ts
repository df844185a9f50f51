// The Idempotency-Key helper on a route without a file (as upload sessions' completion will be): the request alone
// decides, no content hash is kept, and a failed run frees the key. The upload's own cases are in imports-upload.test.ts.
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/http/context.ts";
import { idempotent } from "../../src/http/idempotency.ts";
import { ProblemError, problemResponse } from "../../src/http/problem.ts";
import { createTenant } from "../helpers.ts";

/** A route that takes a key and counts its runs; `?fail` makes the run throw. */
function countingApp(tenantId: string) {
  let runs = 0;
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("db", env.DB.withSession());
    c.set("caller", { tenantId, keyId: "key", scopes: [] });
    await next();
  });
  app.post("/complete", async (c) => {
    const request = await c.req.text();
    const response = await idempotent(c, {
      request: [request],
      differs: "other parts",
      run: async () => {
        if (c.req.query("fail") !== undefined) throw new Error("storage broke");
        runs += 1;
        return { status: 201, body: JSON.stringify({ run: runs }) };
      },
    });
    return new Response(response.body, { status: response.status, headers: response.replayed ? { "idempotent-replayed": "true" } : {} });
  });
  app.onError((err) => (err instanceof ProblemError ? problemResponse(err) : new Response(err.message, { status: 500 })));
  const send = (body: string, key?: string, query = "") =>
    app.fetch(new Request(`https://api.test/complete${query}`, { method: "POST", body, headers: key === undefined ? {} : { "idempotency-key": key } }));
  return { send, runs: () => runs };
}

describe("idempotent() without content", () => {
  it("runs every request without a key", async () => {
    const { send, runs } = countingApp((await createTenant()).tenantId);
    await send("parts=3");
    await send("parts=3");
    expect(runs()).toBe(2);
  });

  it("replays a repeat, keeps no content hash, and refuses another request under the key", async () => {
    const t = await createTenant();
    const { send, runs } = countingApp(t.tenantId);
    const first = await send("parts=3", "done-1");
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await send("parts=3", "done-1");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
    expect(runs()).toBe(1);
    const row = await env.DB.prepare("SELECT response_status, content_hash FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
      .bind(t.tenantId, "done-1")
      .first();
    expect(row).toEqual({ response_status: 201, content_hash: null });

    const other = await send("parts=4", "done-1");
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ type: "/problems/idempotency-key-reused", detail: expect.stringContaining("(other parts)") });
    expect(runs()).toBe(1);
  });

  it("frees the key when the run fails, so a retry runs", async () => {
    const { send, runs } = countingApp((await createTenant()).tenantId);
    expect((await send("parts=3", "done-2", "?fail")).status).toBe(500);
    const retry = await send("parts=3", "done-2");
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(runs()).toBe(1);
  });
});
