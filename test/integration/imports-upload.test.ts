import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createTenant, problemOf, request, seedProducts } from "../helpers.ts";
import { bodyStream, getJob, type Job, jobRowsOf, storedObjectKeys, upload, uploadStream, waitForJob } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const JOB_ID = /^imp_[0-9A-Za-z]{22}$/;
const CSV = "sku,name,price\nA-1,Shirt,19.99\nB-2,Mug,7\n";
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
const MAX_UPLOAD = Number(env.MAX_UPLOAD_BYTES);
const MAX_MULTIPART = Number(env.MAX_MULTIPART_BYTES);
const ACCEPTED = ["text/csv", "application/x-ndjson", "multipart/form-data"];
const INTERRUPTED =
  "The upload was interrupted before the whole file arrived (the connection closed or the storage failed); nothing was imported. Upload the file again.";

async function accepted(res: Response): Promise<Job> {
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${await res.text()}`);
  return res.json();
}

function multipart(file: Blob | string | null, name = "products.csv", extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  if (file !== null) form.append("file", typeof file === "string" ? new File([file], name, { type: "text/csv" }) : file, name);
  return form;
}

function postForm(key: string, form: FormData, query = "", headers: Record<string, string> = {}): Promise<Response> {
  return request(`${IMPORT}${query}`, { method: "POST", key, body: form, headers });
}

async function productSkus(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT sku FROM products WHERE tenant_id = ? ORDER BY sku_key").bind(tenantId).all<{ sku: string }>();
  return results.map((r) => r.sku);
}

/** Runs `send`, which interrupts an upload: the one warning that logs is asserted here rather than printed. */
async function interrupted<T>(send: () => Promise<T>): Promise<T> {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  try {
    const result = await send();
    expect(warn.mock.calls.map(([line]) => (JSON.parse(String(line)) as { msg: string }).msg)).toEqual(["upload interrupted"]);
    return result;
  } finally {
    warn.mockRestore();
  }
}

/** Nothing of an upload was kept: no job row, no stored object. */
async function expectNothingStored(tenantId: string): Promise<void> {
  expect(await jobRowsOf(tenantId)).toEqual([]);
  expect(await storedObjectKeys(tenantId)).toEqual([]);
}

describe("POST /api/v1/products/import: accepting a file", () => {
  it("answers 202 with the job and its Location, stores the exact bytes in R2 and queues the import", async () => {
    const t = await createTenant();
    const res = await upload(t.key, CSV);
    expect(res.status).toBe(202);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    const job = (await res.json()) as Job;
    expect(job).toEqual({
      id: expect.stringMatching(JOB_ID),
      kind: "import",
      revert_of: null,
      status: "queued",
      waiting_for: null,
      format: "csv",
      file_name: null,
      size_bytes: bytes(CSV),
      content_encoding: null,
      inflated_bytes: null,
      bytes_processed: 0,
      progress: 0,
      rows_per_second: null,
      eta_seconds: null,
      dry_run: false,
      options: { currency: "USD", delimiter: null, blank_cells: "clear", on_invalid: "reject_row", charset: null, mode: "upsert", max_archive: null },
      profile: null,
      mapping: null,
      preset: null,
      preset_detected: false,
      total_rows: null,
      processed_rows: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      rejected_rows: 0,
      skipped_rows: 0,
      failed_rows: 0,
      error_count: 0,
      warning_count: 0,
      would_archive: null,
      archive_limit: null,
      archived: 0,
      reverted: 0,
      kept: 0,
      keeps_revert_data: true,
      ignored_columns: [],
      ignored_columns_omitted: 0,
      encoding: null,
      notes: [],
      failure_reason: null,
      created_at: expect.stringMatching(ISO),
      queued_at: expect.stringMatching(ISO),
      started_at: null,
      finished_at: null,
      confirmed_at: null,
      cancel_requested_at: null,
      canceled_at: null,
      duration_ms: null,
      retry_of: null,
      feed_id: null,
      retries: { count: 0, latest: null },
      links: { self: `${IMPORT}/${job.id}`, errors: `${IMPORT}/${job.id}/errors`, failed_rows: `${IMPORT}/${job.id}/failed-rows` },
    });
    expect(res.headers.get("location")).toBe(`${IMPORT}/${job.id}`);
    expect(Date.parse(job.queued_at as string)).toBeGreaterThanOrEqual(Date.parse(job.created_at as string));

    const rows = await jobRowsOf(t.tenantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: job.id, object_key: `${t.tenantId}/${job.id}`, size_bytes: bytes(CSV) });
    const object = await env.UPLOADS.get(`${t.tenantId}/${job.id}`);
    expect(object?.httpMetadata?.contentType).toBe("text/csv");
    expect(await object?.text()).toBe(CSV);

    const done = await waitForJob(t.key, job.id);
    expect(done).toMatchObject({ status: "completed", total_rows: 2, processed_rows: 2, created: 2, error_count: 0 });
    expect(await productSkus(t.tenantId)).toEqual(["A-1", "B-2"]);
  });

  it("gives every job a random, unguessable id", async () => {
    const t = await createTenant();
    const a = await accepted(await upload(t.key, CSV));
    const b = await accepted(await upload(t.key, CSV));
    expect(a.id).toMatch(JOB_ID); // imp_ + 22 base62 characters: ~131 random bits
    expect(b.id).toMatch(JOB_ID);
    expect(a.id).not.toBe(b.id);
    // No shared prefix beyond the type tag, as a counter or a timestamp would give.
    expect(a.id.slice(4, 10)).not.toBe(b.id.slice(4, 10));
  });

  it("accepts NDJSON", async () => {
    const t = await createTenant();
    const body = '{"sku":"N-1","name":"Lamp","price":"12.50"}\n{"sku":"N-2","name":"Desk","price":99}\n';
    const job = await accepted(await upload(t.key, body, { type: "application/x-ndjson" }));
    expect(job).toMatchObject({ format: "ndjson", size_bytes: bytes(body) });
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 2 });
    expect(await productSkus(t.tenantId)).toEqual(["N-1", "N-2"]);
  });

  for (const type of ["text/csv; charset=utf-8", "TEXT/CSV; Charset=UTF-8", 'text/csv; charset="utf-8"', "text/csv;charset=utf8"]) {
    it(`accepts Content-Type ${type}`, async () => {
      const t = await createTenant();
      const job = await accepted(await upload(t.key, CSV, { type }));
      expect(job.format).toBe("csv");
    });
  }

  it("411 when Content-Length is missing, storing nothing", async () => {
    const t = await createTenant();
    const res = await uploadStream(t.key, bodyStream([CSV]));
    expect(res.status).toBe(411);
    expect(await problemOf(res)).toMatchObject({
      type: "/problems/length-required",
      title: "Length required",
      status: 411,
      errors: [{ location: "header", name: "content-length", message: "is required" }],
    });
    await expectNothingStored(t.tenantId);
  });

  it("413 above MAX_UPLOAD_BYTES before any byte is stored", async () => {
    const t = await createTenant();
    expect(Number.isSafeInteger(MAX_UPLOAD)).toBe(true);
    const res = await uploadStream(t.key, bodyStream([CSV, CSV, CSV]), { length: MAX_UPLOAD + 1 });
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/payload-too-large", title: "Payload too large", status: 413, max_bytes: MAX_UPLOAD });
    expect(problem.detail).toContain(String(MAX_UPLOAD));
    await expectNothingStored(t.tenantId);
  });

  it("takes a file of exactly MAX_UPLOAD_BYTES as within the limit", async () => {
    const t = await createTenant();
    // Declared at the limit but cut short: not a 413, so the size check is inclusive; the short body is then an interrupted upload.
    const res = await interrupted(() => uploadStream(t.key, bodyStream([CSV]), { length: MAX_UPLOAD }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe("/problems/upload-interrupted");
    expect(await storedObjectKeys(t.tenantId)).toEqual([]);
  });

  it("400 for an empty body", async () => {
    const t = await createTenant();
    const res = await upload(t.key, "");
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({
      type: "/problems/empty-file",
      title: "Empty file",
      status: 400,
      errors: [{ location: "body", name: "(body)", message: "is empty" }],
    });
    await expectNothingStored(t.tenantId);
  });

  for (const type of ["application/json", "text/plain", "application/octet-stream", ""]) {
    it(`415 naming the accepted types for Content-Type "${type}"`, async () => {
      const t = await createTenant();
      const res = await request(IMPORT, { method: "POST", key: t.key, body: CSV, headers: type ? { "content-type": type } : {} });
      expect(res.status).toBe(415);
      expect(res.headers.get("accept")).toBe(ACCEPTED.join(", "));
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/unsupported-media-type", title: "Unsupported media type", status: 415, accepted: ACCEPTED });
      for (const name of ACCEPTED) expect(problem.detail).toContain(name);
      await expectNothingStored(t.tenantId);
    });
  }

  it("400 naming the header for a charset that is not supported, storing nothing", async () => {
    const t = await createTenant();
    for (const charset of ["shift_jis", "utf-32", '"iso-8859-15"']) {
      const res = await upload(t.key, CSV, { type: `text/csv; charset=${charset}` });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
      expect(problem.errors).toEqual([
        {
          location: "header",
          name: "content-type",
          message: `declares charset "${charset.replaceAll('"', "")}", which is not supported; use one of utf-8, utf-16, utf-16le, utf-16be, windows-1252, iso-8859-1`,
        },
      ]);
    }
    await expectNothingStored(t.tenantId);
  });
});

