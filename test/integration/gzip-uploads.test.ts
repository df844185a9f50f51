// Compressed uploads: a file sent with Content-Encoding: gzip (or as a .gz multipart part) is stored as sent, inflated
// once by its job into a plain copy, and imported from it exactly as the same file sent plain. The inflate resumes
// across invocations (and after a failure) where it stopped, never from the start; damaged data and decompression
// bombs fail the job with a clear reason, and no inflated bytes are left behind.
import { env } from "cloudflare:workers";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.ts";
import { inflatedKey } from "../../src/imports/jobs/inflated-copy.ts";
import { sweep } from "../../src/imports/jobs/sweeper.ts";
import type { ImportMessage } from "../../src/model/import-message.ts";
import {
  type ConsumerEnv,
  consumerEnv,
  deliver,
  jobRecord,
  overriding,
  productContents,
  requestHeld,
  runJob,
  uploadHeld,
} from "../consumer-helpers.ts";
import { createTenant, problemOf, request } from "../helpers.ts";
import { accepted, getJob, importFile, type Job, rowErrors, storedObjectKeys, upload } from "../imports-helpers.ts";
import { exportFile, SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS } from "../preset-exports.ts";

const IMPORT = "/api/v1/products/import";
const MIB = 1024 * 1024;
const encoder = new TextEncoder();
const bytesOf = (body: string | Uint8Array) => (typeof body === "string" ? encoder.encode(body) : body);
// A plain array: a Buffer's slice() is a view.
const gzip = (body: string | Uint8Array) => new Uint8Array(zlib.gzipSync(bytesOf(body)));

const CSV = "sku,name,price,stock,tags\nA-1,Shirt,19.99,3,\"summer,cotton\"\nA-2,Socks,4.50,10,\nA-3,,oops,1,\n";
const NDJSON = '{"sku":"N-1","name":"Mug","price":"7.00"}\n{"sku":"N-2","name":"Cup","price":"bad"}\n{"sku":"N-3","name":"Pot","stock":2,"price":"30"}\n';
// Thirteen records of about a mebibyte (a column the import ignores holds the bulk): 13 MB inflated, three 5 MiB parts.
const BIG_CSV = (() => {
  const filler = "lorem ipsum dolor sit amet ".repeat(40_000).slice(0, 1_000_000);
  let csv = "sku,name,price,notes\n";
  for (let i = 1; i <= 13; i++) csv += `B-${i},Big ${i},${i}.00,${filler}\n`;
  return encoder.encode(csv);
})();
const SMALL_PARTS = { INFLATE_PART_BYTES: String(5 * MIB) };

interface Sent {
  type?: string;
  query?: string;
  encoding?: string | null;
}

/** uploadHeld with the request's type and content encoding (gzip unless `encoding` says otherwise). */
function uploadSent(consumer: ConsumerEnv, key: string, body: Uint8Array, { type = "text/csv", query = "", encoding = "gzip" }: Sent = {}): Promise<Job> {
  return uploadHeld(consumer, key, body, query, { "content-type": type, ...(encoding === null ? {} : { "content-encoding": encoding }) });
}

/** Imports `body` into a fresh tenant through the API and the queue handler: gzip-compressed or plain. */
async function importHeld(body: string | Uint8Array, sent: Sent & { vars?: Record<string, string> } = {}) {
  const t = await createTenant();
  const consumer = consumerEnv(sent.vars);
  const plain = bytesOf(body);
  const job = await uploadSent(consumer, t.key, sent.encoding === null ? plain : gzip(plain), sent);
  await runJob(consumer, job.id, 200);
  return { t, job: await getJob(t.key, job.id), products: await productContents(t.tenantId), errors: await rowErrors(t.key, job.id) };
}

/** What two imports of one file must agree on, whatever way it travelled. */
function outcome({ job, products, errors }: Awaited<ReturnType<typeof importHeld>>) {
  const { id: _i, links: _l, size_bytes: _s, content_encoding: _c, inflated_bytes: _b, created_at: _ca, queued_at: _q, started_at: _st, finished_at: _f, duration_ms: _d, rows_per_second: _r, ...counts } = job;
  return { counts, products, errors };
}

