// Saved mapping profiles: /api/v1/import-profiles (create, list, get, replace, delete) and `profile=` on upload, per
// tenant; a job keeps the mapping it was accepted with.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_PROFILES } from "../../src/imports/sources/profiles.ts";
import { consumerEnv, deliver, requestHeld } from "../consumer-helpers.ts";
import { addKey, createTenant, problemOf, request } from "../helpers.ts";
import { accepted, importFile, type Job, jobRowsOf, product, storedObjectKeys, upload, waitForJob } from "../imports-helpers.ts";

const PROFILES = "/api/v1/import-profiles";
const IMPORT = "/api/v1/products/import";
const ERP = { "Item No.": "sku", Title: "name", Net: "price", Qty: "stock" };
const ERP_CSV = "Item No.,Title,Net,Qty\nA-1,Shirt,19.99,5\n";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Profile {
  name: string;
  mapping: Record<string, string>;
  created_at: string;
  updated_at: string;
}

function send(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = { "content-type": "application/json" }): Promise<Response> {
  return request(path, { method, key, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
}

async function created(key: string, name: string, mapping: unknown = ERP): Promise<Profile> {
  const res = await send(key, "POST", PROFILES, { name, mapping });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${await res.text()}`);
  return res.json();
}

async function names(key: string): Promise<string[]> {
  const res = await request(`${PROFILES}?limit=${MAX_PROFILES}`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Profile[] }).data.map((p) => p.name);
}

/** A 400 whose errors are exactly these (location, name, message pattern). */
async function invalid(res: Response, errors: [location: string, name: string, message: RegExp][]): Promise<void> {
  expect(res.status).toBe(400);
  const problem = await problemOf(res);
  expect(problem.type).toBe("/problems/validation-error");
  expect(problem.errors).toEqual(errors.map(([location, name, message]) => ({ location, name, message: expect.stringMatching(message) })));
}

/** Profiles inserted directly: for listing and the per-tenant bound, without a request each. */
async function seedProfiles(tenantId: string, count: number): Promise<void> {
  const now = Date.now();
  const statements = Array.from({ length: count }, (_, i) =>
    env.DB.prepare("INSERT INTO import_profiles (tenant_id, name, mapping, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").bind(
      tenantId,
      `seeded-${String(i).padStart(3, "0")}`,
      JSON.stringify({ Code: "sku" }),
      now,
      now,
    ),
  );
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
}

describe("/api/v1/import-profiles: create, read, replace, delete", () => {
  it("creates a profile (201, Location), gets it, lists it, replaces its mapping and deletes it", async () => {
    const t = await createTenant();
    const res = await send(t.key, "POST", PROFILES, { name: "erp", mapping: ERP });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`${PROFILES}/erp`);
    const profile = (await res.json()) as Profile;
    expect(profile).toEqual({ name: "erp", mapping: ERP, created_at: expect.stringMatching(ISO), updated_at: profile.created_at });

    const got = await request(`${PROFILES}/erp`, { key: t.key });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(profile);
    const list = await request(PROFILES, { key: t.key });
    expect(await list.json()).toEqual({ data: [profile], next_cursor: null });

    const replacement = { "Art.-Nr.": "sku", Bezeichnung: "name", Preis: "price" };
    const replaced = await send(t.key, "PUT", `${PROFILES}/erp`, { mapping: replacement });
    expect(replaced.status).toBe(200);
    const after = (await replaced.json()) as Profile;
    expect(after).toMatchObject({ name: "erp", mapping: replacement, created_at: profile.created_at });
    expect(Date.parse(after.updated_at)).toBeGreaterThanOrEqual(Date.parse(profile.updated_at));
    expect(await (await request(`${PROFILES}/erp`, { key: t.key })).json()).toEqual(after);

    const deleted = await request(`${PROFILES}/erp`, { method: "DELETE", key: t.key });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    const gone = await request(`${PROFILES}/erp`, { key: t.key });
    expect(gone.status).toBe(404);
    expect((await problemOf(gone)).detail).toBe('No import profile named "erp".');
    expect((await request(`${PROFILES}/erp`, { method: "DELETE", key: t.key })).status).toBe(404);
    expect(await names(t.key)).toEqual([]);
  });

  it("stores a mapping as it matches: names trimmed, fields as we name them", async () => {
    const t = await createTenant();
    const profile = await created(t.key, "spaced", { " Item No. ": "SKU", Qty: "Stock" });
    expect(profile.mapping).toEqual({ "Item No.": "sku", Qty: "stock" });
  });

  it("does not overwrite on create (409) and does not create on replace (404)", async () => {
    const t = await createTenant();
    await created(t.key, "erp");
    const again = await send(t.key, "POST", PROFILES, { name: "erp", mapping: { Code: "sku" } });
    expect(again.status).toBe(409);
    expect(await problemOf(again)).toMatchObject({ type: "/problems/conflict", detail: expect.stringContaining(`PUT ${PROFILES}/erp`) });
    expect(((await (await request(`${PROFILES}/erp`, { key: t.key })).json()) as Profile).mapping).toEqual(ERP);
    const missing = await send(t.key, "PUT", `${PROFILES}/erpp`, { mapping: ERP });
    expect(missing.status).toBe(404);
    expect(await names(t.key)).toEqual(["erp"]);
  });

  it("lists profiles by name, a page at a time", async () => {
    const t = await createTenant();
    await seedProfiles(t.tenantId, 5);
    await created(t.key, "a-first");
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await request(`${PROFILES}?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: t.key });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: Profile[]; next_cursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((p) => p.name));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(["a-first", "seeded-000", "seeded-001", "seeded-002", "seeded-003", "seeded-004"]);
    const bad = await request(`${PROFILES}?limit=${MAX_PROFILES + 1}`, { key: t.key });
    await invalid(bad, [["query", "limit", new RegExp(`^must be an integer from 1 to ${MAX_PROFILES}$`)]]);
  });

  it(`keeps at most ${MAX_PROFILES} profiles per tenant (409), counted atomically; one page lists them all`, async () => {
    const t = await createTenant();
    await seedProfiles(t.tenantId, MAX_PROFILES - 2);
    const attempts = await Promise.all(["c-1", "c-2", "c-3", "c-4"].map((name) => send(t.key, "POST", PROFILES, { name, mapping: ERP })));
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 201, 409, 409]);
    for (const res of attempts.filter((r) => r.status === 409)) {
      expect(await problemOf(res)).toMatchObject({ type: "/problems/limit-reached", title: "Limit reached", detail: expect.stringContaining(`at most ${MAX_PROFILES}`) });
    }
    expect(await names(t.key)).toHaveLength(MAX_PROFILES);
    const full = await request(`${PROFILES}?limit=${MAX_PROFILES}`, { key: t.key });
    expect(((await full.json()) as { next_cursor: string | null }).next_cursor).toBeNull();
    // Replacing one is not creating one, and a deleted one makes room.
    expect((await send(t.key, "PUT", `${PROFILES}/seeded-000`, { mapping: ERP })).status).toBe(200);
    expect((await request(`${PROFILES}/seeded-000`, { method: "DELETE", key: t.key })).status).toBe(204);
    await created(t.key, "c-5");
  });
});

