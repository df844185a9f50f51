import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { scopes } from "../../src/auth/keys.ts";
// The routes' modules, imported by the app, declare them in the registry.
import "../../src/app.ts";
import { registry } from "../../src/http/route.ts";
import { addKey, createTenant, problemOf, request, revokeKey, type TestTenant } from "../helpers.ts";

const protectedRoutes = registry.filter((r) => r.scope);
const concrete = (path: string) => path.replace(/\{\w+\}/g, "anything");

describe("authentication and scopes on every protected route", () => {
  let tenant: TestTenant;
  let revokedKey: string;
  beforeAll(async () => {
    tenant = await createTenant();
    revokedKey = await addKey(tenant.tenantId, scopes);
    await revokeKey(revokedKey);
  });

  it("covers at least the products routes", () => {
    expect(protectedRoutes.map((r) => r.operationId)).toEqual(expect.arrayContaining(["listProducts", "getProduct"]));
  });

  for (const spec of protectedRoutes) {
    const path = concrete(spec.path);
    const method = spec.method.toUpperCase();
    describe(`${method} ${spec.path}`, () => {
      it("401 without an Authorization header, with a Bearer challenge", async () => {
        const res = await request(path, { method });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="product-import-api"');
        const problem = await problemOf(res);
        expect(problem).toMatchObject({ status: 401, type: "/problems/unauthorized", title: "Unauthorized" });
      });

      for (const [label, header] of [
        ["a non-Bearer scheme", "Basic dXNlcjpwYXNz"],
        ["a malformed key", "Bearer not-a-key"],
        ["a well-formed unknown key", `Bearer pik_${"A".repeat(32)}`],
        ["an empty Bearer", "Bearer "],
      ] as const) {
        it(`401 with ${label}`, async () => {
          const res = await request(path, { method, headers: { authorization: header } });
          expect(res.status).toBe(401);
          expect(res.headers.get("www-authenticate")).toContain("Bearer");
          expect((await problemOf(res)).status).toBe(401);
        });
      }

      it("401 with a revoked key", async () => {
        const res = await request(path, { method, key: revokedKey });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      });

      it(`403 naming ${spec.scope} for a key without it`, async () => {
        const key = await addKey(tenant.tenantId, scopes.filter((s) => s !== spec.scope));
        const res = await request(path, { method, key });
        expect(res.status).toBe(403);
        const problem = await problemOf(res);
        expect(problem).toMatchObject({ status: 403, type: "/problems/insufficient-scope", required_scope: spec.scope });
        expect(problem.detail).toContain(spec.scope);
      });
    });
  }

  it("never logs the key", async () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    try {
      await request("/api/v1/products", { key: tenant.key });
      await request("/api/v1/products", { headers: { authorization: `Bearer ${revokedKey}` } });
    } finally {
      console.log = original;
    }
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      expect(line).not.toContain(tenant.key);
      expect(line).not.toContain(revokedKey);
    }
    const logged = JSON.parse(lines[0] ?? "{}");
    expect(logged).toMatchObject({ msg: "request", method: "GET", path: "/api/v1/products", status: 200, tenant: tenant.tenantId });
    expect(typeof logged.duration_ms).toBe("number");
    expect(typeof logged.request_id).toBe("string");
  });
});

describe("keys are stored only as hashes", () => {
  it("keeps no plain key in the database", async () => {
    const tenant = await createTenant();
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(tenant.keyId).first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(Object.values(row ?? {}).some((v) => typeof v === "string" && v.includes(tenant.key))).toBe(false);
    expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tenant.key).toMatch(/^pik_[0-9A-Za-z]{32}$/);
  });
});
