// Upload sessions through the HTTP API: a file sent in parts into local R2's multipart upload (miniflare's, which
// enforces R2's 5 MiB minimum for every part but the last), completed into an import job exactly as a direct upload of
// the file makes one, and that job imported by the queue handler. Completion messages are held by a recording queue
// (consumer-helpers.ts) and delivered here.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import { MAX_OPEN_SESSIONS } from "../../src/imports/jobs/upload-session.ts";
import type { UploadSessionJson } from "../../src/imports/jobs/upload-session-json.ts";
import { R2_MIN_PART_BYTES } from "../../src/model/upload-session.ts";
import { type ConsumerEnv, consumerEnv, overriding, productContents, requestHeld, runJob } from "../consumer-helpers.ts";
import { addKey, createTenant, problemOf, request } from "../helpers.ts";
import { accepted, bodyStream, getJob, type Job, jobRowsOf, storedObjectKeys, upload, uploadStream } from "../imports-helpers.ts";

const UPLOADS = "/api/v1/uploads";
const PART = R2_MIN_PART_BYTES;
const HOUR = 3_600_000;
const config = readConfig({ DB: env.DB, UPLOADS: env.UPLOADS, IMPORT_QUEUE: env.IMPORT_QUEUE });
const encoder = new TextEncoder();

/**
 * A valid CSV file of at least `minBytes`: rows with long descriptions, so that a file of three parts is about a
 * thousand rows (a quick import) and still spans parts of R2's minimum size.
 */
function catalog(minBytes: number, prefix = "P"): Uint8Array {
  const description = "d".repeat(9000);
  const rows = ["sku,name,price,stock,description"];
  let size = rows[0]!.length + 1;
  for (let i = 1; size < minBytes; i++) {
    const row = `${prefix}-${i},Product ${i},${i}.99,${i % 7},${description}`;
    rows.push(row);
    size += row.length + 1;
  }
  return encoder.encode(`${rows.join("\n")}\n`);
}

/** Three parts: two of the part size and a last one of the rest. */
const THREE_PARTS = catalog(2 * PART + 12_345);
const SMALL = encoder.encode("sku,name,price\nA-1,Shirt,19.99\nB-2,Mug,7\n");

