import { generateKey, newId, type Scope } from "../../src/auth/keys.ts";
import { d1Execute, sqlText, sqlValue, type Target } from "./wrangler.ts";

export const TENANT_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  tenantId: string;
}

/** Creates the tenant if it does not exist, then a key for it; the plain key is returned once and never stored. */
export async function createKey(tenantSlug: string, scopes: readonly Scope[], name: string, target: Target): Promise<CreatedKey> {
  const now = Date.now();
  const key = await generateKey();
  const rows = d1Execute<{ id: string }>(
    [
      `INSERT INTO tenants (id, slug, created_at) VALUES (${sqlText(newId("ten"))}, ${sqlText(tenantSlug)}, ${now}) ON CONFLICT (slug) DO NOTHING;`,
      `INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at)
         SELECT ${sqlText(key.id)}, id, ${sqlText(name)}, ${sqlText(key.prefix)}, ${sqlText(key.hash)}, ${sqlText(scopes.join(" "))}, ${now}
         FROM tenants WHERE slug = ${sqlText(tenantSlug)};`,
      `SELECT tenant_id AS id FROM api_keys WHERE id = ${sqlText(key.id)};`,
    ].join("\n"),
    target,
  );
  const tenantId = rows[0]?.id;
  if (!tenantId) throw new Error("the key was not stored");
  return { id: key.id, key: key.key, prefix: key.prefix, tenantId };
}

export interface ListedKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

export function listKeys(tenantSlug: string, target: Target): ListedKey[] | null {
  const tenant = d1Execute<{ id: string }>(`SELECT id FROM tenants WHERE slug = ${sqlText(tenantSlug)};`, target);
  if (tenant.length === 0) return null;
  return d1Execute<ListedKey>(
    `SELECT k.id, k.name, k.prefix, k.scopes, k.created_at, k.revoked_at FROM api_keys k
       JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = ${sqlText(tenantSlug)} ORDER BY k.created_at, k.id;`,
    target,
  );
}

/** Returns false when no active key has this id. */
export function revokeKey(keyId: string, target: Target): boolean {
  const rows = d1Execute<{ id: string }>(
    `UPDATE api_keys SET revoked_at = ${sqlValue(Date.now())} WHERE id = ${sqlText(keyId)} AND revoked_at IS NULL RETURNING id;`,
    target,
  );
  return rows.length > 0;
}

export function keyIsActive(hash: string, target: Target): boolean {
  return d1Execute(`SELECT 1 AS ok FROM api_keys WHERE key_hash = ${sqlText(hash)} AND revoked_at IS NULL;`, target).length > 0;
}