describe("/api/v1/import-profiles: names and bodies", () => {
  it("takes names of 1 to 64 of a-z 0-9 _ -, starting with a letter or digit", async () => {
    const t = await createTenant();
    for (const name of ["a", "0", "erp_stock-2", "x".repeat(64)]) await created(t.key, name);
    for (const name of ["", "ERP", "-erp", "_erp", "erp stock", "erp/stock", "x".repeat(65), "érp"]) {
      await invalid(await send(t.key, "POST", PROFILES, { name, mapping: ERP }), [["body", "name", /^must be 1 to 64 characters of a-z, 0-9, _ and -/]]);
    }
    await invalid(await request(`${PROFILES}/ERP`, { key: t.key }), [["path", "name", /^must be 1 to 64 characters/]]);
    await invalid(await request(`${PROFILES}/${"x".repeat(65)}`, { method: "DELETE", key: t.key }), [["path", "name", /^must be 1 to 64 characters/]]);
  });

  it("reserves the presets' names shopify and woocommerce", async () => {
    const t = await createTenant();
    for (const name of ["shopify", "woocommerce"]) {
      await invalid(await send(t.key, "POST", PROFILES, { name, mapping: ERP }), [["body", "name", /^is reserved for a built-in preset \(shopify, woocommerce\); choose another name$/]]);
      expect((await request(`${PROFILES}/${name}`, { key: t.key })).status).toBe(404);
    }
    await created(t.key, "shopify-2");
    expect(await names(t.key)).toEqual(["shopify-2"]);
  });

  it("refuses a mapping the upload would refuse, naming it", async () => {
    const t = await createTenant();
    await invalid(await send(t.key, "POST", PROFILES, { name: "erp", mapping: { Qty: "stok" } }), [["body", "mapping", /^maps "Qty" to "stok", which is no product field/]]);
    await invalid(await send(t.key, "POST", PROFILES, { name: "erp", mapping: { Net: "price", Gross: "price" } }), [["body", "mapping", /^maps "Net" and "Gross" to the same field "price"/]]);
    await invalid(await send(t.key, "POST", PROFILES, { name: "erp", mapping: {} }), [["body", "mapping", /^maps no column/]]);
    await invalid(await send(t.key, "POST", PROFILES, { name: "erp", mapping: JSON.stringify(ERP) }), [["body", "mapping", /^must be a JSON object of column names/]]);
    await invalid(await send(t.key, "POST", PROFILES, '{"name":"erp","mapping":{"Qty":"stock","Qty":"price"}}'), [["body", "(body)", /^gives the name "Qty" twice in one object/]]);
    await invalid(await send(t.key, "PUT", `${PROFILES}/erp`, { mapping: { Qty: 1 } }), [["body", "mapping", /^maps "Qty" to a number/]]);
    expect(await names(t.key)).toEqual([]);
  });

  it("refuses a body that is not the expected JSON object, naming what is wrong", async () => {
    const t = await createTenant();
    await created(t.key, "erp");
    await invalid(await send(t.key, "POST", PROFILES, { mapping: ERP }), [["body", "name", /./]]);
    await invalid(await send(t.key, "POST", PROFILES, { name: "x" }), [["body", "mapping", /./]]);
    await invalid(await send(t.key, "POST", PROFILES, { name: "x", mapping: ERP, note: "hi" }), [["body", "(body)", /note/]]);
    await invalid(await send(t.key, "POST", PROFILES, "[1]"), [["body", "(body)", /object/]]);
    await invalid(await send(t.key, "POST", PROFILES, '{"name":'), [["body", "(body)", /^is not valid JSON/]]);
    await invalid(await send(t.key, "POST", PROFILES, ""), [["body", "(body)", /^is empty/]]);
    await invalid(await send(t.key, "PUT", `${PROFILES}/erp`, { name: "other", mapping: ERP }), [["body", "name", /^must be the name in the path \("erp"\), if given; a profile is not renamed$/]]);
    // The name in the path may be repeated in the body (a profile as GET returns it, without its timestamps).
    expect((await send(t.key, "PUT", `${PROFILES}/erp`, { name: "erp", mapping: { Code: "sku" } })).status).toBe(200);
  });

  it("415 for a body that is not application/json (UTF-8), 413 beyond its size", async () => {
    const t = await createTenant();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]) {
      const res = await send(t.key, "POST", PROFILES, { name: "erp", mapping: ERP }, { "content-type": type });
      expect(res.status, type).toBe(415);
      expect(await problemOf(res)).toMatchObject({ type: "/problems/unsupported-media-type", accepted: ["application/json"] });
    }
    expect((await send(t.key, "POST", PROFILES, { name: "erp", mapping: ERP }, { "content-type": "application/json; charset=UTF-8" })).status).toBe(201);
    const huge = JSON.stringify({ name: "big", mapping: { Code: "sku" }, pad: "x".repeat(20_000) });
    const res = await send(t.key, "POST", PROFILES, huge);
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: "/problems/payload-too-large", max_bytes: expect.any(Number) });
    expect(huge.length).toBeGreaterThan(problem.max_bytes as number);
    expect(await names(t.key)).toEqual(["erp"]);
  });
});