function open(key: string, body: Record<string, unknown>): Promise<Response> {
  return request(UPLOADS, { method: "POST", key, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

async function opened(key: string, file: Uint8Array, extra: Record<string, unknown> = {}): Promise<UploadSessionJson> {
  const res = await open(key, { size: file.byteLength, filename: "catalog.csv", content_type: "text/csv", ...extra });
  if (res.status !== 201) throw new Error(`open answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The bytes of part `n` of `file` as the session cuts it. */
function partOf(session: UploadSessionJson, file: Uint8Array, n: number): Uint8Array {
  return file.subarray((n - 1) * session.part_size, Math.min(n * session.part_size, file.byteLength));
}

function putPart(key: string, id: string, n: number | string, bytes: Uint8Array): Promise<Response> {
  return request(`${UPLOADS}/${id}/parts/${n}`, {
    method: "PUT",
    key,
    body: bytes,
    headers: { "content-type": "application/octet-stream", "content-length": String(bytes.byteLength) },
  });
}

async function sendPart(key: string, session: UploadSessionJson, file: Uint8Array, n: number): Promise<{ number: number; size: number; etag: string }> {
  const res = await putPart(key, session.id, n, partOf(session, file, n));
  if (res.status !== 200) throw new Error(`part ${n} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function sessionOf(key: string, id: string): Promise<UploadSessionJson> {
  const res = await request(`${UPLOADS}/${id}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

function complete(consumer: ConsumerEnv, key: string, id: string, query = "", headers: Record<string, string> = {}): Promise<Response> {
  return requestHeld(consumer, `${UPLOADS}/${id}/complete${query}`, { method: "POST", key, headers });
}

/** A file sent whole through a session, every part in order. */
async function sentWhole(key: string, file: Uint8Array, extra: Record<string, unknown> = {}): Promise<UploadSessionJson> {
  const session = await opened(key, file, extra);
  for (let n = 1; n <= session.part_count; n++) await sendPart(key, session, file, n);
  return session;
}

/** What two jobs of the same file and options share: everything but their identity and timestamps. */
function comparable(job: Job) {
  const { id: _id, created_at: _c, queued_at: _q, links: _l, ...rest } = job;
  return rest;
}

/** Whether R2 still has the session's multipart upload: a part can be sent into it. */
async function multipartExists(tenantId: string, sessionId: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT object_key, r2_upload_id FROM upload_sessions WHERE id = ? AND tenant_id = ?")
    .bind(sessionId, tenantId)
    .first<{ object_key: string; r2_upload_id: string }>();
  if (!row) throw new Error(`no session ${sessionId}`);
  return uploadIdExists(row.object_key, row.r2_upload_id);
}

async function uploadIdExists(objectKey: string, uploadId: string): Promise<boolean> {
  try {
    await env.UPLOADS.resumeMultipartUpload(objectKey, uploadId).uploadPart(1, "probe");
    return true;
  } catch (err) {
    expect(String(err)).toContain("The specified multipart upload does not exist");
    return false;
  }
}

describe("opening a session", () => {
  it("answers where and how to send the parts, and when the session expires", async () => {
    const t = await createTenant();
    const before = Date.now();
    const res = await open(t.key, { size: THREE_PARTS.byteLength, filename: "catalog.csv", content_type: "text/csv" });
    expect(res.status).toBe(201);
    const session = (await res.json()) as UploadSessionJson;
    expect(res.headers.get("location")).toBe(`${UPLOADS}/${session.id}`);
    expect(session).toMatchObject({
      id: expect.stringMatching(/^ups_[0-9A-Za-z]{22}$/),
      status: "open",
      size: THREE_PARTS.byteLength,
      filename: "catalog.csv",
      content_type: "text/csv",
      content_encoding: null,
      charset: null,
      part_size: PART,
      part_count: 3,
      parts: [],
      bytes_received: 0,
      job_id: null,
      links: { self: `${UPLOADS}/${session.id}`, parts: `${UPLOADS}/${session.id}/parts/{n}`, complete: `${UPLOADS}/${session.id}/complete`, job: null },
    });
    const lifetime = Date.parse(session.expires_at) - Date.parse(session.created_at);
    expect(lifetime).toBe(24 * HOUR);
    expect(Date.parse(session.created_at)).toBeGreaterThanOrEqual(before - 1);
    expect(await sessionOf(t.key, session.id)).toEqual(session);
  });

  it("keeps what the file is: NDJSON, a charset, a gzip content encoding", async () => {
    const t = await createTenant();
    const session = await opened(t.key, SMALL, { content_type: "application/x-ndjson", content_encoding: "gzip", charset: "windows-1252", filename: "feed.ndjson.gz" });
    expect(session).toMatchObject({ content_type: "application/x-ndjson", content_encoding: "gzip", charset: "windows-1252", filename: "feed.ndjson.gz", part_count: 1 });
  });

  it("413 for a file over MAX_SESSION_BYTES, naming the limit; at the limit it opens", async () => {
    const t = await createTenant();
    const res = await open(t.key, { size: config.maxSessionBytes + 1, filename: "huge.csv", content_type: "text/csv" });
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/payload-too-large", max_bytes: config.maxSessionBytes });
    const atLimit = await opened(t.key, new Uint8Array(0), { size: config.maxSessionBytes });
    // R2's 5 MiB parts are fewer than its 10,000-part limit at the default 5 GiB.
    expect(atLimit).toMatchObject({ part_size: PART, part_count: Math.ceil(config.maxSessionBytes / PART) });
    expect(atLimit.part_count).toBeLessThanOrEqual(10_000);
  });

  it("400 naming each member that is wrong, missing or unknown; 415 for a body that is not JSON", async () => {
    const t = await createTenant();
    const res = await open(t.key, { size: 0, content_type: "text/plain", content_encoding: "br", charset: "ebcdic", extra: 1 });
    expect(res.status).toBe(400);
    const names = (await problemOf(res)).errors!.map((e) => `${e.location} ${e.name}`);
    expect(names).toEqual(expect.arrayContaining(["body size", "body filename", "body content_type", "body content_encoding", "body charset", "body (body)"]));
    const notJson = await request(UPLOADS, { method: "POST", key: t.key, body: "size=1", headers: { "content-type": "text/plain" } });
    expect(notJson.status).toBe(415);
    expect(await storedSessionCount(t.tenantId)).toBe(0);
  });

  it(`keeps at most ${MAX_OPEN_SESSIONS} sessions of a tenant open (409), and one more once one is aborted`, async () => {
    const t = await createTenant();
    const sessions = await Promise.all(Array.from({ length: MAX_OPEN_SESSIONS }, () => opened(t.key, SMALL)));
    const refused = await open(t.key, { size: 10, filename: "one-more.csv", content_type: "text/csv" });
    expect(refused.status).toBe(409);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/limit-reached", detail: expect.stringContaining(String(MAX_OPEN_SESSIONS)) });
    expect((await request(`${UPLOADS}/${sessions[0]!.id}`, { method: "DELETE", key: t.key })).status).toBe(204);
    await opened(t.key, SMALL);
    // Another tenant's sessions are its own.
    await opened((await createTenant()).key, SMALL);
  });
});

/** Compared by hash: a failing comparison of two 10 MB arrays would print them whole. */
async function sha256(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function storedSessionCount(tenantId: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM upload_sessions WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;
}

describe("sending parts", () => {
  it("takes parts out of order, lists them for a client that resumes, and lets a part sent again win", async () => {
    const t = await createTenant();
    const session = await opened(t.key, THREE_PARTS);
    const third = await sendPart(t.key, session, THREE_PARTS, 3);
    expect(third).toEqual({ number: 3, size: THREE_PARTS.byteLength - 2 * PART, etag: expect.any(String) });
    const first = await sendPart(t.key, session, THREE_PARTS, 1);

    // An interrupted client asks what arrived: parts 1 and 3, so it sends part 2.
    const resumed = await sessionOf(t.key, session.id);
    expect(resumed.parts).toEqual([first, third]);
    expect(resumed.bytes_received).toBe(PART + third.size);

    // Part 1 again, with other bytes of the same size, then as it should be: the last copy wins.
    const wrong = new Uint8Array(PART).fill(0x41);
    const replaced = (await (await putPart(t.key, session.id, 1, wrong)).json()) as typeof first;
    expect(replaced.etag).not.toBe(first.etag);
    const again = await sendPart(t.key, session, THREE_PARTS, 1);
    await sendPart(t.key, session, THREE_PARTS, 2);
    const all = await sessionOf(t.key, session.id);
    expect(all.parts.map((p) => [p.number, p.size])).toEqual([
      [1, PART],
      [2, PART],
      [3, third.size],
    ]);
    expect(all.parts[0]!.etag).toBe(again.etag);
    expect(all.bytes_received).toBe(THREE_PARTS.byteLength);

    const consumer = consumerEnv();
    const job = await accepted(await complete(consumer, t.key, session.id));
    const stored = await env.UPLOADS.get(`${t.tenantId}/${job.id}`);
    expect(await sha256(new Uint8Array(await stored!.arrayBuffer()))).toBe(await sha256(THREE_PARTS));
  });

  it("400 for a part of the wrong size, naming Content-Length and the size it must have; nothing is recorded", async () => {
    const t = await createTenant();
    const session = await opened(t.key, THREE_PARTS);
    const short = await putPart(t.key, session.id, 1, partOf(session, THREE_PARTS, 1).subarray(1));
    expect(short.status).toBe(400);
    expect((await problemOf(short)).errors).toEqual([
      { location: "header", name: "content-length", message: `must be ${PART} for part 1 of 3 (every part but the last has part_size (${PART}) bytes), not ${PART - 1}` },
    ]);
    const last = partOf(session, THREE_PARTS, 3);
    const long = await putPart(t.key, session.id, 3, new Uint8Array(last.byteLength + 1));
    expect(long.status).toBe(400);
    expect((await problemOf(long)).errors![0]!.message).toBe(`must be ${last.byteLength} for part 3 of 3 (the last part has the rest of the file), not ${last.byteLength + 1}`);
    expect((await sessionOf(t.key, session.id)).parts).toEqual([]);
  });

  it("400 for a part number out of the session's range or not a number; 411 without Content-Length", async () => {
    const t = await createTenant();
    const session = await opened(t.key, SMALL);
    const beyond = await putPart(t.key, session.id, 2, SMALL);
    expect(beyond.status).toBe(400);
    expect((await problemOf(beyond)).errors).toEqual([{ location: "path", name: "part_number", message: "must be at most 1, the session's part_count" }]);
    for (const n of ["0", "01", "x", "10001", "-1"]) {
      const res = await putPart(t.key, session.id, n, SMALL);
      expect(res.status, n).toBe(400);
      expect((await problemOf(res)).errors?.map((e) => e.name), n).toEqual(["part_number"]);
    }
    const unsized = await request(`${UPLOADS}/${session.id}/parts/1`, { method: "PUT", key: t.key, body: bodyStream(["abc"]), duplex: "half" } as RequestInit & { key: string });
    expect(unsized.status).toBe(411);
    expect(await problemOf(unsized)).toMatchObject({ type: "/problems/length-required", errors: [{ location: "header", name: "content-length", message: "is required" }] });
  });

  it("400 upload-interrupted for a part whose body breaks off; the part is not recorded and can be sent again", async () => {
    const t = await createTenant();
    const session = await opened(t.key, SMALL);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const res = await request(`${UPLOADS}/${session.id}/parts/1`, {
        method: "PUT",
        key: t.key,
        body: bodyStream(["sku,name"], "error"),
        headers: { "content-length": String(SMALL.byteLength) },
        duplex: "half",
      } as RequestInit & { key: string });
      expect(res.status).toBe(400);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/upload-interrupted", detail: expect.stringContaining("send it again") });
      expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)).msg)).toEqual(["upload part interrupted"]);
    } finally {
      warn.mockRestore();
    }
    expect((await sessionOf(t.key, session.id)).parts).toEqual([]);
    expect((await putPart(t.key, session.id, 1, SMALL)).status).toBe(200);
  });
});

describe("completing a session", () => {
  it("makes the job a direct upload of the file makes: same job JSON, Location and queue message, and it imports the same", async () => {
    const direct = await createTenant();
    const viaSession = await createTenant();
    const query = "?currency=EUR&on_invalid=skip_field";
    const directConsumer = consumerEnv();
    const directJob = await accepted(
      await requestHeld(directConsumer, `/api/v1/products/import${query}&filename=catalog.csv`, {
        method: "POST",
        key: direct.key,
        body: THREE_PARTS,
        headers: { "content-type": "text/csv", "content-length": String(THREE_PARTS.byteLength) },
      }),
    );

    const session = await sentWhole(viaSession.key, THREE_PARTS);
    const consumer = consumerEnv();
    const res = await complete(consumer, viaSession.key, session.id, query);
    expect(res.status).toBe(202);
    const job = (await res.json()) as Job;
    expect(res.headers.get("location")).toBe(`/api/v1/products/import/${job.id}`);
    expect(comparable(job)).toEqual(comparable(directJob));
    expect(job).toMatchObject({ status: "queued", file_name: "catalog.csv", size_bytes: THREE_PARTS.byteLength, options: { currency: "EUR", on_invalid: "skip_field" } });
    expect(consumer.sent).toEqual([{ jobId: job.id, checkpointByte: 0 }]);
    expect(directConsumer.sent).toEqual([{ jobId: directJob.id, checkpointByte: 0 }]);

    // The session is now its job's; the job list has the job, once.
    expect(await sessionOf(viaSession.key, session.id)).toMatchObject({ status: "completed", job_id: job.id, links: { job: `/api/v1/products/import/${job.id}` } });
    expect((await jobRowsOf(viaSession.tenantId)).map((j) => j.id)).toEqual([job.id]);

    await runJob(consumer, job.id);
    await runJob(directConsumer, directJob.id);
    const done = await getJob(viaSession.key, job.id);
    expect(done).toMatchObject({ status: "completed", rejected_rows: 0, error_count: 0 });
    expect(done.processed_rows).toBeGreaterThan(1000);
    expect(comparable(done)).toEqual({ ...comparable(await getJob(direct.key, directJob.id)), started_at: done.started_at, finished_at: done.finished_at, duration_ms: done.duration_ms, rows_per_second: done.rows_per_second });
    expect(await productContents(viaSession.tenantId)).toEqual(await productContents(direct.tenantId));
  });

  it("takes its place in its tenant's line when it is completed, not when it was opened", async () => {
    const t = await createTenant();
    const consumer = consumerEnv();
    const session = await sentWhole(t.key, SMALL);
    const upload = (body: string) =>
      requestHeld(consumer, "/api/v1/products/import", { method: "POST", key: t.key, body, headers: { "content-type": "text/csv", "content-length": String(body.length) } });
    const before = await accepted(await upload("sku,stock\nA-1,5\n"));
    const fromSession = await accepted(await complete(consumer, t.key, session.id));
    const after = await accepted(await upload("sku,stock\nA-1,9\n"));
    expect(before.waiting_for).toBeNull();
    expect(fromSession.waiting_for).toBe(before.id);
    expect(after.waiting_for).toBe(fromSession.id);
    // Only the first of the line has a message; each one's end starts the next.
    expect(consumer.sent).toEqual([{ jobId: before.id, checkpointByte: 0 }]);
    await runJob(consumer, before.id);
    expect((await getJob(t.key, before.id)).status).toBe("completed");
    // before → session's job → after: the session's file created A-1, the later feed's stock won.
    expect((await getJob(t.key, fromSession.id)).status).toBe("completed");
    expect((await getJob(t.key, after.id)).status).toBe("completed");
    const product = await request("/api/v1/products/A-1", { key: t.key });
    expect(await product.json()).toMatchObject({ sku: "A-1", stock: 9, name: "Shirt" });
  });

  it("never makes two jobs: completing again answers the same job (200), other options are a 409", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const consumer = consumerEnv();
    const first = await accepted(await complete(consumer, t.key, session.id, "?currency=EUR"));
    const again = await complete(consumer, t.key, session.id, "?currency=EUR");
    expect(again.status).toBe(200);
    expect(again.headers.get("location")).toBe(`/api/v1/products/import/${first.id}`);
    expect(((await again.json()) as Job).id).toBe(first.id);
    const other = await complete(consumer, t.key, session.id, "?currency=USD");
    expect(other.status).toBe(409);
    expect(await problemOf(other)).toMatchObject({ type: "/problems/conflict", detail: expect.stringContaining(first.id) });
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    expect(consumer.sent).toEqual([{ jobId: first.id, checkpointByte: 0 }]);
    // A completed session takes no more parts and cannot be aborted.
    expect((await putPart(t.key, session.id, 1, SMALL)).status).toBe(409);
    const abort = await request(`${UPLOADS}/${session.id}`, { method: "DELETE", key: t.key });
    expect(abort.status).toBe(409);
    expect((await problemOf(abort)).detail).toContain(first.id);
  });

  it("makes one job of completions sent at the same time", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const consumer = consumerEnv();
    const answers = await Promise.all([1, 2, 3].map(() => complete(consumer, t.key, session.id)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    for (const s of statuses) expect([200, 202, 409]).toContain(s);
    expect(await jobRowsOf(t.tenantId)).toHaveLength(1);
    expect(consumer.sent).toHaveLength(1);
  });

  it("replays a completion under its Idempotency-Key, and refuses the key for other options (422)", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const consumer = consumerEnv();
    const key = { "idempotency-key": "complete-catalog-1" };
    const first = await complete(consumer, t.key, session.id, "?dry_run=true", key);
    expect(first.status).toBe(202);
    const firstBody = await first.text();
    expect(JSON.parse(firstBody)).toMatchObject({ dry_run: true, status: "queued", waiting_for: null });
    const replay = await complete(consumer, t.key, session.id, "?dry_run=true", key);
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(firstBody);
    const reused = await complete(consumer, t.key, session.id, "?dry_run=false", key);
    expect(reused.status).toBe(422);
    expect(await problemOf(reused)).toMatchObject({ type: "/problems/idempotency-key-reused" });
    // Another key for the same completion: the session's one job.
    const otherKey = await complete(consumer, t.key, session.id, "?dry_run=true", { "idempotency-key": "complete-catalog-2" });
    expect(otherKey.status).toBe(200);
    expect(((await otherKey.json()) as Job).id).toBe(JSON.parse(firstBody).id);
    expect(await jobRowsOf(t.tenantId)).toHaveLength(1);
  });

  it("409 listing the parts not received; the session stays open and completes once they are in", async () => {
    const t = await createTenant();
    const session = await opened(t.key, THREE_PARTS);
    await sendPart(t.key, session, THREE_PARTS, 2);
    const consumer = consumerEnv();
    const res = await complete(consumer, t.key, session.id);
    expect(res.status).toBe(409);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/upload-incomplete", title: "Upload incomplete", missing_parts: [1, 3] });
    expect(problem.detail).toBe(`2 of the session's 3 parts have not been received: 1, 3. Send them (PUT ${UPLOADS}/${session.id}/parts/{n}), then complete the session again.`);
    expect(await jobRowsOf(t.tenantId)).toEqual([]);
    await sendPart(t.key, session, THREE_PARTS, 1);
    await sendPart(t.key, session, THREE_PARTS, 3);
    expect((await complete(consumer, t.key, session.id)).status).toBe(202);
  });

  it("400 naming profile when it names no profile, before anything changes: the session can still be completed", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const consumer = consumerEnv();
    const res = await complete(consumer, t.key, session.id, "?profile=nope");
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "query", name: "profile", message: expect.stringContaining('"nope"') }]);
    const unknown = await complete(consumer, t.key, session.id, "?filename=x.csv");
    expect(unknown.status).toBe(400);
    expect((await problemOf(unknown)).errors?.map((e) => e.name)).toEqual(["filename"]);
    expect((await sessionOf(t.key, session.id)).status).toBe("open");
    expect((await complete(consumer, t.key, session.id)).status).toBe(202);
  });

  it("does not count a session in the job list or the status summary until it is a job", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const list = async () => ((await (await request("/api/v1/products/import", { key: t.key })).json()) as { data: Job[] }).data;
    const total = async () => ((await (await request("/api/v1/products/import/status", { key: t.key })).json()) as { total: number }).total;
    expect(await list()).toEqual([]);
    expect(await total()).toBe(0);
    const job = await accepted(await complete(consumerEnv(), t.key, session.id));
    expect((await list()).map((j) => j.id)).toEqual([job.id]);
    expect(await total()).toBe(1);
  });
});