describe("POST /api/v1/products/import: charset", () => {
  it("accepts each supported charset and its aliases, in any case, recording its canonical name in the job's options", async () => {
    const t = await createTenant();
    for (const [label, charset] of [
      ["utf-8", "utf-8"],
      ["UTF8", "utf-8"],
      ["utf-16", "utf-16"],
      ["UTF-16LE", "utf-16le"],
      ["utf-16be", "utf-16be"],
      ["windows-1252", "windows-1252"],
      ["cp1252", "windows-1252"],
      ['"ISO-8859-1"', "iso-8859-1"],
      ["latin1", "iso-8859-1"],
    ] as const) {
      const job = await accepted(await upload(t.key, CSV, { type: `text/csv; charset=${label}` }));
      expect(job.options.charset, label).toBe(charset);
      expect(job.encoding).toBeNull();
    }
  });

  it("keeps an Idempotency-Key to the charset it was first used with", async () => {
    const t = await createTenant();
    const headers = { "idempotency-key": "charset-1" };
    expect((await upload(t.key, CSV, { type: "text/csv; charset=windows-1252", headers })).status).toBe(202);
    const again = await upload(t.key, CSV, { type: "text/csv; charset=windows-1252", headers });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const other = await upload(t.key, CSV, { type: "text/csv; charset=utf-8", headers });
    expect(other.status).toBe(422);
  });
});