/** R2 whose inflate traffic is recorded: multipart uploads started, parts uploaded, ranged reads; `failPart` fails one upload of a part. */
function recordingUploads(bucket: R2Bucket, failPart?: number) {
  const calls = { started: 0, parts: [] as number[], reads: [] as { key: string; offset: number }[] };
  let failed = false;
  const watched = (upload: R2MultipartUpload) =>
    overriding(upload, {
      uploadPart: (async (partNumber: number, value: Parameters<R2MultipartUpload["uploadPart"]>[1]) => {
        calls.parts.push(partNumber);
        if (partNumber === failPart && !failed) {
          failed = true;
          throw new Error("injected R2 failure");
        }
        return upload.uploadPart(partNumber, value);
      }) as R2MultipartUpload["uploadPart"],
    });
  const uploads = overriding(bucket, {
    createMultipartUpload: (async (key: string, options?: R2MultipartOptions) => {
      calls.started++;
      return watched(await bucket.createMultipartUpload(key, options));
    }) as R2Bucket["createMultipartUpload"],
    resumeMultipartUpload: ((key: string, uploadId: string) => watched(bucket.resumeMultipartUpload(key, uploadId))) as R2Bucket["resumeMultipartUpload"],
    get: (async (key: string, options?: R2GetOptions) => {
      calls.reads.push({ key, offset: (options?.range as { offset?: number } | undefined)?.offset ?? 0 });
      return bucket.get(key, options);
    }) as R2Bucket["get"],
  });
  return { uploads, calls };
}

/** Delivers the job's messages until none is left, a retried one again; returns how many invocations it took. */
async function drain(consumer: ConsumerEnv, jobId: string): Promise<{ deliveries: number; retries: number }> {
  const pending: ImportMessage[] = [{ jobId, checkpointByte: 0 }];
  let [deliveries, retries] = [0, 0];
  while (pending.length > 0) {
    if (deliveries > 100) throw new Error("the job does not end");
    const message = pending.shift()!;
    const before = consumer.sent.length;
    const { result } = await deliver(consumer.env, message, { attempts: 1 });
    deliveries++;
    if (result.retryMessages.length > 0) {
      retries++;
      pending.unshift(message);
    }
    pending.push(...consumer.sent.slice(before));
  }
  return { deliveries, retries };
}

async function stored(key: string): Promise<boolean> {
  return (await env.UPLOADS.head(key)) !== null;
}

describe("a gzip upload imports as the same file sent plain", () => {
  const cases: [string, string | Uint8Array, Sent][] = [
    ["CSV", CSV, {}],
    ["NDJSON", NDJSON, { type: "application/x-ndjson" }],
    ["a dry run", CSV, { query: "?dry_run=true" }],
    ["a declared charset (windows-1252)", new Uint8Array([...encoder.encode("sku,name,price\nW-1,Caf"), 0xe9, ...encoder.encode(" \u0080,2.00\n")]), { type: "text/csv; charset=windows-1252" }],
    ["a preset (Shopify)", exportFile(SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS), { query: "?profile=shopify" }],
    ["a mapping", "Item,Title,Cost\nM-1,Mapped,3.00\n", { query: `?mapping=${encodeURIComponent(JSON.stringify({ Item: "sku", Title: "name", Cost: "price" }))}` }],
  ];

  it.each(cases)("%s", async (_, body, sent) => {
    const plain = await importHeld(body, { ...sent, encoding: null });
    const gzipped = await importHeld(body, sent);
    expect(outcome(gzipped)).toEqual(outcome(plain));
    expect(gzipped.job.status).toBe("completed");
    // The sizes: as sent, and inflated.
    const bytes = bytesOf(body);
    expect(plain.job).toMatchObject({ size_bytes: bytes.byteLength, content_encoding: null, inflated_bytes: null });
    expect(gzipped.job).toMatchObject({ size_bytes: gzip(bytes).byteLength, content_encoding: "gzip", inflated_bytes: bytes.byteLength });
    // The file is kept as sent; its inflated copy is gone with the job, unless the job has failed rows read from it.
    const objectKey = `${gzipped.t.tenantId}/${gzipped.job.id}`;
    expect(await storedObjectKeys(gzipped.t.tenantId)).toEqual(gzipped.job.failed_rows > 0 ? [objectKey, inflatedKey(objectKey)] : [objectKey]);
    expect(new Uint8Array(await (await env.UPLOADS.get(objectKey))!.arrayBuffer())).toEqual(gzip(bytes));
  });

  it("through the API and the queue, as x-gzip too; identity is no compression", async () => {
    const t = await createTenant();
    const gz = await importFile(t.key, gzip(CSV), { headers: { "content-encoding": "gzip" } });
    const x = await importFile(t.key, gzip(CSV), { headers: { "content-encoding": "X-Gzip" } });
    const identity = await importFile(t.key, CSV, { headers: { "content-encoding": "identity" } });
    for (const job of [gz, x, identity]) expect(job).toMatchObject({ status: "completed", processed_rows: 3, rejected_rows: 1 });
    expect([gz.content_encoding, x.content_encoding, identity.content_encoding]).toEqual(["gzip", "gzip", null]);
    expect([gz.inflated_bytes, identity.inflated_bytes]).toEqual([CSV.length, null]);
  });

  it("shows inflated_bytes null while the file has not been inflated", async () => {
    const t = await createTenant();
    const job = await uploadSent(consumerEnv(), t.key, gzip(CSV));
    expect(job).toMatchObject({ status: "queued", size_bytes: gzip(CSV).byteLength, content_encoding: "gzip", inflated_bytes: null });
  });
});

