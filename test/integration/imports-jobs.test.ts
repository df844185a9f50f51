import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addKey, createTenant, problemOf, request, seedProducts } from "../helpers.ts";
import { importFile, insertJobRow, type Job, upload, waitForJob } from "../imports-helpers.ts";

const IMPORT = "/api/v1/products/import";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface RowError {
  line: number;
  column: string | null;
  code: string;
  message: string;
  value: string | null;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

async function json<T>(path: string, key: string): Promise<T> {
  const res = await request(path, { key });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Follows next_cursor from the first page to the last, collecting every item. */
async function allPages<T>(path: string, key: string, query: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: Page<T> = await json(`${path}${sep}${query}${cursor ? `&cursor=${cursor}` : ""}`, key);
    items.push(...page.data);
    cursor = page.next_cursor;
    pages++;
    if (pages > 100) throw new Error("pagination does not end");
  } while (cursor);
  return { items, pages };
}

/** Two problems answered alike: same members and values, but for the request id and the detail (which names the id asked for). */
async function expectSameProblem(a: Response, b: Response): Promise<void> {
  expect(a.status).toBe(404);
  expect(b.status).toBe(404);
  const pa = await problemOf(a);
  const pb = await problemOf(b);
  expect(Object.keys(pa).sort()).toEqual(Object.keys(pb).sort());
  expect({ ...pa, instance: null, detail: null }).toEqual({ ...pb, instance: null, detail: null });
  expect(pa).toMatchObject({ type: "/problems/not-found", title: "Not found", status: 404 });
}

const HEADER = "sku,name,price\n";

describe("GET /api/v1/products/import/{job_id}", () => {
  it("returns the finished job with its counts, timestamps and links", async () => {
    const t = await createTenant();
    const body = `${HEADER}A-1,Shirt,19.99\nB-2,Mug,oops\nC-3,Cap,5\n`;
    const res = await upload(t.key, body, { query: "filename=shop.csv" });
    const { id } = (await res.json()) as Job;
    await waitForJob(t.key, id);
    const get = await request(`${IMPORT}/${id}`, { key: t.key });
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toContain("application/json");
    const job = (await get.json()) as Job;
    // The last slice's pace depends on the clock: a number, or null when its commit came in the millisecond it started.
    expect(job.rows_per_second === null || job.rows_per_second >= 0).toBe(true);
    expect(job).toEqual({
      id,
      kind: "import",
      revert_of: null,
      status: "completed",
      waiting_for: null,
      format: "csv",
      file_name: "shop.csv",
      size_bytes: new TextEncoder().encode(body).byteLength,
      content_encoding: null,
      inflated_bytes: null,
      bytes_processed: new TextEncoder().encode(body).byteLength,
      progress: 1,
      rows_per_second: job.rows_per_second,
      eta_seconds: null,
      dry_run: false,
      options: { currency: "USD", delimiter: null, blank_cells: "clear", on_invalid: "reject_row", charset: null, mode: "upsert", max_archive: null },
      profile: null,
      mapping: null,
      preset: null,
      preset_detected: false,
      total_rows: 3,
      processed_rows: 3,
      created: 2,
      updated: 0,
      unchanged: 0,
      rejected_rows: 1,
      skipped_rows: 0,
      failed_rows: 1,
      error_count: 1,
      warning_count: 0,
      would_archive: null,
      archive_limit: null,
      archived: 0,
      reverted: 0,
      kept: 0,
      keeps_revert_data: true,
      ignored_columns: [],
      ignored_columns_omitted: 0,
      encoding: "utf-8",
      notes: [],
      failure_reason: null,
      created_at: expect.stringMatching(ISO),
      queued_at: expect.stringMatching(ISO),
      started_at: expect.stringMatching(ISO),
      finished_at: expect.stringMatching(ISO),
      confirmed_at: null,
      cancel_requested_at: null,
      canceled_at: null,
      duration_ms: expect.any(Number),
      retry_of: null,
      feed_id: null,
      retries: { count: 0, latest: null },
      links: { self: `${IMPORT}/${id}`, errors: `${IMPORT}/${id}/errors`, failed_rows: `${IMPORT}/${id}/failed-rows` },
    });
    const [created, queued, started, finished] = [job.created_at, job.queued_at, job.started_at, job.finished_at].map((s) => Date.parse(s as string));
    expect(created).toBeLessThanOrEqual(queued as number);
    expect(queued).toBeLessThanOrEqual(started as number);
    expect(started).toBeLessThanOrEqual(finished as number);
    expect(job.duration_ms).toBe((finished as number) - (started as number));
    // The links lead to the job and its errors.
    const links = job.links as { self: string; errors: string };
    expect((await json<Job>(links.self, t.key)).id).toBe(id);
    const errors = await json<Page<RowError>>(links.errors, t.key);
    expect(errors.data).toEqual([{ line: 3, column: "price", code: "invalid_price", message: expect.any(String), value: "oops", severity: "error" }]);
  });

  it("reports ignored columns", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, "sku,name,price,colour,weight\nA,B,1,red,2kg\n");
    expect(job).toMatchObject({ status: "completed", created: 1, ignored_columns: ["colour", "weight"] });
  });

  it("shows null timestamps and duration until they happen", async () => {
    const t = await createTenant();
    const createdAt = Date.parse("2026-05-01T12:00:00.000Z");
    await insertJobRow(t.tenantId, { id: "imp_waitingJobAAAAAAAAAAAAA", createdAt, status: "pending" });
    const job = await json<Job>(`${IMPORT}/imp_waitingJobAAAAAAAAAAAAA`, t.key);
    expect(job).toMatchObject({
      status: "pending",
      created_at: "2026-05-01T12:00:00.000Z",
      queued_at: null,
      started_at: null,
      finished_at: null,
      duration_ms: null,
      total_rows: null,
    });
    await insertJobRow(t.tenantId, { id: "imp_runningJobAAAAAAAAAAAAA", createdAt, status: "processing", startedAt: createdAt + 1000 });
    const running = await json<Job>(`${IMPORT}/imp_runningJobAAAAAAAAAAAAA`, t.key);
    expect(running).toMatchObject({ started_at: "2026-05-01T12:00:01.000Z", finished_at: null, duration_ms: null });
  });

  it("answers another tenant's job exactly like a missing one", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await importFile(owner.key, `${HEADER}A,B,1\n`);
    const foreign = await request(`${IMPORT}/${job.id}`, { key: other.key });
    const missing = await request(`${IMPORT}/imp_${"x".repeat(22)}`, { key: other.key });
    await expectSameProblem(foreign, missing);
    // The owner still sees it.
    expect((await request(`${IMPORT}/${job.id}`, { key: owner.key })).status).toBe(200);
  });

  it("is not confused with a product: /import/{id} is always the job", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}import,Product called import,1\n`);
    const res = await request(`${IMPORT}/${job.id}`, { key: t.key });
    expect(((await res.json()) as Job).id).toBe(job.id);
    const wrongMethod = await request(`${IMPORT}/${job.id}`, { method: "POST", key: t.key });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("GET /api/v1/products/import/{job_id}/errors", () => {
  const badRows = (n: number, first = 0) => Array.from({ length: n }, (_, i) => `E-${first + i},Name,bad${first + i}\n`).join("");

  it("returns stored row errors in line order, paginated without gaps or repeats", async () => {
    const t = await createTenant();
    // Errors interleaved with good rows, one row with two errors.
    const csv = `${HEADER}OK-1,Fine,1\nE-1,,bad\nOK-2,Fine,2\nE-2,Name,x\nE-3,Name,1.234\n,Name,2\nOK-3,Fine,3\nE-4,Name,-1\n`;
    const job = await importFile(t.key, csv);
    expect(job).toMatchObject({ rejected_rows: 5, error_count: 6 });
    const whole = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key);
    expect(whole.next_cursor).toBeNull();
    expect(whole.data.map((e) => [e.line, e.column, e.code])).toEqual([
      [3, "name", "required"],
      [3, "price", "invalid_price"],
      [5, "price", "invalid_price"],
      [6, "price", "too_many_decimals"],
      [7, "sku", "required"],
      [9, "price", "negative"],
    ]);
    for (const limit of [1, 2, 4, 5]) {
      const { items, pages } = await allPages<RowError>(`${IMPORT}/${job.id}/errors`, t.key, `limit=${limit}`);
      expect(items).toEqual(whole.data);
      expect(pages).toBe(Math.ceil(6 / limit));
    }
    const first = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors?limit=6`, t.key);
    expect(first.next_cursor).toBeNull();
  });

  it("defaults to 100 per page", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}${badRows(101)}`);
    const first = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key);
    expect(first.data).toHaveLength(100);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors?cursor=${first.next_cursor}`, t.key);
    expect(second.data.map((e) => e.value)).toEqual(["bad100"]);
    expect(second.next_cursor).toBeNull();
  });

  it("returns an empty page (or a header-only CSV) for a job without errors", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}A,B,1\n`);
    expect(await json(`${IMPORT}/${job.id}/errors`, t.key)).toEqual({ data: [], next_cursor: null });
    const csv = await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } });
    expect(await csv.text()).toBe("line,column,code,message,value,severity\r\n");
  });

  it("stores only the first MAX_STORED_ERRORS errors but counts them all", async () => {
    const t = await createTenant();
    const max = Number(env.MAX_STORED_ERRORS);
    expect(max).toBe(1000);
    const job = await importFile(t.key, `${HEADER}${badRows(1200)}`);
    expect(job).toMatchObject({ status: "completed", total_rows: 1200, processed_rows: 1200, rejected_rows: 1200, error_count: 1200, created: 0 });
    const stored = await env.DB.prepare("SELECT count(*) AS n, min(line) AS first, max(line) AS last FROM import_errors WHERE job_id = ?")
      .bind(job.id)
      .first<{ n: number; first: number; last: number }>();
    expect(stored).toEqual({ n: max, first: 2, last: max + 1 });

    const { items, pages } = await allPages<RowError>(`${IMPORT}/${job.id}/errors`, t.key, "limit=300");
    expect(pages).toBe(4);
    expect(items).toHaveLength(max);
    expect(items.map((e) => e.line)).toEqual(Array.from({ length: max }, (_, i) => i + 2));
    const one = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors?limit=1000`, t.key);
    expect(one.data).toHaveLength(max);
    expect(one.next_cursor).toBeNull();

    const csv = await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } });
    const lines = (await csv.text()).split("\r\n");
    expect(lines.at(-1)).toBe("");
    expect(lines).toHaveLength(max + 2); // header + stored errors + the empty string after the last CRLF
    expect(lines[0]).toBe("line,column,code,message,value,severity");
    expect(lines.slice(1, -1).map((l) => Number(l.split(",")[0]))).toEqual(Array.from({ length: max }, (_, i) => i + 2));
    expect(lines[max]).toMatch(/^1001,price,[a-z_]+,.*,bad999,error$/);
    expect(lines[max + 1]).toBe("");
  });

  const invalid: [string, string, RegExp][] = [
    ["limit=0", "limit", /integer from 1 to 1000/],
    ["limit=1001", "limit", /integer from 1 to 1000/],
    ["limit=ten", "limit", /integer from 1 to 1000/],
    ["limit=-1", "limit", /integer from 1 to 1000/],
    ["cursor=%%%", "cursor", /next_cursor/],
    ["cursor=WzEsMl0", "cursor", /next_cursor/], // [1,2]: the right encoding, the wrong key
    ["cursor=WyJhIl0", "cursor", /next_cursor/], // ["a"]
  ];
  for (const [query, name, message] of invalid) {
    it(`400 naming ${name} for ?${query}`, async () => {
      const t = await createTenant();
      const job = await importFile(t.key, `${HEADER}A,B,x\n`);
      for (const accept of ["application/json", "text/csv"]) {
        const res = await request(`${IMPORT}/${job.id}/errors?${query}`, { key: t.key, headers: { accept } });
        expect(res.status).toBe(400);
        const problem = await problemOf(res);
        expect(problem).toMatchObject({ type: "/problems/validation-error", status: 400 });
        expect(problem.errors).toEqual([{ location: "query", name, message: expect.stringMatching(message) }]);
      }
    });
  }

  it("names the path parameter when both the job id and the query are invalid", async () => {
    const t = await createTenant();
    const res = await request(`${IMPORT}/${"j".repeat(65)}/errors?limit=ten`, { key: t.key });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ location: "path", name: "job_id", message: expect.any(String) }]);
  });

  it("answers another tenant's job's errors, JSON or CSV, exactly like a missing job's", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await importFile(owner.key, `${HEADER}SECRET-1,Secret,leak\n`);
    for (const accept of ["application/json", "text/csv"]) {
      const foreign = await request(`${IMPORT}/${job.id}/errors`, { key: other.key, headers: { accept } });
      const missing = await request(`${IMPORT}/imp_${"y".repeat(22)}/errors`, { key: other.key, headers: { accept } });
      await expectSameProblem(foreign, missing);
    }
    expect((await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, owner.key)).data).toHaveLength(1);
  });
});