describe("aborting and expiry", () => {
  it("DELETE aborts the session and its R2 multipart upload", async () => {
    const t = await createTenant();
    const session = await opened(t.key, THREE_PARTS);
    await sendPart(t.key, session, THREE_PARTS, 1);
    const row = (await env.DB.prepare("SELECT object_key, r2_upload_id FROM upload_sessions WHERE id = ?").bind(session.id).first<{ object_key: string; r2_upload_id: string }>())!;
    expect(await multipartExists(t.tenantId, session.id)).toBe(true);
    const res = await request(`${UPLOADS}/${session.id}`, { method: "DELETE", key: t.key });
    expect(res.status).toBe(204);
    expect(await uploadIdExists(row.object_key, row.r2_upload_id)).toBe(false);
    for (const res of [
      await request(`${UPLOADS}/${session.id}`, { key: t.key }),
      await putPart(t.key, session.id, 2, partOf(session, THREE_PARTS, 2)),
      await complete(consumerEnv(), t.key, session.id),
      await request(`${UPLOADS}/${session.id}`, { method: "DELETE", key: t.key }),
    ]) {
      expect(res.status).toBe(404);
      expect((await problemOf(res)).type).toBe("/problems/not-found");
    }
    expect(await storedSessionCount(t.tenantId)).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM upload_parts WHERE session_id = ?").bind(session.id).first("n")).toBe(0);
  });

  it("refuses an expired session before the sweeper has run, and the sweeper aborts it with its R2 multipart upload", async () => {
    const t = await createTenant();
    const expiring = await opened(t.key, THREE_PARTS);
    await sendPart(t.key, expiring, THREE_PARTS, 2);
    const kept = await opened(t.key, SMALL);
    const row = (await env.DB.prepare("SELECT object_key, r2_upload_id FROM upload_sessions WHERE id = ?").bind(expiring.id).first<{ object_key: string; r2_upload_id: string }>())!;
    await env.DB.prepare("UPDATE upload_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, expiring.id).run();

    expect((await request(`${UPLOADS}/${expiring.id}`, { key: t.key })).status).toBe(404);
    expect((await putPart(t.key, expiring.id, 1, partOf(expiring, THREE_PARTS, 1))).status).toBe(404);
    expect(await multipartExists(t.tenantId, expiring.id)).toBe(true);

    const report = await sweep(env, config);
    expect(report.uploadSessionsExpired).toBeGreaterThanOrEqual(1);
    expect(await uploadIdExists(row.object_key, row.r2_upload_id)).toBe(false);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM upload_parts WHERE session_id = ?").bind(expiring.id).first("n")).toBe(0);
    expect(await storedSessionCount(t.tenantId)).toBe(1);
    expect((await sessionOf(t.key, kept.id)).status).toBe("open");
  });

  it("keeps the job's file when a completed session expires", async () => {
    const t = await createTenant();
    const session = await sentWhole(t.key, SMALL);
    const job = await accepted(await complete(consumerEnv(), t.key, session.id));
    await env.DB.prepare("UPDATE upload_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, session.id).run();
    await sweep(env, config);
    expect(await storedSessionCount(t.tenantId)).toBe(0);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${job.id}`]);
    expect((await getJob(t.key, job.id)).id).toBe(job.id);
  });

  it("tries an abort that failed again on the next run, keeping the session until then", async () => {
    const t = await createTenant();
    const session = await opened(t.key, SMALL);
    await env.DB.prepare("UPDATE upload_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, session.id).run();
    const broken = overriding(env.UPLOADS, {
      resumeMultipartUpload: ((key: string, uploadId: string) =>
        overriding(env.UPLOADS.resumeMultipartUpload(key, uploadId), { abort: async () => Promise.reject(new Error("R2 unavailable")) })) as R2Bucket["resumeMultipartUpload"],
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await sweep({ ...env, UPLOADS: broken }, config);
      expect(warn.mock.calls.map(([line]) => JSON.parse(String(line))).filter((l) => l.session_id === session.id)).toEqual([
        expect.objectContaining({ msg: "upload session not aborted; the sweeper tries again", error_class: "Error" }),
      ]);
    } finally {
      warn.mockRestore();
    }
    expect(await storedSessionCount(t.tenantId)).toBe(1);
    await sweep(env, config);
    expect(await storedSessionCount(t.tenantId)).toBe(0);
  });
});

describe("tenants and scopes", () => {
  it("answers another tenant's session like a missing one, on every route", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const session = await sentWhole(owner.key, SMALL);
    for (const res of [
      await request(`${UPLOADS}/${session.id}`, { key: other.key }),
      await putPart(other.key, session.id, 1, SMALL),
      await complete(consumerEnv(), other.key, session.id),
      await request(`${UPLOADS}/${session.id}`, { method: "DELETE", key: other.key }),
    ]) {
      expect(res.status).toBe(404);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/not-found", detail: expect.stringContaining(session.id) });
    }
    expect(await sessionOf(owner.key, session.id)).toMatchObject({ status: "open", parts: [{ number: 1 }] });
  });

  it("needs imports:write to open, send, complete and abort, and imports:read to look", async () => {
    const t = await createTenant();
    const session = await opened(t.key, SMALL);
    const readOnly = await addKey(t.tenantId, ["imports:read"]);
    const productsOnly = await addKey(t.tenantId, ["products:read"]);
    for (const res of [
      await open(readOnly, { size: 10, filename: "a.csv", content_type: "text/csv" }),
      await putPart(readOnly, session.id, 1, SMALL),
      await complete(consumerEnv(), readOnly, session.id),
      await request(`${UPLOADS}/${session.id}`, { method: "DELETE", key: readOnly }),
    ]) {
      expect(res.status).toBe(403);
      expect(await problemOf(res)).toMatchObject({ required_scope: "imports:write" });
    }
    expect((await request(`${UPLOADS}/${session.id}`, { key: readOnly })).status).toBe(200);
    const denied = await request(`${UPLOADS}/${session.id}`, { key: productsOnly });
    expect(denied.status).toBe(403);
    expect(await problemOf(denied)).toMatchObject({ required_scope: "imports:read" });
  });
});

describe("a direct upload over MAX_UPLOAD_BYTES", () => {
  it("stays a 413, whose problem says to send the file through an upload session", async () => {
    const t = await createTenant();
    const max = Number(env.MAX_UPLOAD_BYTES);
    const res = await uploadStream(t.key, bodyStream(["sku,name,price\n"]), { length: max + 1 });
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/payload-too-large", max_bytes: max });
    expect(problem.detail).toBe(`An upload may be at most ${max} bytes. Send a larger file in parts through an upload session: POST ${UPLOADS}.`);
    // A file within the limit is still taken directly.
    expect((await upload(t.key, SMALL)).status).toBe(202);
  });
});
