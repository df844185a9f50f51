import { env, exports } from "cloudflare:workers";
import { generateKey, hashKey, newId, type Scope, scopes as allScopes } from "../src/auth/keys.ts";

export interface TestTenant {
  tenantId: string;
  key: string;
  keyId: string;
}

/** A fresh tenant with one key; each test gets its own, so tests never see each other's data. */
export async function createTenant(scopes: readonly Scope[] = allScopes): Promise<TestTenant> {
  const tenantId = newId("ten");
  const key = await generateKey();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO tenants (id, slug, created_at) VALUES (?, ?, ?)").bind(tenantId, tenantId.toLowerCase().replace(/_/g, "-"), now),
    env.DB.prepare("INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at) VALUES (?, ?, 'test', ?, ?, ?, ?)").bind(
      key.id,
      tenantId,
      key.prefix,
      key.hash,
      scopes.join(" "),
      now,
    ),
  ]);
  return { tenantId, key: key.key, keyId: key.id };
}

export async function addKey(tenantId: string, scopes: readonly Scope[]): Promise<string> {
  const key = await generateKey();
  await env.DB.prepare("INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at) VALUES (?, ?, 'test', ?, ?, ?, ?)")
    .bind(key.id, tenantId, key.prefix, key.hash, scopes.join(" "), Date.now())
    .run();
  return key.key;
}

export function request(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  return exports.default.fetch(new Request(`https://api.test${path}`, { ...init, headers }));
}

export async function problemOf(res: Response): Promise<Record<string, unknown> & { errors?: { location: string; name: string; message: string }[] }> {
  if (res.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected a problem, got ${res.status} ${res.headers.get("content-type")}: ${await res.text()}`);
  }
  return res.json();
}

export interface SeedProduct {
  sku: string;
  name?: string;
  priceMinor?: number;
  currency?: string;
  status?: "active" | "draft" | "archived";
  updatedAt?: number;
}

/** Seeds products directly, for tests of the read API that should not depend on the import pipeline. */
export async function seedProducts(tenantId: string, items: readonly SeedProduct[]): Promise<void> {
  const now = Date.now();
  const statements = items.map((p) =>
    env.DB.prepare(
      `INSERT INTO products (tenant_id, sku_key, sku, name, price_minor, currency, stock, status, tags, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, '[]', ?, ?)`,
    ).bind(tenantId, p.sku.toLowerCase(), p.sku, p.name ?? `Product ${p.sku}`, p.priceMinor ?? 1999, p.currency ?? "USD", p.status ?? "active", now, p.updatedAt ?? now),
  );
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
}

export async function revokeKey(key: string): Promise<void> {
  await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE key_hash = ?").bind(Date.now(), await hashKey(key)).run();
}
