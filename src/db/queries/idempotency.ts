import { and, eq, lte } from "drizzle-orm";
import type { Db } from "../client.ts";
import { idempotencyKeys } from "../schema.ts";

export type IdempotencyClaim =
  | { kind: "claimed" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "in_flight" }
  | { kind: "mismatch" };

/**
 * Claims (tenant, key) for a request with this fingerprint, atomically: an expired record is dropped,
 * then the insert either wins or tells us what the earlier request with the same key did.
 */
export async function claimIdempotencyKey(
  db: Db,
  tenantId: string,
  key: string,
  fingerprint: string,
  now: number,
  ttlMs: number,
): Promise<IdempotencyClaim> {
  const where = and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key));
  const [, inserted, existing] = await db.batch([
    db.delete(idempotencyKeys).where(and(where, lte(idempotencyKeys.expiresAt, now))),
    db
      .insert(idempotencyKeys)
      .values({ tenantId, key, fingerprint, createdAt: now, expiresAt: now + ttlMs })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key }),
    db.select().from(idempotencyKeys).where(where),
  ]);
  if (inserted.length === 1) return { kind: "claimed" };
  const record = existing[0];
  if (!record) return { kind: "in_flight" };
  if (record.fingerprint !== fingerprint) return { kind: "mismatch" };
  if (record.responseStatus === null || record.responseBody === null) return { kind: "in_flight" };
  return { kind: "replay", status: record.responseStatus, body: record.responseBody };
}

export async function completeIdempotencyKey(db: Db, tenantId: string, key: string, status: number, body: string): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: status, responseBody: body })
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)));
}

/** Frees the key after a failed attempt, so the client can retry with the same key. */
export async function releaseIdempotencyKey(db: Db, tenantId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)));
}