describe("/api/v1/import-profiles: scopes", () => {
  it("imports:read reads profiles, imports:write changes them; neither does the other's work", async () => {
    const t = await createTenant(["products:read"]);
    const write = await addKey(t.tenantId, ["imports:write"]);
    const read = await addKey(t.tenantId, ["imports:read"]);
    expect((await send(write, "POST", PROFILES, { name: "erp", mapping: ERP })).status).toBe(201);
    expect((await request(PROFILES, { key: read })).status).toBe(200);
    expect((await request(`${PROFILES}/erp`, { key: read })).status).toBe(200);
    for (const res of [await request(PROFILES, { key: write }), await request(`${PROFILES}/erp`, { key: write }), await request(PROFILES, { key: t.key })]) {
      expect(res.status).toBe(403);
      expect((await problemOf(res)).required_scope).toBe("imports:read");
    }
    for (const res of [
      await send(read, "POST", PROFILES, { name: "other", mapping: ERP }),
      await send(read, "PUT", `${PROFILES}/erp`, { mapping: { Code: "sku" } }),
      await request(`${PROFILES}/erp`, { method: "DELETE", key: read }),
    ]) {
      expect(res.status).toBe(403);
      expect((await problemOf(res)).required_scope).toBe("imports:write");
    }
    expect((await request(PROFILES)).status).toBe(401);
    expect((await send(`pik_${"D".repeat(32)}`, "POST", PROFILES, "not json")).status).toBe(401);
    expect(((await (await request(`${PROFILES}/erp`, { key: read })).json()) as Profile).mapping).toEqual(ERP);
  });
});

