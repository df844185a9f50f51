import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Scope } from "../../auth/keys.ts";
import type { Db } from "../client.ts";
import { apiKeys } from "../schema.ts";

export interface KeyRecord {
  id: string;
  tenantId: string;
  keyHash: string;
  scopes: Scope[];
  revokedAt: number | null;
}

/** The key with this hash (at most one row); run alone or as the first statement of a batch. */
export function keyByHashQuery(db: Db, keyHash: string) {
  return db
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, keyHash: apiKeys.keyHash, scopes: apiKeys.scopes, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, keyHash))
    .limit(1);
}

export function toKeyRecord(row: Awaited<ReturnType<typeof keyByHashQuery>>[number] | undefined): KeyRecord | null {
  return row ? { ...row, scopes: row.scopes.split(" ").filter(Boolean) as Scope[] } : null;
}

export async function findKeyByHash(db: Db, keyHash: string): Promise<KeyRecord | null> {
  return toKeyRecord((await keyByHashQuery(db, keyHash))[0]);
}

/**
 * The tenant of an active key that has `scope`, as a scalar subquery: lets a route authenticate and read in
 * the same D1 batch, with the tenant scoping enforced by SQL itself.
 */
export function tenantOfKey(db: Db, keyHash: string, scope: Scope): SQL {
  const tenant = db
    .select({ tenantId: apiKeys.tenantId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt), sql`instr(' ' || ${apiKeys.scopes} || ' ', ${` ${scope} `}) > 0`));
  return sql`(${tenant})`;
}
