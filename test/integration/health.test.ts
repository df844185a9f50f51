import { describe, expect, it, vi } from "vitest";
import { request } from "../helpers.ts";

describe("GET /health", () => {
  it("answers ok after querying D1, without authentication", async () => {
    const res = await request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("GET /health when D1 fails", () => {
  it("answers a 503 problem", async () => {
    const { env } = await import("cloudflare:workers");
    const { createApp } = await import("../../src/app.ts");
    const failingSession = {
      prepare: () => ({ first: () => Promise.reject(new Error("D1_ERROR: network connection lost")) }),
      getBookmark: () => null,
    };
    const brokenDb = { ...env.DB, withSession: () => failingSession };
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await createApp().fetch(new Request("https://api.test/health"), { ...env, DB: brokenDb }, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ type: "/problems/unavailable", status: 503 });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(logged.mock.calls[0]?.[0]))).toMatchObject({ level: "error", msg: "health check failed", error_code: "D1_ERROR" });
    logged.mockRestore();
  });
});