describe("POST /api/v1/products/import: ambiguous Content-Type", () => {
  for (const type of ["text/csv; charset=utf-8; charset=iso-8859-1", "text/csv; charset=utf-8; CHARSET=utf-8"]) {
    it(`400 naming the header for "${type}"`, async () => {
      const t = await createTenant();
      const res = await upload(t.key, CSV, { type });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
      expect(problem.errors).toEqual([{ location: "header", name: "content-type", message: "gives charset 2 times; give it once" }]);
      await expectNothingStored(t.tenantId);
    });
  }
});

describe("POST /api/v1/products/import: multipart/form-data", () => {
  it("accepts a file part, named after the part's file name", async () => {
    const t = await createTenant();
    const job = await accepted(await postForm(t.key, multipart(CSV, "catalog.csv")));
    expect(job).toMatchObject({ status: "queued", format: "csv", file_name: "catalog.csv", size_bytes: bytes(CSV) });
    const object = await env.UPLOADS.get(`${t.tenantId}/${job.id}`);
    expect(object?.httpMetadata?.contentType).toBe("text/csv");
    expect(await object?.text()).toBe(CSV);
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 2 });
  });

  it("takes the format from the part's type, and the filename query over the part's name", async () => {
    const t = await createTenant();
    const form = new FormData();
    form.append("file", new File(['{"sku":"M-1","name":"Pen","price":"1"}\n'], "upload.bin", { type: "application/x-ndjson" }));
    const job = await accepted(await postForm(t.key, form, "?filename=pens.ndjson"));
    expect(job).toMatchObject({ format: "ndjson", file_name: "pens.ndjson" });
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 1 });
  });

  it("cuts a long part file name to 255 characters keeping its extension, in every response that shows it", async () => {
    const t = await createTenant();
    const huge = `${"x".repeat(1_000_000)}.csv`;
    const job = await accepted(await postForm(t.key, multipart(CSV, huge)));
    const cut = `${"x".repeat(251)}.csv`;
    expect(job.file_name).toBe(cut);
    const list = (await (await request(IMPORT, { key: t.key })).json()) as { data: Job[] };
    expect(list.data.map((j) => j.file_name)).toEqual([cut]);
    const status = (await (await request(`${IMPORT}/status`, { key: t.key })).json()) as { last_jobs: Job[] };
    expect(status.last_jobs.map((j) => j.file_name)).toEqual([cut]);
    expect((await getJob(t.key, job.id)).file_name).toBe(cut);
    // Characters are code points: a name of emoji is cut between them, never inside a surrogate pair.
    const emoji = await accepted(await postForm(t.key, multipart(CSV, `${"\u{1F4E6}".repeat(300)}.ndjson`)));
    expect(emoji.file_name).toBe(`${"\u{1F4E6}".repeat(248)}.ndjson`);
  });

  it("removes control characters from the part's file name", async () => {
    const t = await createTenant();
    // Raw controls go, and so does the right-to-left override that would show the name's end reversed.
    const job = await accepted(await postForm(t.key, multipart(CSV, "cat\u0001al\u007fog\t\u009b\u202e.csv")));
    expect(job.file_name).toBe("catalog.csv");
    const none = await accepted(await postForm(t.key, multipart(CSV, "\u0007\u0008")));
    expect(none.file_name).toBeNull();
  });

  it("400 naming file for two file parts, storing nothing", async () => {
    const t = await createTenant();
    const form = multipart(CSV, "a.csv");
    form.append("file", new File(["sku,name,price\nZ-1,Other,1\n"], "b.csv", { type: "text/csv" }));
    const res = await postForm(t.key, form);
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
    expect(problem.errors).toEqual([{ location: "body", name: "file", message: "is given 2 times; send one part named file" }]);
    await expectNothingStored(t.tenantId);
  });

  it("400 naming file for a file part whose Content-Type gives charset twice", async () => {
    const t = await createTenant();
    const form = new FormData();
    form.append("file", new File([CSV], "a.csv", { type: "text/csv; charset=utf-8; charset=iso-8859-1" }));
    const res = await postForm(t.key, form);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "body", name: "file", message: "gives charset 2 times; give it once" }]);
    await expectNothingStored(t.tenantId);
  });

  it("400 naming file when the file part is missing", async () => {
    const t = await createTenant();
    const res = await postForm(t.key, multipart(null, "x", { profile: "erp" }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
    expect(problem.errors).toEqual([{ location: "body", name: "file", message: expect.stringContaining("file") }]);
    await expectNothingStored(t.tenantId);
  });

  it("400 naming each field the form does not take, with the field or query parameter it may mean, storing nothing", async () => {
    const t = await createTenant();
    const form = multipart(null, "x", { blank_cells: "keep", mapings: "{}", note: "hi", note2: "again" });
    form.append("fil", new File([CSV], "a.csv", { type: "text/csv" }));
    form.append("blank_cell", "keep");
    const res = await postForm(t.key, form);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([
      { location: "body", name: "blank_cells", message: "is not a field of this form but a query parameter: give it in the URL" },
      { location: "body", name: "mapings", message: "is not a field of this form; did you mean mapping?" },
      { location: "body", name: "note", message: "is not a field of this form, which takes file, profile and mapping" },
      { location: "body", name: "note2", message: "is not a field of this form, which takes file, profile and mapping" },
      { location: "body", name: "fil", message: "is not a field of this form; did you mean file?" },
      { location: "body", name: "blank_cell", message: "is not a field of this form; did you mean the query parameter blank_cells (given in the URL)?" },
    ]);
    await expectNothingStored(t.tenantId);
  });

  it("400 naming file when file is a plain field rather than a file", async () => {
    const t = await createTenant();
    const form = new FormData();
    form.append("file", CSV);
    const res = await postForm(t.key, form);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "body", name: "file", message: expect.any(String) }]);
    await expectNothingStored(t.tenantId);
  });

  it("411 for a multipart body without Content-Length", async () => {
    const t = await createTenant();
    const encoded = new Response(multipart(CSV));
    const type = encoded.headers.get("content-type") ?? "";
    expect(type).toMatch(/^multipart\/form-data; boundary=/);
    const buffered = new Uint8Array(await encoded.arrayBuffer());
    // A plain JS stream has no known length, so no Content-Length travels with it.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(buffered);
        controller.close();
      },
    });
    const res = await uploadStream(t.key, stream, { type });
    expect(res.status).toBe(411);
    expect(await problemOf(res)).toMatchObject({
      type: "/problems/length-required",
      status: 411,
      errors: [{ location: "header", name: "content-length", message: "is required" }],
    });
    await expectNothingStored(t.tenantId);
  });

  it("reads the file in the charset its part declares (iso-8859-1 as Windows-1252)", async () => {
    const t = await createTenant();
    const latin1 = new Uint8Array([...new TextEncoder().encode("sku,name,price\nA-1,Caf"), 0xe9, 0x20, 0x80, ...new TextEncoder().encode(",1\n")]);
    const form = new FormData();
    form.append("file", new File([latin1], "latin1.csv", { type: "text/csv; charset=iso-8859-1" }));
    const job = await accepted(await postForm(t.key, form));
    expect(job.options.charset).toBe("iso-8859-1");
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 1, encoding: "windows-1252" });
    const product = (await (await request("/api/v1/products/A-1", { key: t.key })).json()) as { name: string };
    expect(product.name).toBe("Café €");
  });

  it("400 naming file for a file part that declares a charset that is not supported", async () => {
    const t = await createTenant();
    const form = new FormData();
    form.append("file", new File([CSV], "a.csv", { type: "text/csv; charset=koi8-r" }));
    const res = await postForm(t.key, form);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "body", name: "file", message: expect.stringMatching(/^declares charset "koi8-r", which is not supported/) }]);
    await expectNothingStored(t.tenantId);
  });

  it("413 above the lower MAX_MULTIPART_BYTES cap", async () => {
    const t = await createTenant();
    expect(MAX_MULTIPART).toBeLessThan(MAX_UPLOAD);
    const big = new File([new Uint8Array(MAX_MULTIPART + 1).fill(0x61)], "big.csv", { type: "text/csv" });
    const form = new FormData();
    form.append("file", big);
    const res = await postForm(t.key, form);
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/payload-too-large", status: 413, max_bytes: MAX_MULTIPART });
    await expectNothingStored(t.tenantId);
  });

  it("400 for an empty file part", async () => {
    const t = await createTenant();
    const res = await postForm(t.key, multipart(""));
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/empty-file", status: 400 });
    await expectNothingStored(t.tenantId);
  });

  it("415 for a file part that is neither CSV nor NDJSON", async () => {
    const t = await createTenant();
    const form = new FormData();
    form.append("file", new File(["GIF89a"], "logo.gif", { type: "image/gif" }));
    const res = await postForm(t.key, form);
    expect(res.status).toBe(415);
    expect(await problemOf(res)).toMatchObject({ type: "/problems/unsupported-media-type", status: 415, accepted: ACCEPTED });
    await expectNothingStored(t.tenantId);
  });
});