describe("GET /api/v1/products/import/{job_id}/errors as CSV", () => {
  it("streams a CSV report with the header and RFC 4180 quoting", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}A-1,"Shirt, red",abc\nB-2,,1\n`);
    const res = await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${job.id}-errors.csv"`);
    const text = await res.text();
    const errors = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key);
    expect(errors.data.map((e) => [e.line, e.column, e.code, e.value])).toEqual([
      [2, "price", "invalid_price", "abc"],
      [3, "name", "required", ""],
    ]);
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    expect(text).toBe(
      "line,column,code,message,value,severity\r\n" +
        `2,price,invalid_price,${quote((errors.data[0] as RowError).message)},abc,error\r\n` +
        `3,name,required,${(errors.data[1] as RowError).message},,error\r\n`,
    );
  });

  it("defuses spreadsheet formulas: a leading = + - @ tab or CR gets an apostrophe, then quoting", async () => {
    const t = await createTenant();
    const csv =
      HEADER +
      `"=HYPERLINK(""http://x"", ""y"")",Link,1\n` + // line 2: the SKU (with a space) is invalid and carries the formula
      "P-1,Plus,=1+1\n" + // line 3
      "P-2,At,@SUM(A1)\n" + // line 4
      "P-3,Minus,-2+3\n" + // line 5
      'P-4,Tab,"\t=1"\n' + // line 6
      "P-5,Plus,+1+1\n" + // line 7
      "P-6,Safe,1.2.3\n"; // line 8
    const job = await importFile(t.key, csv);
    expect(job.error_count).toBe(7);
    const json_ = await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key);
    expect(json_.data.map((e) => [e.line, e.column, e.value])).toEqual([
      [2, "sku", '=HYPERLINK("http://x", "y")'],
      [3, "price", "=1+1"],
      [4, "price", "@SUM(A1)"],
      [5, "price", "-2+3"],
      [6, "price", "\t=1"],
      [7, "price", "+1+1"],
      [8, "price", "1.2.3"],
    ]);
    const message = (line: number) => json_.data.find((e) => e.line === line)?.message ?? "";
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const res = await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } });
    const lines = (await res.text()).split("\r\n");
    expect(lines[0]).toBe("line,column,code,message,value,severity");
    expect(lines[1]).toBe(`2,sku,invalid_sku,${quote(message(2))},"'=HYPERLINK(""http://x"", ""y"")",error`);
    expect(lines[2]).toBe(`3,price,invalid_price,${quote(message(3))},'=1+1,error`);
    expect(lines[3]).toBe(`4,price,invalid_price,${quote(message(4))},'@SUM(A1),error`);
    expect(lines[4]).toBe(`5,price,negative,${message(5)},'-2+3,error`);
    expect(lines[5]).toBe(`6,price,invalid_price,${quote(message(6))},'\t=1,error`);
    expect(lines[6]).toBe(`7,price,invalid_price,${quote(message(7))},'+1+1,error`);
    expect(lines[7]).toBe(`8,price,invalid_price,${quote(message(8))},1.2.3,error`);
    expect(lines[8]).toBe("");
    expect(lines).toHaveLength(9);
  });

  it("quotes a value with a CR after the apostrophe", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, '{"sku":"Q-1","name":"CR","price":"\\r=1"}\n', { type: "application/x-ndjson" });
    const [error] = (await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key)).data;
    expect(error?.value).toBe("\r=1");
    const text = await (await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } })).text();
    expect(text.endsWith(`,"'\r=1",error\r\n`)).toBe(true);
  });

  it("defuses a value that starts with NUL (OWASP ASVS 5.0 V1.2.10)", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, '{"sku":"Q-1","name":"NUL","price":"\\u0000=1+1"}\n', { type: "application/x-ndjson" });
    const [error] = (await json<Page<RowError>>(`${IMPORT}/${job.id}/errors`, t.key)).data;
    expect(error?.value).toBe("\0=1+1");
    const text = await (await request(`${IMPORT}/${job.id}/errors`, { key: t.key, headers: { accept: "text/csv" } })).text();
    expect(text.endsWith(`,'\0=1+1,error\r\n`)).toBe(true);
  });
});

