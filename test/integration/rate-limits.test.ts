// Per-key request budgets through the Workers Rate Limiting binding, with the configuration wrangler.toml gives it.
// Each flood sends exactly the configured number of requests, so the test also holds the [[ratelimits]] entries to
// the policy the headers announce (RATE_LIMIT_* vars, or their defaults).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig, type RateLimitClass } from "../../src/config.ts";
import { addKey, createTenant, problemOf, request } from "../helpers.ts";

const policies = readConfig(env).rateLimits;

/** A cheap request of each class: refused by validation after it was counted. */
const cheapRequest: Record<RateLimitClass, (key: string) => Promise<Response>> = {
  uploads: (key) => request("/api/v1/products/import", { method: "POST", key, headers: { "content-type": "image/png", "content-length": "1" }, body: "x" }),
  management: (key) => request("/api/v1/import-profiles", { method: "POST", key, headers: { "content-type": "application/json" }, body: "{}" }),
  reads: (key) => request("/api/v1/products?limit=1", { key }),
};

/**
 * The binding counts in fixed windows of its period: a flood that could straddle a window's end waits for the next
 * window, so that every request of it is counted in one.
 */
async function startOfRoomyWindow(period: number, secondsNeeded: number): Promise<void> {
  const left = period - ((Date.now() / 1000) % period);
  if (left < secondsNeeded) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 50));
}

/** Sends `count` requests, a few at a time, and returns their statuses. */
async function flood(send: () => Promise<Response>, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < count; sent += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, count - sent) }, () => send().then(async (res) => (await res.arrayBuffer(), res))));
    statuses.push(...batch.map((res) => res.status));
  }
  return statuses;
}

describe("rate limits per API key", () => {
  it("announce each class's policy on every response to a request with a key, and none without one", async () => {
    const { key } = await createTenant();
    for (const [cls, send] of Object.entries(cheapRequest) as [RateLimitClass, (key: string) => Promise<Response>][]) {
      const res = await send(key);
      expect(res.status).not.toBe(429);
      expect(res.headers.get("ratelimit-policy")).toBe(`"${cls}";q=${policies[cls].limit};w=${policies[cls].period}`);
      expect(res.headers.has("ratelimit")).toBe(false);
    }
    const unauthenticated = await request("/api/v1/products");
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.has("ratelimit-policy")).toBe(false);
    // A route without a key (health, the document) has no budget.
    expect((await request("/api/v1/health")).headers.has("ratelimit-policy")).toBe(false);
  });

  for (const cls of ["uploads", "management", "reads"] as const) {
    it(`refuse the ${cls} request past the budget with a 429 problem, Retry-After and RateLimit, and leave the other classes and keys alone`, async () => {
      const { tenantId, key } = await createTenant();
      const otherKey = await addKey(tenantId, ["products:read", "imports:read", "imports:write"]);
      const { limit, period } = policies[cls];
      await startOfRoomyWindow(period, period / 2);

      const statuses = await flood(() => cheapRequest[cls](key), limit);
      expect(statuses.filter((s) => s === 429)).toEqual([]);

      const refused = await cheapRequest[cls](key);
      expect(refused.status).toBe(429);
      const problem = await problemOf(refused);
      expect(problem).toMatchObject({ type: "/problems/rate-limited", status: 429, title: "Too many requests" });
      expect(problem.detail).toContain(`more than ${limit} ${cls} requests in ${period} seconds`);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= period).toBe(true);
      expect(refused.headers.get("ratelimit")).toBe(`"${cls}";r=0;t=${retryAfter}`);
      expect(refused.headers.get("ratelimit-policy")).toBe(`"${cls}";q=${limit};w=${period}`);

      // The budget is the key's and the class's: another key of the tenant and the key's other classes still pass.
      expect((await cheapRequest[cls](otherKey)).status).not.toBe(429);
      for (const other of Object.keys(cheapRequest) as RateLimitClass[]) {
        if (other !== cls) expect((await cheapRequest[other](key)).status).not.toBe(429);
      }
    });
  }
});
