// Regression tests of the HTTP hardening: authentication before validation, security headers, and error logs
// that name what failed without quoting SQL parameters.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app.ts";
import { hashKey, scopes } from "../../src/auth/keys.ts";
import { registry } from "../../src/http/route.ts";
import { addKey, createTenant, problemOf, request, revokeKey } from "../helpers.ts";

// The routes' modules, imported by the app, declare them in the registry.
const protectedRoutes = registry.filter((r) => r.scope);
// A value each path parameter takes (so that only what a test gets wrong is wrong): any text for an id or a name, a
// whole number for an upload's part.
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "part_number" ? "1" : "anything"));
// Invalid for every route that has these parameters, and a bookmark no D1 ever returned.
const INVALID = "?limit=999&dry_run=maybe&status=nope&cursor=%%%";
const BAD_BOOKMARK = { "x-d1-bookmark": "not a bookmark!" };

afterEach(() => vi.restoreAllMocks());

describe("authentication comes before validation on every protected route", () => {
  for (const spec of protectedRoutes) {
    const path = concrete(spec.path) + INVALID;
    const method = spec.method.toUpperCase();
    it(`${method} ${spec.path}: 401 for an unknown or revoked key, 403 for a missing scope, whatever else is wrong`, async () => {
      const t = await createTenant();
      const revoked = await addKey(t.tenantId, scopes);
      await revokeKey(revoked);
      const unknown = `pik_${"B".repeat(32)}`;
      for (const key of [unknown, revoked]) {
        const res = await request(path, { method, key, headers: BAD_BOOKMARK });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      }
      const noBookmarkCheckBeforeAuth = await request(concrete(spec.path), { method, headers: BAD_BOOKMARK });
      expect(noBookmarkCheckBeforeAuth.status).toBe(401);
      const withoutScope = await addKey(t.tenantId, scopes.filter((s) => s !== spec.scope));
      const forbidden = await request(path, { method, key: withoutScope, headers: BAD_BOOKMARK });
      expect(forbidden.status).toBe(403);
      expect((await problemOf(forbidden)).required_scope).toBe(spec.scope);
    });
  }

  it("still names the invalid parameter for a valid key, on the status route too", async () => {
    const t = await createTenant();
    const res = await request("/api/v1/products/import/status?limit=999", { key: t.key });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([expect.objectContaining({ location: "query", name: "limit" })]);
    const bookmark = await request("/api/v1/products/import/status", { key: t.key, headers: BAD_BOOKMARK });
    expect(bookmark.status).toBe(400);
    expect((await problemOf(bookmark)).errors).toEqual([expect.objectContaining({ location: "header", name: "x-d1-bookmark" })]);
  });

  it("accepts only bookmarks shaped like D1's (hex groups joined by dashes)", async () => {
    const t = await createTenant();
    const first = await request("/api/v1/products", { key: t.key });
    const bookmark = first.headers.get("x-d1-bookmark") ?? "";
    expect(bookmark).toMatch(/^[0-9a-f]+(-[0-9a-f]+)+$/);
    expect((await request("/api/v1/products", { key: t.key, headers: { "x-d1-bookmark": bookmark } })).status).toBe(200);
    const bad = ["ZZZZ-not-hex", "ghij-klmn", "0000-", "-0000", "00 00", "0".repeat(300), "0", "abc", "a".repeat(64), `${bookmark.slice(0, -1)}A`];
    for (const value of bad) {
      const res = await request("/api/v1/products", { key: t.key, headers: { "x-d1-bookmark": value } });
      expect(res.status, value).toBe(400);
    }
    // The document declares the same rule: a client that validates the header agrees with the server.
    const doc = (await (await request("/api/v1/openapi.json")).json()) as { components: { parameters: { Bookmark: { schema: { pattern: string } } } } };
    const pattern = new RegExp(doc.components.parameters.Bookmark.schema.pattern);
    expect(pattern.test(bookmark)).toBe(true);
    for (const value of bad) expect(pattern.test(value), value).toBe(false);
  });
});

