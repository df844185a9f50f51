// The upload client's rules (scripts/lib/upload-client.ts), tested on their own: no test here starts `wrangler dev`
// (the Node tests run the key CLI against a scratch D1 and read the OpenAPI document), so the command's requests are
// not driven end to end; the API side of sessions is tested in test/integration/upload-sessions.test.ts.
import { describe, expect, it } from "vitest";
import {
  api,
  ApiError,
  isRetryable,
  MAX_ATTEMPTS,
  mediaTypeOf,
  parseResumeState,
  partRange,
  partsToSend,
  progressLine,
  type ResumeState,
  resumableSession,
  retryDelay,
  rowsPerSecond,
  runBounded,
  stillMoving,
  type Job,
} from "../../scripts/lib/upload-client.ts";
import { jobStates } from "../../src/model/job-states.ts";
import { planParts } from "../../src/model/upload-session.ts";

const MiB = 1024 * 1024;

/** A session of `size` bytes cut as the API cuts it, with the given parts received. */
function session(size: number, received: [number, number][] = []) {
  const plan = planParts(size);
  return { size, part_size: plan.partSize, part_count: plan.partCount, parts: received.map(([number, bytes]) => ({ number, size: bytes, etag: `e${number}` })) };
}

describe("part planning", () => {
  it("cuts a file into parts of the part size and a last part of the rest, covering every byte once", () => {
    const s = session(12 * MiB + 7);
    expect([s.part_size, s.part_count]).toEqual([5 * MiB, 3]);
    expect([1, 2, 3].map((n) => partRange(s, n))).toEqual([
      { start: 0, end: 5 * MiB },
      { start: 5 * MiB, end: 10 * MiB },
      { start: 10 * MiB, end: 12 * MiB + 7 },
    ]);
  });

  it("sends a file smaller than a part as one part, and one of exactly n parts without an empty last part", () => {
    expect(partRange(session(10), 1)).toEqual({ start: 0, end: 10 });
    const exact = session(10 * MiB);
    expect(exact.part_count).toBe(2);
    expect(partRange(exact, 2)).toEqual({ start: 5 * MiB, end: 10 * MiB });
  });

  it("keeps within R2's 10,000 parts and the 100 MiB a request may carry, with larger parts only where needed", () => {
    expect(planParts(5 * 1024 * MiB)).toEqual({ partSize: 5 * MiB, partCount: 1024 });
    expect(planParts(10_000 * 5 * MiB)).toEqual({ partSize: 5 * MiB, partCount: 10_000 });
    expect(planParts(10_000 * 5 * MiB + 1)).toEqual({ partSize: 6 * MiB, partCount: 8334 });
    expect(planParts(10_000 * 100 * MiB)).toEqual({ partSize: 100 * MiB, partCount: 10_000 });
  });
});

describe("resume selection", () => {
  it("sends the parts not received, and again those received with another size", () => {
    expect(partsToSend(session(12 * MiB + 7))).toEqual([1, 2, 3]);
    expect(partsToSend(session(12 * MiB + 7, [[2, 5 * MiB]]))).toEqual([1, 3]);
    expect(partsToSend(session(12 * MiB + 7, [[1, 5 * MiB], [2, 5 * MiB], [3, 2 * MiB + 7]]))).toEqual([]);
    expect(partsToSend(session(12 * MiB + 7, [[1, 5 * MiB], [2, 5 * MiB], [3, 2 * MiB]]))).toEqual([3]);
  });

  const saved: ResumeState = { url: "http://localhost:8787", file: { size: 100, mtimeMs: 5 }, gzip: true, sessionId: "ups_1", compressedPath: "/tmp/x/a.csv.gz" };
  const current = { url: "http://localhost:8787", file: { size: 100, mtimeMs: 5 }, gzip: true };

  it("resumes the saved session only for the same API, the same unchanged file and the same compression", () => {
    expect(resumableSession(saved, current)).toBe("ups_1");
    expect(resumableSession(null, current)).toBeNull();
    expect(resumableSession(saved, { ...current, url: "https://api.example.com" })).toBeNull();
    expect(resumableSession(saved, { ...current, gzip: false })).toBeNull();
    expect(resumableSession(saved, { ...current, file: { size: 101, mtimeMs: 5 } })).toBeNull();
    expect(resumableSession(saved, { ...current, file: { size: 100, mtimeMs: 6 } })).toBeNull();
  });

  it("reads back the state it wrote, and nothing else", () => {
    expect(parseResumeState(JSON.stringify(saved))).toEqual(saved);
    expect(parseResumeState(JSON.stringify({ ...saved, compressedPath: null }))).toEqual({ ...saved, compressedPath: null });
    expect(parseResumeState(null)).toBeNull();
    expect(parseResumeState("{not json")).toBeNull();
    expect(parseResumeState(JSON.stringify({ ...saved, sessionId: 7 }))).toBeNull();
    expect(parseResumeState(JSON.stringify({ ...saved, file: { size: 100 } }))).toBeNull();
  });

  it("sends a file as the API takes it, by its name (a compressed one by the name before .gz)", () => {
    expect(mediaTypeOf("products.csv")).toBe("text/csv");
    expect(mediaTypeOf("feed.NDJSON")).toBe("application/x-ndjson");
    expect(mediaTypeOf("feed.jsonl.gz")).toBe("application/x-ndjson");
    expect(mediaTypeOf("products.xlsx")).toBeNull();
  });
});

