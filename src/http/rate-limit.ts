// Per-key request limits: each API key has a budget per class of route, counted by Cloudflare's Workers Rate Limiting
// binding (one binding per class, [[ratelimits]] in wrangler.toml). The binding answers only "within the limit or
// not", so the headers say what the configuration says (RateLimit-Policy) and, on a refusal, when the window ends
// (RateLimit, Retry-After); see the README's "Rate limits" for what is approximate.
import type { MiddlewareHandler } from "hono";
import { bearerKey } from "./auth.ts";
import type { AppEnv } from "./context.ts";
import { ProblemError } from "./problem.ts";
import { rateLimitBindings, readConfig, type RateLimitClass, type RateLimitPolicy } from "../config.ts";
import { sha256Hex } from "../hash.ts";

/** The class of a route that does not name one: reads are GETs, anything else manages something. */
export function defaultRateLimitClass(method: string): RateLimitClass {
  return method.toLowerCase() === "get" ? "reads" : "management";
}

/**
 * Counts the request against its key's budget for `cls` and refuses it (429) past the limit. Runs before the key is
 * looked up, so a flood costs no database reads; a request without a well-formed key is left to authentication (401).
 */
export function rateLimit(cls: RateLimitClass): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = bearerKey(c.req.header("authorization"));
    if (key === null) return next();
    const policy = readConfig(c.env).rateLimits[cls];
    const policyHeader = `"${cls}";q=${policy.limit};w=${policy.period}`;
    // Derived from the key, so that the counter's name is neither the key nor the hash stored for it.
    const { success } = await c.env[rateLimitBindings[cls]].limit({ key: await sha256Hex(`rate-limit:${key}`) });
    if (!success) throw tooManyRequests(cls, policy, policyHeader);
    await next();
    c.header("ratelimit-policy", policyHeader);
  };
}

function tooManyRequests(cls: RateLimitClass, policy: RateLimitPolicy, policyHeader: string): ProblemError {
  const reset = secondsToWindowEnd(policy.period, Date.now());
  return new ProblemError(
    "rate-limited",
    `This API key has made more than ${policy.limit} ${cls} requests in ${policy.period} seconds; retry after ${reset} seconds.`,
    { headers: { "retry-after": String(reset), "ratelimit-policy": policyHeader, ratelimit: `"${cls}";r=0;t=${reset}` } },
  );
}

/** Seconds until the current fixed window of `period` seconds ends, at least 1. */
function secondsToWindowEnd(period: number, now: number): number {
  return Math.max(1, period - (Math.floor(now / 1000) % period));
}