describe("security headers", () => {
  it("every response carries X-Content-Type-Options: nosniff", async () => {
    const t = await createTenant();
    const responses = [
      await request("/health"),
      await request("/api/v1/openapi.json"),
      await request("/docs"),
      await request("/api/v1/products", { key: t.key }),
      await request("/api/v1/products"),
      await request("/api/v1/products?limit=0", { key: t.key }),
      await request("/api/v1/products/NOPE", { key: t.key }),
      await request("/api/v1/nothing-here"),
      await request("/api/v1/products/abc", { method: "DELETE", key: t.key }),
      await request("/api/v1/products/import/status", { key: t.key }),
    ];
    for (const res of responses) expect(res.headers.get("x-content-type-options"), `${res.status} ${res.url}`).toBe("nosniff");
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([200, 400, 401, 404, 405]));
  });

  it("authenticated responses are not stored by caches; the status summary keeps its revalidation", async () => {
    const t = await createTenant();
    for (const res of [
      await request("/api/v1/products", { key: t.key }),
      await request("/api/v1/products/NOPE", { key: t.key }),
      await request("/api/v1/products/import", { key: t.key }),
      await request("/api/v1/products"),
      await request("/api/v1/products?limit=0", { key: t.key }),
    ]) {
      expect(res.headers.get("cache-control"), `${res.status} ${res.url}`).toBe("no-store");
    }
    const status = await request("/api/v1/products/import/status", { key: t.key });
    expect(status.headers.get("cache-control")).toBe("private, no-cache");
    const notModified = await request("/api/v1/products/import/status", { key: t.key, headers: { "if-none-match": status.headers.get("etag") ?? "" } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("cache-control")).toBe("private, no-cache");
    expect(notModified.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("nothing the API does not understand is ignored", () => {
  // The document lists each operation's query parameters: the server's idea of them, from the same zod schemas.
  const documented = async () => (await (await request("/api/v1/openapi.json")).json()) as { paths: Record<string, Record<string, { parameters: { in: string; name: string }[] }>> };

  for (const spec of registry) {
    const method = spec.method.toUpperCase();
    it(`${method} ${spec.path}: 400 naming a query parameter it does not have, and the parameters it has`, async () => {
      const t = await createTenant();
      const res = await request(`${concrete(spec.path)}?no_such_option=1`, { method, key: t.key });
      expect(res.status).toBe(400);
      const own = (await documented()).paths[spec.path]![spec.method]!.parameters.filter((p) => p.in === "query").map((p) => p.name);
      const takes = own.length === 0 ? "which takes none" : `which takes ${own.length === 1 ? own[0] : `${own.slice(0, -1).join(", ")} and ${own.at(-1)}`}`;
      expect((await problemOf(res)).errors).toEqual([{ location: "query", name: "no_such_option", message: `is not a parameter of this operation; ${takes}` }]);
    });
  }

  it("suggests the closest parameter for a misspelt one, whatever its case", async () => {
    const t = await createTenant();
    const cases: [string, string, string][] = [
      ["/api/v1/products?state=active", "state", "status"],
      ["/api/v1/products?limt=5", "limt", "limit"],
      ["/api/v1/products?Group=shirts", "Group", "group"],
      ["/api/v1/products?updatedSince=2026-01-01T00:00:00Z", "updatedSince", "updated_since"],
      ["/api/v1/products/import?curser=abc", "curser", "cursor"],
      ["/api/v1/import-profiles?limits=5", "limits", "limit"],
    ];
    for (const [path, name, closest] of cases) {
      const res = await request(path, { key: t.key });
      expect(res.status, path).toBe(400);
      expect((await problemOf(res)).errors, path).toEqual([{ location: "query", name, message: `is not a parameter of this operation; did you mean ${closest}?` }]);
    }
  });

  it("names a parameter given more than once, together with the unknown ones", async () => {
    const t = await createTenant();
    const res = await request("/api/v1/products?limit=5&limit=6&sort=sku&status=active", { key: t.key });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([
      { location: "query", name: "sort", message: expect.stringMatching(/^is not a parameter of this operation; which takes limit, cursor, status, group and updated_since$/) },
      { location: "query", name: "limit", message: "is given 2 times; give it once" },
    ]);
  });

  it("lists at most ten unknown names, each cut to 100 characters, and counts the rest", async () => {
    const t = await createTenant();
    const long = "x".repeat(100_000);
    const names = [long, ...Array.from({ length: 14 }, (_, i) => `extra${i}`)];
    const res = await request(`/api/v1/products?${names.map((n) => `${n}=1`).join("&")}`, { key: t.key });
    expect(res.status).toBe(400);
    const { errors } = await problemOf(res);
    expect(errors?.map((e) => e.name)).toEqual([`${"x".repeat(99)}…`, ...names.slice(1, 10), "(more)"]);
    expect(errors?.at(-1)).toEqual({ location: "query", name: "(more)", message: "5 more unknown names are not listed" });
  });

  it("checks the key and the path first: 401 for a bad key, the path's error before the query's", async () => {
    const t = await createTenant();
    expect((await request("/api/v1/products?limt=5", { key: `pik_${"B".repeat(32)}` })).status).toBe(401);
    expect((await request("/api/v1/products/import/status?limt=5", { key: `pik_${"B".repeat(32)}` })).status).toBe(401);
    const res = await request(`/api/v1/products/${"x".repeat(65)}?limt=5`, { key: t.key });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([expect.objectContaining({ location: "path", name: "sku" })]);
  });
});

/** The test database behind a session whose every statement fails as a locked D1 would. */
function busyDatabase(): D1Database {
  const busy = () => Promise.reject(new Error("D1_ERROR: database is locked: SQLITE_BUSY"));
  const statement: D1PreparedStatement = new Proxy({} as D1PreparedStatement, {
    get: (_target, prop) => (prop === "bind" ? () => statement : busy),
  });
  const session = new Proxy(env.DB.withSession("first-unconstrained"), {
    get: (target, prop) => (prop === "prepare" ? () => statement : prop === "batch" ? busy : Reflect.get(target, prop)),
  });
  return new Proxy(env.DB, { get: (target, prop) => (prop === "withSession" ? () => session : Reflect.get(target, prop)) });
}

/** Sends an authenticated request to the app over a busy database; the error lines it logs are captured. */
async function requestWithBusyDatabase(path: string, key: string) {
  const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  const res = await createApp().fetch(
    new Request(`https://api.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
    { ...env, DB: busyDatabase() },
    { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
  );
  return { res, errors };
}

describe("error logs", () => {
  it("log a failed key lookup by class, code and statement, without the SQL, its parameters or a stack", async () => {
    const t = await createTenant();
    const { res, errors } = await requestWithBusyDatabase("/api/v1/products", t.key);
    expect(res.status).toBe(500);
    const body = await res.text();
    const hash = await hashKey(t.key);
    expect(body).not.toContain(hash);

    expect(errors).toHaveBeenCalledTimes(1);
    const line = String(errors.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toMatchObject({ msg: "unhandled error", error_class: "Error", error_code: "SQLITE_BUSY", statement: "select api_keys" });
    for (const secret of [hash, t.key, "params", "key_hash", "?", "at "]) expect(line).not.toContain(secret);
  });

  it("name a failed batch (the status summary's one round trip) the same way", async () => {
    const t = await createTenant();
    const { res, errors } = await requestWithBusyDatabase("/api/v1/products/import/status", t.key);
    expect(res.status).toBe(500);
    const line = String(errors.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toMatchObject({ msg: "unhandled error", error_code: "SQLITE_BUSY", statement: "status summary" });
    expect(line).not.toContain(await hashKey(t.key));
  });
});