describe("/api/v1/import-profiles: tenant isolation", () => {
  it("a tenant never sees, changes or uses another's profile", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await created(a.key, "erp");
    expect(await names(b.key)).toEqual([]);
    expect((await request(`${PROFILES}/erp`, { key: b.key })).status).toBe(404);
    expect((await send(b.key, "PUT", `${PROFILES}/erp`, { mapping: { Code: "sku" } })).status).toBe(404);
    expect((await request(`${PROFILES}/erp`, { method: "DELETE", key: b.key })).status).toBe(404);
    await invalid(await upload(b.key, ERP_CSV, { query: "profile=erp" }), [["query", "profile", /^names no saved profile \("erp"\)/]]);

    // The same name is each tenant's own.
    await created(b.key, "erp", { Code: "sku", Label: "name", Amount: "price" });
    expect(((await (await request(`${PROFILES}/erp`, { key: a.key })).json()) as Profile).mapping).toEqual(ERP);
    const jobB = await importFile(b.key, "Code,Label,Amount\nB-1,Lamp,12\n", { query: "profile=erp" });
    expect(jobB).toMatchObject({ status: "completed", created: 1, profile: "erp", mapping: { Code: "sku", Label: "name", Amount: "price" } });
    const jobA = await importFile(a.key, ERP_CSV, { query: "profile=erp" });
    expect(jobA).toMatchObject({ status: "completed", created: 1, profile: "erp", mapping: ERP });
    expect(await product(b.key, "B-1")).toMatchObject({ name: "Lamp", price: "12.00" });
    expect((await request("/api/v1/products/B-1", { key: a.key })).status).toBe(404);
  });
});

