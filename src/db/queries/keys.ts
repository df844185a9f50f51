import { eq } from "drizzle-orm";
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

export async function findKeyByHash(db: Db, keyHash: string): Promise<KeyRecord | null> {
  const [row] = await db
    .select({
      id: apiKeys.id,
      tenantId: apiKeys.tenantId,
      keyHash: apiKeys.keyHash,
      scopes: apiKeys.scopes,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, keyHash))
    .limit(1);
  if (!row) return null;
  return { ...row, scopes: row.scopes.split(" ").filter(Boolean) as Scope[] };
}
