// outboundFetch against the test's own server: what webhooks and feeds rely on when they reach a tenant's URL.
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { OutboundBodyError, outboundFetch, type OutboundLimits } from "../../src/outbound/fetch.ts";
import { outboundId, outboundRequests, outboundUrl, scriptOutbound } from "../outbound-helpers.ts";

const policy = { allowLocalhost: true };
const limits: OutboundLimits = { headersTimeoutMs: 2_000, totalTimeoutMs: 4_000, maxBytes: 1_000 };

afterEach(() => vi.restoreAllMocks());

describe("outboundFetch", () => {
  it("returns the response of an allowed URL and sends what it was given", async () => {
    const id = outboundId();
    await scriptOutbound(id, [{ status: 200, headers: { etag: '"v1"' }, body: "sku,name\nA,Apple\n" }]);
    const result = await outboundFetch(outboundUrl(id, "/feed.csv"), { method: "POST", headers: { "x-test": "1" }, body: "hello" }, policy, limits);
    expect(result.kind).toBe("response");
    if (result.kind !== "response") return;
    expect(result.response.status).toBe(200);
    expect(result.response.headers.get("etag")).toBe('"v1"');
    expect(await result.response.text()).toBe("sku,name\nA,Apple\n");
    expect(result.redirects).toBe(0);
    const [received] = await outboundRequests(id);
    expect(received).toMatchObject({ method: "POST", path: `/s/${id}/feed.csv`, body: "hello" });
    expect(received!.headers["x-test"]).toBe("1");
  });

  it("refuses a URL before any request is made", async () => {
    const spy = vi.spyOn(globalThis, "fetch");
    const port = inject("outboundPort");
    for (const url of [`http://127.0.0.2:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, `http://0.0.0.0:${port}/`, "https://feeds.invalid.localhost/", "https://no-such-host-for-tests/"]) {
      const result = await outboundFetch(url, {}, policy, limits);
      expect(result, url).toMatchObject({ kind: "refused", url });
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("follows redirects, checking each target, and refuses one to a refused address without requesting it", async () => {
    const id = outboundId();
    const port = inject("outboundPort");
    const refusedTarget = `http://127.0.0.2:${port}/s/${id}/inside`;
    await scriptOutbound(id, [{ redirectTo: outboundUrl(id, "/second") }, { status: 307, redirectTo: refusedTarget }]);
    const spy = vi.spyOn(globalThis, "fetch");
    const result = await outboundFetch(outboundUrl(id, "/first"), {}, policy, limits);
    expect(result).toMatchObject({ kind: "refused", url: refusedTarget });
    if (result.kind === "refused") expect(result.reason).toMatch(/redirect went to a refused URL: the address 127\.0\.0\.2 is a loopback/);
    expect(spy.mock.calls.map(([input]) => String(input instanceof Request ? input.url : input))).toEqual([outboundUrl(id, "/first"), outboundUrl(id, "/second")]);
    expect((await outboundRequests(id)).map((r) => r.path)).toEqual([`/s/${id}/first`, `/s/${id}/second`]);
  });

  it("follows at most three redirects; a 303 goes on as a GET without the body", async () => {
    const id = outboundId();
    await scriptOutbound(id, [{ status: 303, redirectTo: outboundUrl(id, "/2") }, { redirectTo: outboundUrl(id, "/3") }, { redirectTo: outboundUrl(id, "/4") }, { body: "end" }]);
    const three = await outboundFetch(outboundUrl(id, "/1"), { method: "POST", body: "payload" }, policy, limits);
    expect(three).toMatchObject({ kind: "response", redirects: 3 });
    const received = await outboundRequests(id);
    expect(received.map((r) => [r.method, r.body])).toEqual([["POST", "payload"], ["GET", ""], ["GET", ""], ["GET", ""]]);

    const loop = outboundId();
    await scriptOutbound(loop, [{ redirectTo: outboundUrl(loop, "/again") }]);
    expect(await outboundFetch(outboundUrl(loop), {}, policy, limits)).toMatchObject({ kind: "failed", reason: "too_many_redirects" });
    expect(await outboundRequests(loop)).toHaveLength(4);
  });

  it("passes a 304 through without a body", async () => {
    const id = outboundId();
    await scriptOutbound(id, [{ status: 304, headers: { etag: '"v1"' } }]);
    const result = await outboundFetch(outboundUrl(id), { headers: { "if-none-match": '"v1"' } }, policy, limits);
    expect(result).toMatchObject({ kind: "response" });
    if (result.kind === "response") expect(result.response.status).toBe(304);
    expect((await outboundRequests(id))[0]!.headers["if-none-match"]).toBe('"v1"');
  });

  it("fails a server that sends no headers in time, and errors a body that stalls past the total timeout", async () => {
    const slow = outboundId();
    await scriptOutbound(slow, [{ delayMs: 1_500, body: "late" }]);
    const waited = await outboundFetch(outboundUrl(slow), {}, policy, { ...limits, headersTimeoutMs: 200 });
    expect(waited).toMatchObject({ kind: "failed", reason: "timeout" });

    const stall = outboundId();
    await scriptOutbound(stall, [{ stallBodyMs: 1_500, body: "x".repeat(200) }]);
    const result = await outboundFetch(outboundUrl(stall), {}, policy, { ...limits, totalTimeoutMs: 300 });
    expect(result.kind).toBe("response");
    if (result.kind !== "response") return;
    const error = await result.response.text().then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(OutboundBodyError);
    expect((error as OutboundBodyError).reason).toBe("timeout");
  });

  it("errors a body larger than the cap", async () => {
    const id = outboundId();
    await scriptOutbound(id, [{ body: "y".repeat(5_000) }]);
    const result = await outboundFetch(outboundUrl(id), {}, policy, limits);
    if (result.kind !== "response") throw new Error(result.kind);
    const error = await result.response.arrayBuffer().then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(OutboundBodyError);
    expect((error as OutboundBodyError).reason).toBe("too_large");
  });
});