describe("an upload session's gzip file", () => {
  it("becomes a job that inflates it as a direct upload's", async () => {
    const plain = await importHeld(CSV, { encoding: null });
    const t = await createTenant();
    const gz = gzip(CSV);
    const opening = await request("/api/v1/uploads", {
      method: "POST",
      key: t.key,
      body: JSON.stringify({ size: gz.byteLength, filename: "catalog.csv.gz", content_type: "text/csv", content_encoding: "gzip" }),
      headers: { "content-type": "application/json" },
    });
    expect(opening.status).toBe(201);
    const session = (await opening.json()) as { id: string };
    const sent = await request(`/api/v1/uploads/${session.id}/parts/1`, { method: "PUT", key: t.key, body: gz, headers: { "content-length": String(gz.byteLength) } });
    expect(sent.status).toBe(200);
    const consumer = consumerEnv();
    const job = await accepted(await requestHeld(consumer, `/api/v1/uploads/${session.id}/complete`, { method: "POST", key: t.key }));
    expect(job).toMatchObject({ size_bytes: gz.byteLength, content_encoding: "gzip", inflated_bytes: null });
    await runJob(consumer, job.id);
    const done = { t, job: await getJob(t.key, job.id), products: await productContents(t.tenantId), errors: await rowErrors(t.key, job.id) };
    expect(done.job).toMatchObject({ status: "completed", inflated_bytes: CSV.length });
    const { counts, ...rest } = outcome(done);
    const { counts: plainCounts, ...plainRest } = outcome(plain);
    expect(rest).toEqual(plainRest);
    expect({ ...counts, file_name: null }).toEqual({ ...plainCounts, file_name: null });
  });
});