describe("profile= on upload", () => {
  it("reads the file with the tenant's profile; the job names the profile and the mapping it used", async () => {
    const t = await createTenant();
    await created(t.key, "erp");
    const queued = await accepted(await upload(t.key, ERP_CSV, { query: "profile=erp" }));
    expect(queued).toMatchObject({ profile: "erp", mapping: ERP });
    expect(await waitForJob(t.key, queued.id)).toMatchObject({ status: "completed", created: 1, profile: "erp", mapping: ERP });
    expect(await product(t.key, "A-1")).toMatchObject({ name: "Shirt", price: "19.99", stock: 5 });
    const ndjson = await importFile(t.key, '{"Item No.":"N-1","Title":"Pen","Net":"2","Qty":4}\n', { type: "application/x-ndjson", query: "profile=erp" });
    expect(ndjson).toMatchObject({ status: "completed", created: 1, profile: "erp", mapping: ERP });
    // The job list and the status summary show it as well.
    const list = (await (await request(`${IMPORT}?limit=1`, { key: t.key })).json()) as { data: Job[] };
    expect(list.data[0]).toMatchObject({ id: ndjson.id, profile: "erp", mapping: ERP });
    const status = (await (await request(`${IMPORT}/status?limit=1`, { key: t.key })).json()) as { last_jobs: Job[] };
    expect(status.last_jobs[0]).toMatchObject({ id: ndjson.id, profile: "erp", mapping: ERP });
  });

  it("takes profile as a multipart form field", async () => {
    const t = await createTenant();
    await created(t.key, "erp");
    const body = new FormData();
    body.append("profile", "erp");
    body.append("file", new File([ERP_CSV], "erp.csv", { type: "text/csv" }));
    const job = await accepted(await request(IMPORT, { method: "POST", key: t.key, body }));
    expect(await waitForJob(t.key, job.id)).toMatchObject({ status: "completed", created: 1, profile: "erp", mapping: ERP });

    const unknown = new FormData();
    unknown.append("profile", "nope");
    unknown.append("file", new File([ERP_CSV], "erp.csv", { type: "text/csv" }));
    await invalid(await request(IMPORT, { method: "POST", key: t.key, body: unknown }), [["body", "profile", /^names no saved profile \("nope"\)/]]);
    const both = new FormData();
    both.append("profile", "erp");
    both.append("file", new File([ERP_CSV], "erp.csv", { type: "text/csv" }));
    await invalid(await request(`${IMPORT}?profile=erp`, { method: "POST", key: t.key, body: both }), [["body", "profile", /^is given both as a query parameter and as a form field/]]);
  });

  it("lays the request's mapping over the profile's: its entries replace the profile's for the same column and the same field", async () => {
    const t = await createTenant();
    await created(t.key, "erp");
    const over = { Gross: "price", QTY: "tags", Notes: "description" };
    const job = await importFile(t.key, "Item No.,Title,Net,Gross,Qty,Notes\nA-1,Shirt,1,2.50,summer,soft\n", {
      query: `profile=erp&mapping=${encodeURIComponent(JSON.stringify(over))}`,
    });
    expect(job).toMatchObject({ status: "completed", created: 1, profile: "erp", ignored_columns: ["Net"] });
    expect(job.mapping).toEqual({ "Item No.": "sku", Title: "name", Gross: "price", QTY: "tags", Notes: "description" });
    expect(await product(t.key, "A-1")).toMatchObject({ name: "Shirt", price: "2.50", stock: 0, tags: ["summer"], description: "soft" });
  });

  it("400 naming profile for a name the tenant has no profile of or a malformed name; nothing is stored", async () => {
    const t = await createTenant();
    const cases: [string, RegExp][] = [
      ["nope", /^names no saved profile \("nope"\); GET \/api\/v1\/import-profiles lists them$/],
      ["Bad Name", /^must be 1 to 64 characters/],
    ];
    for (const [name, message] of cases) await invalid(await upload(t.key, ERP_CSV, { query: `profile=${encodeURIComponent(name)}` }), [["query", "profile", message]]);
    expect(await jobRowsOf(t.tenantId)).toEqual([]);
    expect(await storedObjectKeys(t.tenantId)).toEqual([]);
  });

  it("with an Idempotency-Key: an unknown profile frees the key; a replay answers the first response even after the profile is gone", async () => {
    const t = await createTenant();
    const headers = { "idempotency-key": "erp-1" };
    expect((await upload(t.key, ERP_CSV, { query: "profile=erp", headers })).status).toBe(400);
    await created(t.key, "erp");
    const first = await accepted(await upload(t.key, ERP_CSV, { query: "profile=erp", headers }));
    expect(first.profile).toBe("erp");
    expect((await request(`${PROFILES}/erp`, { method: "DELETE", key: t.key })).status).toBe(204);
    const replay = await upload(t.key, ERP_CSV, { query: "profile=erp", headers });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(first.id);
    expect((await upload(t.key, ERP_CSV, { query: "profile=other", headers })).status).toBe(422);
  });

  it("a job keeps the mapping it was accepted with: replacing or deleting the profile later changes nothing, in any slice", async () => {
    const t = await createTenant();
    await created(t.key, "erp", { "Item No.": "sku", Title: "name", Net: "price" });
    let file = "Item No.,Title,Net,Label,Gross\n";
    for (let i = 1; i <= 9; i++) file += `K-${i},Title ${i},${i},Label ${i},${i}0\n`;
    const consumer = consumerEnv({ IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "3" });
    const res = await requestHeld(consumer, `${IMPORT}?profile=erp`, { method: "POST", key: t.key, body: file, headers: { "content-type": "text/csv", "content-length": String(file.length) } });
    const queued = await accepted(res);

    // Before the job's first slice, the profile is made to read name and price from other columns…
    expect((await send(t.key, "PUT", `${PROFILES}/erp`, { mapping: { "Item No.": "sku", Label: "name", Gross: "price" } })).status).toBe(200);
    let delivered = 0;
    await deliver(consumer.env, consumer.sent[delivered++]);
    // …and deleted before the next ones: neither reaches the job.
    expect((await request(`${PROFILES}/erp`, { method: "DELETE", key: t.key })).status).toBe(204);
    while (delivered < consumer.sent.length) await deliver(consumer.env, consumer.sent[delivered++]);
    expect(delivered).toBeGreaterThanOrEqual(3);
    const job = await waitForJob(t.key, queued.id);
    expect(job).toMatchObject({ status: "completed", created: 9, profile: "erp", mapping: { "Item No.": "sku", Title: "name", Net: "price" }, ignored_columns: ["Label", "Gross"] });
    for (const i of [1, 5, 9]) expect(await product(t.key, `K-${i}`)).toMatchObject({ name: `Title ${i}`, price: `${i}.00` });
  });
});