describe("retries and concurrency", () => {
  it("retries what may pass on a second try, and nothing the request itself got wrong", () => {
    for (const status of [408, 429, 500, 502, 503]) expect(isRetryable(status), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 411, 413, 422]) expect(isRetryable(status), String(status)).toBe(false);
  });

  it("backs off exponentially with jitter, capped, or waits what Retry-After says", () => {
    expect([1, 2, 3, 10].map((attempt) => retryDelay(attempt, null, () => 1))).toEqual([1000, 2000, 4000, 15_000]);
    expect(retryDelay(3, null, () => 0)).toBe(0);
    expect(retryDelay(1, "5")).toBe(5000);
    expect(retryDelay(1, "600")).toBe(15_000);
  });

  it("retries a network error and a 503 until the request passes, and stops at once on a 4xx", async () => {
    const answers: (Response | Error)[] = [new Error("socket hang up"), new Response("", { status: 503, headers: { "retry-after": "0" } }), Response.json({ id: "ups_1" })];
    const sent: string[] = [];
    const retries: number[] = [];
    const call = api({
      url: "http://api.test/",
      key: "pik_x",
      fetch: (async (input: string, init: RequestInit) => {
        sent.push(`${init.method} ${input} ${(init.headers as Record<string, string>).authorization}`);
        const answer = answers.shift()!;
        if (answer instanceof Error) throw answer;
        return answer;
      }) as typeof fetch,
      sleep: async () => {},
      onRetry: (_what, attempt) => retries.push(attempt),
    });
    expect(await call("GET", "/api/v1/uploads/ups_1")).toEqual({ status: 200, body: { id: "ups_1" } });
    expect(sent).toEqual(Array(3).fill("GET http://api.test/api/v1/uploads/ups_1 Bearer pik_x"));
    expect(retries).toEqual([1, 2]);

    const refused = api({
      url: "http://api.test",
      key: "pik_x",
      fetch: (async () => Response.json({ type: "/problems/upload-incomplete", detail: "2 of the session's 3 parts have not been received" }, { status: 409 })) as typeof fetch,
      sleep: async () => {},
    });
    const error = await refused("POST", "/api/v1/uploads/ups_1/complete", { what: "completing" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, message: "completing: 409 2 of the session's 3 parts have not been received" });
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts`, async () => {
    let attempts = 0;
    const call = api({ url: "http://api.test", key: "pik_x", fetch: (async () => (attempts++, new Response("", { status: 500 }))) as typeof fetch, sleep: async () => {} });
    await expect(call("PUT", "/x", { what: "sending part 1" })).rejects.toMatchObject({ status: 500 });
    expect(attempts).toBe(MAX_ATTEMPTS);
  });

  it("runs at most `concurrency` pieces of work at once, and stops taking new work after a failure", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const started: number[] = [];
    const failure = runBounded([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 2) throw new Error("part 2 refused");
      await new Promise((r) => setTimeout(r, 5));
    });
    await expect(failure).rejects.toThrow("part 2 refused");
    // Part 1 was running when part 2 failed; nothing started after.
    expect(started).toEqual([1, 2]);
  });
});

describe("the progress line", () => {
  const job: Job = {
    id: "imp_1",
    status: "processing",
    waiting_for: null,
    processed_rows: 250_000,
    created: 0,
    updated: 0,
    unchanged: 0,
    rejected_rows: 0,
    skipped_rows: 0,
    error_count: 3,
    warning_count: 0,
    failure_reason: null,
    duration_ms: null,
    would_archive: null,
  };

  it("says rows processed, rows per second and errors while the job runs", () => {
    const rate = rowsPerSecond({ rows: 50_000, at: 1000 }, { rows: 250_000, at: 5000 });
    expect(rate).toBe(50_000);
    expect(progressLine(job, rate)).toBe("imp_1 processing: 250,000 rows processed, 50,000 rows/s, 3 errors");
    expect(progressLine(job, rowsPerSecond(null, { rows: 1, at: 1 }))).toBe("imp_1 processing: 250,000 rows processed, – rows/s, 3 errors");
  });

  it("says what a job waits for, and how it ended", () => {
    expect(progressLine({ ...job, status: "queued", waiting_for: "imp_0", processed_rows: 0 }, null)).toBe("imp_1 queued, waiting for imp_0");
    expect(progressLine({ ...job, status: "completed", created: 249_000, updated: 997, rejected_rows: 3, duration_ms: 12_345 }, null)).toBe(
      "imp_1 completed: 250,000 rows (249,000 created, 997 updated, 0 unchanged, 3 rejected, 0 skipped), 3 errors, 0 warnings, 12.3 s",
    );
    expect(progressLine({ ...job, status: "failed", failure_reason: "Line 1: no sku column." }, null)).toBe("imp_1 failed after 250,000 rows: Line 1: no sku column.");
    expect(progressLine({ ...job, status: "canceled" }, null)).toBe("imp_1 canceled after 250,000 rows (the rows committed before the cancel stay)");
  });

  it("follows a job while the consumer moves it, and stops once it ended or waits for its client", () => {
    const following = jobStates.filter((status) => stillMoving({ status }));
    expect(following).toEqual(["pending", "queued", "processing"]);
    expect(progressLine({ ...job, status: "needs_confirmation", would_archive: 1200 }, null)).toContain("archiving would set 1,200 products");
  });
});