describe("the inflate, across invocations", () => {
  it("inflates once: each invocation uploads the next part and reads on where the last stopped", async () => {
    const plain = await importHeld(BIG_CSV, { encoding: null });
    const t = await createTenant();
    // One part per invocation (the budget is spent after it), then one record per slice.
    const consumer = consumerEnv({ ...SMALL_PARTS, IMPORT_SLICE_MS: "1" });
    const { uploads, calls } = recordingUploads(env.UPLOADS);
    consumer.env.UPLOADS = uploads;
    const job = await uploadSent(consumer, t.key, gzip(BIG_CSV));
    const objectKey = `${t.tenantId}/${job.id}`;

    // The first invocation: one part, and the checkpoint that resumes after it.
    await deliver(consumer.env, { jobId: job.id, checkpointByte: 0 });
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "processing", inflated_bytes: null, processed_rows: 0 });
    const checkpoint = JSON.parse((await jobRecord(job.id) as unknown as { inflate_checkpoint: string }).inflate_checkpoint) as { etags: string[]; resume: { out: number } };
    expect(checkpoint.etags).toHaveLength(1);
    expect(checkpoint.resume.out).toBeGreaterThanOrEqual(5 * MIB);

    await drain(consumer, job.id);
    const done = await getJob(t.key, job.id);
    expect(outcome({ ...plain, job: done, products: await productContents(t.tenantId), errors: await rowErrors(t.key, job.id) })).toEqual(outcome(plain));
    expect(done).toMatchObject({ status: "completed", created: 13, inflated_bytes: BIG_CSV.byteLength });

    // One upload, each of its three parts once; the compressed file read from its start once, then from further on.
    expect(calls.started).toBe(1);
    expect(calls.parts).toEqual([1, 2, 3]);
    const compressedReads = calls.reads.filter((r) => r.key === objectKey).map((r) => r.offset);
    expect(compressedReads).toHaveLength(3);
    expect(compressedReads[0]).toBe(0);
    expect(compressedReads[1]!).toBeGreaterThan(compressedReads[0]!);
    expect(compressedReads[2]!).toBeGreaterThan(compressedReads[1]!);
    expect(await stored(inflatedKey(objectKey))).toBe(false);
    expect(await stored(objectKey)).toBe(true);
  });

  it("resumes after a failure from the last stored part, not from the start", async () => {
    const t = await createTenant();
    const consumer = consumerEnv(SMALL_PARTS);
    const { uploads, calls } = recordingUploads(env.UPLOADS, 2);
    consumer.env.UPLOADS = uploads;
    const job = await uploadSent(consumer, t.key, gzip(BIG_CSV));

    const { retries } = await drain(consumer, job.id);
    expect(retries).toBe(1);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "completed", created: 13, inflated_bytes: BIG_CSV.byteLength });
    // Part 2 failed once and was sent again; part 1 was not.
    expect(calls.started).toBe(1);
    expect(calls.parts).toEqual([1, 2, 2, 3]);
    const objectKey = `${t.tenantId}/${job.id}`;
    const compressedReads = calls.reads.filter((r) => r.key === objectKey).map((r) => r.offset);
    expect(compressedReads[0]).toBe(0);
    expect(compressedReads[1]!).toBeGreaterThan(0);
  });

  it("keeps the tenant's order: a plain feed accepted after a gzip catalog waits for its inflate and import", async () => {
    const t = await createTenant();
    const consumer = consumerEnv({ ...SMALL_PARTS, IMPORT_SLICE_MS: "1" });
    const catalog = await uploadSent(consumer, t.key, gzip(BIG_CSV));
    const feed = await uploadSent(consumer, t.key, encoder.encode("sku,price\nB-1,99.00\n"), { encoding: null });
    expect(feed).toMatchObject({ status: "queued", waiting_for: catalog.id });
    // The feed's early message does nothing while the catalog inflates.
    await deliver(consumer.env, { jobId: catalog.id, checkpointByte: 0 });
    await deliver(consumer.env, { jobId: feed.id, checkpointByte: 0 });
    expect(await getJob(t.key, feed.id)).toMatchObject({ status: "queued", waiting_for: catalog.id });
    await drain(consumer, catalog.id);
    const [doneCatalog, doneFeed] = [await getJob(t.key, catalog.id), await getJob(t.key, feed.id)];
    expect(doneCatalog).toMatchObject({ status: "completed", created: 13 });
    expect(doneFeed).toMatchObject({ status: "completed", updated: 1 });
    expect(Date.parse(doneFeed.started_at!)).toBeGreaterThanOrEqual(Date.parse(doneCatalog.finished_at!));
  });
});