describe("POST /api/v1/products/import: options", () => {
  it("records filename, currency, delimiter and dry_run on the job", async () => {
    const t = await createTenant();
    const job = await accepted(await upload(t.key, CSV, { query: "filename=spring%20catalog.csv&currency=eur&delimiter=%3B&dry_run=false" }));
    expect(job).toMatchObject({ file_name: "spring catalog.csv", dry_run: false, options: { currency: "EUR", delimiter: ";" } });
    const tab = await accepted(await upload(t.key, "sku\tname\tprice\nT-1\tTab\t3\n", { query: "delimiter=tab&dry_run=true&currency=JPY" }));
    expect(tab).toMatchObject({ file_name: null, dry_run: true, options: { currency: "JPY", delimiter: "tab" } });
    const comma = await accepted(await upload(t.key, CSV, { query: "delimiter=," }));
    expect(comma.options).toEqual({ currency: "USD", delimiter: ",", blank_cells: "clear", on_invalid: "reject_row", charset: null, mode: "upsert", max_archive: null });
    // The API answers the same for a GET of the job.
    const res = await request(`${IMPORT}/${job.id}`, { key: t.key });
    expect(await res.json()).toMatchObject({ file_name: "spring catalog.csv", options: { currency: "EUR", delimiter: ";" } });
  });

  it("takes a filename of 255 characters, counted as code points", async () => {
    const t = await createTenant();
    const name = `${"\u{1F4E6}".repeat(251)}.csv`;
    const job = await accepted(await upload(t.key, CSV, { query: `filename=${encodeURIComponent(name)}` }));
    expect(job.file_name).toBe(name);
  });

  it("applies the currency to rows without one and parses with the chosen delimiter", async () => {
    const t = await createTenant();
    const job = await accepted(await upload(t.key, "sku;name;price;currency\nS-1;Soap, lavender;4.50;\nS-2;Brush;3;USD\n", { query: "currency=EUR&delimiter=%3B" }));
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 2, error_count: 0 });
    const s1 = await (await request("/api/v1/products/S-1", { key: t.key })).json();
    expect(s1).toMatchObject({ name: "Soap, lavender", price: "4.50", currency: "EUR" });
    const s2 = await (await request("/api/v1/products/S-2", { key: t.key })).json();
    expect(s2).toMatchObject({ currency: "USD" });
  });

  it("dry_run=true reports what would be created, updated and unchanged and every error, writing no product", async () => {
    const t = await createTenant();
    await seedProducts(t.tenantId, [
      { sku: "SAME", name: "Same", priceMinor: 500, currency: "USD" },
      { sku: "CHANGED", name: "Old name", priceMinor: 500, currency: "USD" },
    ]);
    const before = await env.DB.prepare("SELECT * FROM products WHERE tenant_id = ? ORDER BY sku_key").bind(t.tenantId).all();
    const csv = "sku,name,price,stock,status\nSAME,Same,5.00,0,active\nCHANGED,New name,5.00,0,active\nNEW-1,New,1,0,active\nBAD,Bad,abc,0,active\nNEW-2,,2,0,active\n";
    const queued = await accepted(await upload(t.key, csv, { query: "dry_run=true" }));
    expect(queued.dry_run).toBe(true);
    const job = await waitForJob(t.key, queued.id);
    expect(job).toMatchObject({
      status: "completed",
      dry_run: true,
      total_rows: 5,
      processed_rows: 5,
      created: 1,
      updated: 1,
      unchanged: 1,
      rejected_rows: 2,
      error_count: 2,
    });
    const errors = await (await request(`${IMPORT}/${job.id}/errors`, { key: t.key })).json();
    expect(errors).toMatchObject({
      data: [
        { line: 5, column: "price", code: "invalid_price", value: "abc" },
        { line: 6, column: "name", code: "required" },
      ],
      next_cursor: null,
    });
    const after = await env.DB.prepare("SELECT * FROM products WHERE tenant_id = ? ORDER BY sku_key").bind(t.tenantId).all();
    expect(after.results).toEqual(before.results);
  });

  const invalid: [string, string, RegExp][] = [
    ["currency=XYZ", "currency", /ISO 4217/],
    ["currency=US", "currency", /ISO 4217/],
    ["currency=", "currency", /ISO 4217/],
    ["delimiter=%7C", "delimiter", /","|tab/],
    ["delimiter=%5Ct", "delimiter", /tab/],
    ["dry_run=yes", "dry_run", /true or false/],
    ["filename=", "filename", /./],
    [`filename=${"f".repeat(256)}`, "filename", /at most 255 characters/],
    ["filename=a%0Ab.csv", "filename", /control characters/],
    ["filename=a%09b.csv", "filename", /control characters/],
    ["filename=a%00b.csv", "filename", /control characters/],
    ["filename=invoice%E2%80%AEvsc.exe", "filename", /control characters/],
    ["filename=invoice%E2%80%8Fvsc.exe", "filename", /control characters/],
    ["filename=a%E2%80%A8b.csv", "filename", /control characters/],
    ["dry_run=true&dry_run=false", "dry_run", /^is given 2 times; give it once$/],
    ["currency=USD&currency=EUR", "currency", /^is given 2 times; give it once$/],
    // Ignored, the misspelt option would leave the default in place: blank cells would clear what was meant to be kept.
    ["blank_cell=keep", "blank_cell", /^is not a parameter of this operation; did you mean blank_cells\?$/],
    ["onInvalid=skip_field", "onInvalid", /^is not a parameter of this operation; did you mean on_invalid\?$/],
    ["dryrun=true", "dryrun", /^is not a parameter of this operation; did you mean dry_run\?$/],
    ["charset=utf-8", "charset", /^is not a parameter of this operation; which takes filename, currency, delimiter, blank_cells, on_invalid, dry_run, profile, mapping, mode and max_archive$/],
  ];
  for (const [query, name, message] of invalid) {
    it(`400 naming ${name} for ?${query.slice(0, 40)}`, async () => {
      const t = await createTenant();
      const res = await upload(t.key, CSV, { query });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", title: "Invalid request", status: 400 });
      expect(problem.errors).toEqual([{ location: "query", name, message: expect.stringMatching(message) }]);
      await expectNothingStored(t.tenantId);
    });
  }
});

