import { and, eq, lte } from "drizzle-orm";
import type { Db } from "../client.ts";
import { idempotencyKeys } from "../schema.ts";
import { naming } from "../../log-error.ts";

export type IdempotencyClaim =
  | { kind: "claimed" }
  /** The earlier request with this key and request digest was accepted; `contentHash` is what its file hashed to. */
  | { kind: "replay"; status: number; body: string; contentHash: string | null }
  | { kind: "in_flight" }
  | { kind: "mismatch" };

/**
 * Claims (tenant, key) for a request with this digest (`requestDigest`: what it says before its body is read), atomically: an expired record is dropped,
 * then the insert either wins or tells us what the earlier request with the same key did.
 */
export async function claimIdempotencyKey(
  db: Db,
  tenantId: string,
  key: string,
  requestDigest: string,
  now: number,
  ttlMs: number,
): Promise<IdempotencyClaim> {
  const where = and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key));
  const [, inserted, existing] = await naming("idempotency claim", db.batch([
    db.delete(idempotencyKeys).where(and(where, lte(idempotencyKeys.expiresAt, now))),
    db
      .insert(idempotencyKeys)
      .values({ tenantId, key, requestDigest, createdAt: now, expiresAt: now + ttlMs })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key }),
    db.select().from(idempotencyKeys).where(where),
  ]));
  if (inserted.length === 1) return { kind: "claimed" };
  const record = existing[0];
  if (!record) return { kind: "in_flight" };
  if (record.requestDigest !== requestDigest) return { kind: "mismatch" };
  if (record.responseStatus === null || record.responseBody === null) return { kind: "in_flight" };
  return { kind: "replay", status: record.responseStatus, body: record.responseBody, contentHash: record.contentHash };
}

/** Records the response to replay and the content hash a repeat must match (null: the request has no content hashed). */
export async function completeIdempotencyKey(
  db: Db,
  tenantId: string,
  key: string,
  response: { status: number; body: string; contentHash: string | null },
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: response.status, responseBody: response.body, contentHash: response.contentHash })
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)));
}

/** Frees the key after a failed attempt, so the client can retry with the same key. */
export async function releaseIdempotencyKey(db: Db, tenantId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)));
}