describe("a gzip file that cannot be inflated fails its job, saying why", () => {
  const text = encoder.encode(CSV.repeat(50));
  const whole = gzip(text);
  const flipped = whole.slice();
  flipped[whole.length - 6] = flipped[whole.length - 6]! ^ 0x10;
  const cases: [string, Uint8Array, string][] = [
    ["cut off", whole.subarray(0, whole.length - 20), `at byte ${whole.length - 20} of the compressed file the gzip data is cut off (the file is incomplete)`],
    ["damaged", flipped, `at byte ${whole.length - 8} of the compressed file the inflated data does not match the gzip checksum (CRC-32): the file is damaged`],
    ["not gzip at all", text, "at byte 0 of the compressed file the data is not gzip (it does not start with the bytes 1F 8B)"],
  ];

  it.each(cases)("%s", async (_, body, problem) => {
    const t = await createTenant();
    const job = await importFile(t.key, body, { headers: { "content-encoding": "gzip" } });
    expect(job).toMatchObject({ status: "failed", processed_rows: 0, inflated_bytes: null });
    expect(job.failure_reason).toBe(`The file was sent gzip-compressed, but ${problem}. Nothing was imported; check the file (gzip -t) and upload it again.`);
    expect(await productContents(t.tenantId)).toEqual([]);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${job.id}`]);
  });
});

describe("decompression bombs", () => {
  const bombReason = (max: number) =>
    `The file inflates to more than ${max} bytes, the most a compressed upload may inflate to (MAX_INFLATED_BYTES); the inflate stopped there. Nothing was imported; split the catalog into smaller files.`;

  it("fails a file that inflates past MAX_INFLATED_BYTES", async () => {
    const bomb = encoder.encode(`sku,name,price\n${"0".repeat(2 * MIB)}\n`);
    const { job, products } = await importHeld(bomb, { vars: { MAX_INFLATED_BYTES: "100000" } });
    expect(job).toMatchObject({ status: "failed", processed_rows: 0, inflated_bytes: null, failure_reason: bombReason(100_000) });
    expect(products).toEqual([]);
  });

  it("stops within the part that passes the limit, and deletes the parts already stored", async () => {
    const t = await createTenant();
    const consumer = consumerEnv({ ...SMALL_PARTS, MAX_INFLATED_BYTES: String(6 * MIB) });
    const { uploads, calls } = recordingUploads(env.UPLOADS);
    consumer.env.UPLOADS = uploads;
    const job = await uploadSent(consumer, t.key, gzip(new Uint8Array(64 * MIB)));
    await drain(consumer, job.id);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "failed", failure_reason: bombReason(6 * MIB) });
    expect(calls.parts).toEqual([1]);
    // The upload of the copy was aborted: its stored part cannot be completed any more.
    const { uploadId, etags } = JSON.parse((await jobRecord(job.id) as unknown as { inflate_checkpoint: string }).inflate_checkpoint) as { uploadId: string; etags: string[] };
    const objectKey = `${t.tenantId}/${job.id}`;
    await expect(env.UPLOADS.resumeMultipartUpload(inflatedKey(objectKey), uploadId).complete([{ partNumber: 1, etag: etags[0]! }])).rejects.toThrow();
    expect(await storedObjectKeys(t.tenantId)).toEqual([objectKey]);
  });
});

describe("the upload's content encoding", () => {
  it.each([["br"], ["deflate"], ["gzip, gzip"], ["zstd, identity"]])("refuses %s with a 415 naming it", async (encoding) => {
    const t = await createTenant();
    const res = await upload(t.key, gzip(CSV), { headers: { "content-encoding": encoding } });
    expect(res.status).toBe(415);
    expect(res.headers.get("accept-encoding")).toBe("gzip");
    expect(await problemOf(res)).toEqual({
      type: "/problems/unsupported-content-encoding",
      title: "Unsupported content encoding",
      status: 415,
      detail: `Content-Encoding "${encoding}" is not supported; send the file compressed with gzip (Content-Encoding: gzip), or as it is.`,
      instance: expect.any(String),
      errors: [{ location: "header", name: "content-encoding", message: `is "${encoding}", which is not supported; use gzip or none` }],
    });
    expect(await storedObjectKeys(t.tenantId)).toEqual([]);
  });

  it("says how to send a gzip file sent as application/gzip", async () => {
    const t = await createTenant();
    const res = await upload(t.key, gzip(CSV), { type: "application/gzip" });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).detail).toBe(
      'Content-Type "application/gzip" is not supported; send one of text/csv, application/x-ndjson, multipart/form-data. For a compressed file, send its own type (text/csv or application/x-ndjson) with Content-Encoding: gzip.',
    );
  });

  it("bounds the bytes as sent by MAX_UPLOAD_BYTES", async () => {
    const t = await createTenant();
    const config = readConfig(env);
    const res = await request(IMPORT, {
      method: "POST",
      key: t.key,
      body: new Uint8Array(16),
      headers: { "content-type": "text/csv", "content-encoding": "gzip", "content-length": String(config.maxUploadBytes + 1) },
    });
    expect(res.status).toBe(413);
  });

  it("takes part of an Idempotency-Key's request: the same key with another encoding is a 422", async () => {
    const t = await createTenant();
    const headers = { "idempotency-key": "gz-1", "content-encoding": "gzip" };
    const first = await accepted(await upload(t.key, gzip(CSV), { headers }));
    const replay = await upload(t.key, gzip(CSV), { headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);
    const other = await upload(t.key, gzip(CSV), { headers: { "idempotency-key": "gz-1" } });
    expect(other.status).toBe(422);
  });
});

describe("multipart/form-data", () => {
  function form(file: File): FormData {
    const data = new FormData();
    data.append("file", file);
    return data;
  }

  it("stores a gzip file part as sent and imports it, its format named by its name without .gz", async () => {
    const t = await createTenant();
    for (const [name, type] of [
      ["catalog.csv.gz", "application/gzip"],
      ["catalog.csv.gz", "application/octet-stream"],
      ["feed.ndjson.gz", "application/x-gzip"],
    ] as const) {
      const body = name.includes("ndjson") ? NDJSON : CSV;
      const res = await request(IMPORT, { method: "POST", key: t.key, body: form(new File([gzip(body)], name, { type })) });
      const job = await accepted(res);
      expect(job).toMatchObject({ file_name: name, format: name.includes("ndjson") ? "ndjson" : "csv", content_encoding: "gzip", size_bytes: gzip(body).byteLength });
    }
    const res = await request(IMPORT, { method: "POST", key: t.key, body: form(new File([gzip(CSV)], "catalog.gz", { type: "application/gzip" })) });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).detail).toContain("A gzip file is read by the name it has without .gz: name it ending .csv, .ndjson, .jsonl, .json and then .gz (catalog.csv.gz).");
  });

  it("inflates a form sent with Content-Encoding: gzip, bounded by MAX_MULTIPART_BYTES inflated", async () => {
    const t = await createTenant();
    const send = async (file: File) => {
      const encoded = new Response(form(file));
      const body = gzip(new Uint8Array(await encoded.arrayBuffer()));
      const headers = { "content-type": encoded.headers.get("content-type")!, "content-encoding": "gzip", "content-length": String(body.byteLength) };
      return request(IMPORT, { method: "POST", key: t.key, body, headers });
    };
    const job = await importFileJob(t.key, await send(new File([CSV], "catalog.csv", { type: "text/csv" })));
    expect(job).toMatchObject({ status: "completed", file_name: "catalog.csv", content_encoding: null, size_bytes: CSV.length, processed_rows: 3 });

    const tooLarge = await send(new File([new Uint8Array(readConfig(env).maxMultipartBytes)], "big.csv", { type: "text/csv" }));
    expect(tooLarge.status).toBe(413);
    const notGzip = await request(IMPORT, {
      method: "POST",
      key: t.key,
      body: "not gzip",
      headers: { "content-type": "multipart/form-data; boundary=x", "content-encoding": "gzip", "content-length": "8" },
    });
    expect((await problemOf(notGzip)).errors).toEqual([{ location: "body", name: "(body)", message: "is not valid gzip data, as its Content-Encoding says" }]);
  });
});

describe("the sweeper", () => {
  it("aborts the inflate of a job it fails as stuck, deleting what it had stored", async () => {
    const t = await createTenant();
    const consumer = consumerEnv({ ...SMALL_PARTS, IMPORT_SLICE_MS: "1" });
    const job = await uploadSent(consumer, t.key, gzip(BIG_CSV));
    await deliver(consumer.env, { jobId: job.id, checkpointByte: 0 });
    const { inflate_checkpoint } = (await jobRecord(job.id)) as unknown as { inflate_checkpoint: string };
    const { uploadId, etags } = JSON.parse(inflate_checkpoint) as { uploadId: string; etags: string[] };
    const objectKey = `${t.tenantId}/${job.id}`;

    const config = readConfig(consumer.env);
    await sweep(consumer.env, config, Date.now() + config.stuckJobMs + 60_000);
    expect(await getJob(t.key, job.id)).toMatchObject({ status: "failed", inflated_bytes: null });
    await expect(env.UPLOADS.resumeMultipartUpload(inflatedKey(objectKey), uploadId).complete([{ partNumber: 1, etag: etags[0]! }])).rejects.toThrow();
    expect(await storedObjectKeys(t.tenantId)).toEqual([objectKey]);
  });

  it("deletes an inflated copy left behind with the file, after UPLOAD_RETENTION_DAYS", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, gzip(CSV), { headers: { "content-encoding": "gzip" } });
    const objectKey = `${t.tenantId}/${job.id}`;
    // As if deleting the copy had failed when the job finished.
    await env.UPLOADS.put(inflatedKey(objectKey), CSV);
    const config = readConfig(env);
    await sweep(consumerEnv().env, config, Date.now() + config.uploadRetentionMs + 60_000);
    expect(await storedObjectKeys(t.tenantId)).toEqual([]);
  });
});

/** The job of an accepted upload, once the real queue has finished it. */
async function importFileJob(key: string, res: Response): Promise<Job> {
  const job = await accepted(res);
  for (let i = 0; i < 300; i++) {
    const current = await getJob(key, job.id);
    if (current.status === "completed" || current.status === "failed") return current;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${job.id} did not finish`);
}