describe("GET /api/v1/products/import", () => {
  const ids = (page: Page<Job>) => page.data.map((j) => j.id);

  it("lists the tenant's jobs newest first, ties broken by id, cursor-paginated without gaps or repeats", async () => {
    const t = await createTenant();
    const base = Date.parse("2026-03-01T00:00:00.000Z");
    // Three jobs created in the same millisecond, and others around them.
    const rows: [string, number][] = [
      ["imp_0000000000000000000old", base - 1000],
      ["imp_tieAAAAAAAAAAAAAAAAAAA", base],
      ["imp_tieBBBBBBBBBBBBBBBBBBB", base],
      ["imp_tieCCCCCCCCCCCCCCCCCCC", base],
      ["imp_zzzzzzzzzzzzzzzzzzzNew", base + 1000],
    ];
    for (const [id, createdAt] of [...rows].reverse()) await insertJobRow(t.tenantId, { id, createdAt });
    const expected = ["imp_zzzzzzzzzzzzzzzzzzzNew", "imp_tieCCCCCCCCCCCCCCCCCCC", "imp_tieBBBBBBBBBBBBBBBBBBB", "imp_tieAAAAAAAAAAAAAAAAAAA", "imp_0000000000000000000old"];

    const whole = await json<Page<Job>>(IMPORT, t.key);
    expect(ids(whole)).toEqual(expected);
    expect(whole.next_cursor).toBeNull();
    expect(whole.data[1]).toMatchObject({ id: "imp_tieCCCCCCCCCCCCCCCCCCC", created_at: "2026-03-01T00:00:00.000Z", status: "queued" });
    for (const limit of [1, 2, 3, 4]) {
      const { items, pages } = await allPages<Job>(IMPORT, t.key, `limit=${limit}`);
      expect(items.map((j) => j.id)).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / limit));
    }
  });

  it("keeps pages stable while new jobs arrive between them", async () => {
    const t = await createTenant();
    const base = Date.parse("2026-03-01T00:00:00.000Z");
    for (let i = 0; i < 4; i++) await insertJobRow(t.tenantId, { id: `imp_stable${i}AAAAAAAAAAAAAAA`, createdAt: base + i });
    const first = await json<Page<Job>>(`${IMPORT}?limit=2`, t.key);
    expect(ids(first)).toEqual(["imp_stable3AAAAAAAAAAAAAAA", "imp_stable2AAAAAAAAAAAAAAA"]);
    // A newer job (and one in the same millisecond as the cursor, sorting before it) appear meanwhile.
    await insertJobRow(t.tenantId, { id: "imp_stable9AAAAAAAAAAAAAAA", createdAt: base + 10 });
    await insertJobRow(t.tenantId, { id: "imp_stable2BBBBBBBBBBBBBBB", createdAt: base + 2 });
    const second = await json<Page<Job>>(`${IMPORT}?limit=2&cursor=${first.next_cursor}`, t.key);
    expect(ids(second)).toEqual(["imp_stable1AAAAAAAAAAAAAAA", "imp_stable0AAAAAAAAAAAAAAA"]);
    expect(second.next_cursor).toBeNull();
  });

  it("shows real uploads newest first, 20 per page by default", async () => {
    const t = await createTenant();
    const a = (await (await upload(t.key, `${HEADER}A,B,1\n`)).json()) as Job;
    await new Promise((r) => setTimeout(r, 5));
    const b = (await (await upload(t.key, `${HEADER}C,D,2\n`)).json()) as Job;
    expect(ids(await json<Page<Job>>(IMPORT, t.key))).toEqual([b.id, a.id]);
    const base = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 20; i++) await insertJobRow(t.tenantId, { id: `imp_bulk${String(i).padStart(2, "0")}AAAAAAAAAAAAAAA`, createdAt: base + i });
    const page = await json<Page<Job>>(IMPORT, t.key);
    expect(page.data).toHaveLength(20);
    expect(page.next_cursor).toEqual(expect.any(String));
    await waitForJob(t.key, a.id);
    await waitForJob(t.key, b.id);
  });

  it("filters by status, also across pages", async () => {
    const t = await createTenant();
    const base = Date.parse("2026-03-01T00:00:00.000Z");
    const statuses = ["queued", "failed", "completed", "failed", "processing", "failed", "pending"];
    for (const [i, status] of statuses.entries()) {
      await insertJobRow(t.tenantId, { id: `imp_status${i}AAAAAAAAAAAAAAA`, createdAt: base + i, status, finishedAt: status === "failed" || status === "completed" ? base + i : null });
    }
    const failed = await allPages<Job>(IMPORT, t.key, "status=failed&limit=2");
    expect(failed.items.map((j) => j.id)).toEqual(["imp_status5AAAAAAAAAAAAAAA", "imp_status3AAAAAAAAAAAAAAA", "imp_status1AAAAAAAAAAAAAAA"]);
    expect(failed.pages).toBe(2);
    for (const status of ["pending", "queued", "processing", "completed"]) {
      const page = await json<Page<Job>>(`${IMPORT}?status=${status}`, t.key);
      expect(page.data.map((j) => j.status)).toEqual([status]);
    }
  });

  it("does not show another tenant's jobs", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await insertJobRow(a.tenantId, { id: "imp_tenantAjobAAAAAAAAAAAA", createdAt: Date.now() });
    await importFile(a.key, `${HEADER}A,B,1\n`);
    expect(await json(IMPORT, b.key)).toEqual({ data: [], next_cursor: null });
    expect(await json(`${IMPORT}?status=completed`, b.key)).toEqual({ data: [], next_cursor: null });
    expect((await json<Page<Job>>(IMPORT, a.key)).data).toHaveLength(2);
    // A cursor taken from a's list leads b to nothing of a's.
    const aFirst = await json<Page<Job>>(`${IMPORT}?limit=1`, a.key);
    expect(await json(`${IMPORT}?limit=1&cursor=${aFirst.next_cursor}`, b.key)).toEqual({ data: [], next_cursor: null });
  });

  it("is the job list, never the product with SKU 'import'", async () => {
    const t = await createTenant();
    await seedProducts(t.tenantId, [{ sku: "import", name: "A product called import" }]);
    const res = await request(IMPORT, { key: t.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [], next_cursor: null });
    // A key that can read products but not imports is refused here rather than shown the product.
    const productsOnly = await addKey(t.tenantId, ["products:read"]);
    const refused = await request(IMPORT, { key: productsOnly });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toMatchObject({ type: "/problems/insufficient-scope", required_scope: "imports:read" });
  });

  const invalid: [string, string, RegExp][] = [
    ["limit=0", "limit", /integer from 1 to 100/],
    ["limit=101", "limit", /integer from 1 to 100/],
    ["limit=2.5", "limit", /integer from 1 to 100/],
    ["status=done", "status", /pending, queued, processing, needs_confirmation, completed, failed/],
    ["status=", "status", /pending/],
    ["cursor=not*base64", "cursor", /next_cursor/],
    ["cursor=WzFd", "cursor", /next_cursor/], // [1]: an errors cursor, not a jobs cursor
    ["cursor=WyJhIiwiYiJd", "cursor", /next_cursor/], // ["a","b"]
  ];
  for (const [query, name, message] of invalid) {
    it(`400 naming ${name} for ?${query}`, async () => {
      const t = await createTenant();
      const res = await request(`${IMPORT}?${query}`, { key: t.key });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ type: "/problems/validation-error", title: "Invalid request", status: 400 });
      expect(problem.errors).toEqual([{ location: "query", name, message: expect.stringMatching(message) }]);
    });
  }
});