describe("POST /api/v1/products/import: Idempotency-Key", () => {
  const idem = (key: string) => ({ "idempotency-key": key });

  it("replays the stored response for a repeat and creates nothing", async () => {
    const t = await createTenant();
    const first = await upload(t.key, CSV, { headers: idem("order-42"), query: "filename=a.csv" });
    expect(first.status).toBe(202);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstBody = await first.text();
    const id = (JSON.parse(firstBody) as Job).id;
    await waitForJob(t.key, id);

    const again = await upload(t.key, CSV, { headers: idem("order-42"), query: "filename=a.csv" });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("location")).toBe(`${IMPORT}/${id}`);
    expect(await again.text()).toBe(firstBody);
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([id]);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${id}`]);
  });

  it("keeps the key 24 hours: replayed until it expires, a fresh request after", async () => {
    const t = await createTenant();
    const first = await accepted(await upload(t.key, CSV, { headers: idem("daily") }));
    const row = await env.DB.prepare("SELECT created_at, expires_at, response_status FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
      .bind(t.tenantId, "daily")
      .first<{ created_at: number; expires_at: number; response_status: number }>();
    expect(row?.response_status).toBe(202);
    expect((row?.expires_at ?? 0) - (row?.created_at ?? 0)).toBe(24 * 60 * 60 * 1000);

    // 23 hours later: still replayed.
    const now = Date.now();
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = ?, expires_at = ? WHERE tenant_id = ? AND key = ?")
      .bind(now - 23 * 3600_000, now + 3600_000, t.tenantId, "daily")
      .run();
    const replay = await upload(t.key, CSV, { headers: idem("daily") });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);

    // Past 24 hours: the key is free again, even for a different request.
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = ?, expires_at = ? WHERE tenant_id = ? AND key = ?")
      .bind(now - 24 * 3600_000 - 1, now - 1, t.tenantId, "daily")
      .run();
    const fresh = await upload(t.key, `${CSV}C-3,Cap,5\n`, { headers: idem("daily") });
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    const second = await accepted(fresh);
    expect(second.id).not.toBe(first.id);
    expect(await jobRowsOf(t.tenantId)).toHaveLength(2);
  });

  const variants: [string, { body?: string; query?: string; type?: string }][] = [
    ["a different length", { body: `${CSV}C-3,Cap,5\n` }],
    ["a different filename", { query: "filename=other.csv" }],
    ["a different currency", { query: "currency=EUR" }],
    ["a different delimiter", { query: "delimiter=," }],
    ["dry_run", { query: "dry_run=true" }],
    ["a different format", { type: "application/x-ndjson" }],
  ];
  for (const [label, change] of variants) {
    it(`422 for the same key with ${label}`, async () => {
      const t = await createTenant();
      const first = await accepted(await upload(t.key, CSV, { headers: idem("k-1") }));
      const res = await upload(t.key, change.body ?? CSV, { headers: idem("k-1"), query: change.query, type: change.type });
      expect(res.status).toBe(422);
      expect(res.headers.get("idempotent-replayed")).toBeNull();
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/idempotency-key-reused", status: 422 });
      expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    });
  }

  it("422 for the same key with other content of the same length, creating no job and storing nothing", async () => {
    const t = await createTenant();
    const first = await accepted(await upload(t.key, CSV, { headers: idem("same-size") }));
    const other = CSV.replace("A-1", "A-9");
    expect(bytes(other)).toBe(bytes(CSV));
    const res = await upload(t.key, other, { headers: idem("same-size") });
    expect(res.status).toBe(422);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect(await problemOf(res)).toMatchObject({ type: "/problems/idempotency-key-reused", status: 422, detail: expect.stringContaining("content") });
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${first.id}`]);
    // The key still belongs to the first request: its content is replayed.
    const again = await upload(t.key, CSV, { headers: idem("same-size") });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Job).id).toBe(first.id);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${first.id}`]);
  });

  it("compares a multipart repeat by the file part's content", async () => {
    const t = await createTenant();
    const first = await accepted(await postForm(t.key, multipart(CSV), "", idem("form")));
    const replay = await postForm(t.key, multipart(CSV), "", idem("form"));
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);
    const other = await postForm(t.key, multipart(CSV.replace("Mug", "Cup")), "", idem("form"));
    expect(other.status).toBe(422);
    expect((await problemOf(other)).type).toBe("/problems/idempotency-key-reused");
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${first.id}`]);
  });

  it("replays a multipart retry of the same file sent with another boundary (another request length)", async () => {
    const t = await createTenant();
    const body = (boundary: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n${CSV}\r\n--${boundary}--\r\n`;
    const send = (boundary: string) =>
      request(IMPORT, {
        method: "POST",
        key: t.key,
        body: body(boundary),
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, ...idem("boundary") },
      });
    const first = await accepted(await send("abc"));
    const retry = await send("abcdefghijklmnop");
    expect(retry.status).toBe(202);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retry.json()) as Job).id).toBe(first.id);
  });

  it("a repeat whose body breaks off is an interrupted upload that leaves the key with the first request", async () => {
    const t = await createTenant();
    const first = await accepted(await upload(t.key, CSV, { headers: idem("cut-repeat") }));
    const broken = await uploadStream(t.key, bodyStream([CSV.slice(0, 10)]), { length: bytes(CSV), headers: idem("cut-repeat") });
    expect(broken.status).toBe(400);
    expect(await problemOf(broken)).toMatchObject({ type: "/problems/upload-interrupted", detail: INTERRUPTED });
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    const again = await upload(t.key, CSV, { headers: idem("cut-repeat") });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Job).id).toBe(first.id);
  });

  it("records the SHA-256 of the accepted file with the key", async () => {
    const t = await createTenant();
    await accepted(await upload(t.key, CSV, { headers: idem("hashed") }));
    const row = await env.DB.prepare("SELECT content_hash FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
      .bind(t.tenantId, "hashed")
      .first<{ content_hash: string }>();
    const expected = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(CSV)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(row?.content_hash).toBe(expected);
  });

  it("replays a record kept from before content hashes on what it recorded", async () => {
    const t = await createTenant();
    const first = await accepted(await upload(t.key, CSV, { headers: idem("legacy") }));
    await env.DB.prepare("UPDATE idempotency_keys SET content_hash = NULL WHERE tenant_id = ? AND key = ?").bind(t.tenantId, "legacy").run();
    const replay = await upload(t.key, CSV.replace("A-1", "A-9"), { headers: idem("legacy") });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);
    expect(await storedObjectKeys(t.tenantId)).toEqual([`${t.tenantId}/${first.id}`]);
  });

  it("409 for a repeat while the first request is still being accepted", async () => {
    const t = await createTenant();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const encoder = new TextEncoder();
    let pulls = 0;
    // The first request's body arrives slowly: half, then the rest only once the test says so.
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) return controller.enqueue(encoder.encode(CSV.slice(0, 10)));
        await gate;
        controller.enqueue(encoder.encode(CSV.slice(10)));
        controller.close();
      },
    });
    const firstPromise = uploadStream(t.key, slow, { length: bytes(CSV), headers: idem("slow") });
    try {
      // Wait until the first request holds the key (claimed, no response yet).
      const deadline = Date.now() + 5000;
      for (;;) {
        const row = await env.DB.prepare("SELECT response_status FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
          .bind(t.tenantId, "slow")
          .first<{ response_status: number | null }>();
        if (row) {
          expect(row.response_status).toBeNull();
          break;
        }
        if (Date.now() > deadline) throw new Error("the first request never claimed the key");
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = await upload(t.key, CSV, { headers: idem("slow") });
      expect(second.status).toBe(409);
      expect(await problemOf(second)).toMatchObject({ type: "/problems/conflict", title: "Conflict", status: 409 });
    } finally {
      release();
    }
    const first = await accepted(await firstPromise);
    expect((await jobRowsOf(t.tenantId)).map((j) => j.id)).toEqual([first.id]);
    // Once accepted, the same repeat is a replay.
    const third = await upload(t.key, CSV, { headers: idem("slow") });
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(((await third.json()) as Job).id).toBe(first.id);
  });

  it("scopes keys per tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const jobA = await accepted(await upload(a.key, CSV, { headers: idem("shared-key") }));
    const resB = await upload(b.key, CSV, { headers: idem("shared-key") });
    expect(resB.headers.get("idempotent-replayed")).toBeNull();
    const jobB = await accepted(resB);
    expect(jobB.id).not.toBe(jobA.id);
    // A different request from b with the key is not a mismatch against a's.
    expect((await upload(b.key, `${CSV}X,Y,1\n`, { headers: idem("other") })).status).toBe(202);
    expect(await jobRowsOf(a.tenantId)).toHaveLength(1);
    expect(await jobRowsOf(b.tenantId)).toHaveLength(2);
    // b's replay returns b's job, never a's.
    const replayB = await upload(b.key, CSV, { headers: idem("shared-key") });
    expect(((await replayB.json()) as Job).id).toBe(jobB.id);
  });

  it("accepts a key of 255 printable characters", async () => {
    const t = await createTenant();
    const key = `${"k".repeat(250)}-_:/~`;
    expect(key).toHaveLength(255);
    await accepted(await upload(t.key, CSV, { headers: idem(key) }));
    const replay = await upload(t.key, CSV, { headers: idem(key) });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  for (const [label, key] of [
    ["300 characters", "k".repeat(300)],
    ["256 characters", "k".repeat(256)],
    ["a space", "two words"],
    ["a tab", "tab\tinside"],
    ["nothing in it", ""],
  ] as const) {
    it(`400 naming the header for a key with ${label}`, async () => {
      const t = await createTenant();
      const res = await upload(t.key, CSV, { headers: idem(key) });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
      expect(problem.errors).toEqual([{ location: "header", name: "idempotency-key", message: expect.stringContaining("255") }]);
      await expectNothingStored(t.tenantId);
    });
  }

  it("refuses a malformed key before the body: the key is named, not the body's type", async () => {
    const t = await createTenant();
    const res = await request(IMPORT, { method: "POST", key: t.key, body: CSV, headers: { "content-type": "application/json", ...idem("two words") } });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "header", name: "idempotency-key", message: expect.stringContaining("255") }]);
    await expectNothingStored(t.tenantId);
  });

  it("frees the key when the upload fails, so the client can retry with it", async () => {
    const t = await createTenant();
    const broken = await interrupted(() => uploadStream(t.key, bodyStream([CSV.slice(0, 10)]), { length: bytes(CSV), headers: idem("retry-me") }));
    expect(broken.status).toBe(400);
    const retry = await upload(t.key, CSV, { headers: idem("retry-me") });
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    const job = await accepted(retry);
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 2 });
  });
});

describe("POST /api/v1/products/import: an upload that breaks midway", () => {
  for (const [label, stream] of [
    ["delivers fewer bytes than its Content-Length", () => bodyStream(["sku,name,price\n", "A-1,Shirt,"])],
    ["fails midway", () => bodyStream(["sku,name,price\n", "A-1,Shirt,"], "error")],
  ] as const) {
    it(`leaves a failed job with a reason and no object when the body ${label}`, async () => {
      const t = await createTenant();
      const unhandled: unknown[] = [];
      const onUnhandled = (event: PromiseRejectionEvent) => void unhandled.push(event.reason);
      addEventListener("unhandledrejection", onUnhandled);
      let res: Response;
      try {
        res = await interrupted(() => uploadStream(t.key, stream(), { length: bytes(CSV) }));
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        removeEventListener("unhandledrejection", onUnhandled);
      }
      expect(unhandled).toEqual([]);
      expect(res.status).toBe(400);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/upload-interrupted", title: "Upload interrupted", status: 400, detail: INTERRUPTED });
      const rows = await jobRowsOf(t.tenantId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: "failed", failure_reason: INTERRUPTED, finished_at: expect.any(Number) });
      expect(await storedObjectKeys(t.tenantId)).toEqual([]);
      expect(await env.UPLOADS.head(rows[0]?.object_key ?? "")).toBeNull();
      // The API shows the same failed job, and nothing was imported.
      const job = (await (await request(`${IMPORT}/${rows[0]?.id}`, { key: t.key })).json()) as Job;
      expect(job).toMatchObject({ status: "failed", failure_reason: INTERRUPTED, processed_rows: 0, created: 0, started_at: null });
      expect(job.finished_at).toMatch(ISO);
      expect(await productSkus(t.tenantId)).toEqual([]);
    });
  }
});
