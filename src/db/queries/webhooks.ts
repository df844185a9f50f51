// Webhook endpoints, their deliveries and the deliveries' attempts (src/webhooks/). Every query a client's request
// makes is scoped to its tenant; the queue consumer and the sweeper address deliveries by their id.
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, lte, ne, or, sql, type SQL } from "drizzle-orm";
import { naming } from "../../log-error.ts";
import type { JobState } from "../../model/job-states.ts";
import type { Db } from "../client.ts";
import { importJobs, unannouncedCondition, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../schema.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type NewEndpoint = typeof webhookEndpoints.$inferInsert;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type NewDelivery = typeof webhookDeliveries.$inferInsert;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

const ownEndpoint = (tenantId: string, id: string) => and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id));

/** Inserts the endpoint unless the tenant already has `maxEndpoints`; one statement, so two creations cannot both pass. */
export async function createEndpoint(db: Db, endpoint: EndpointRow, maxEndpoints: number): Promise<EndpointRow | null> {
  const e = endpoint;
  const [row] = await db
    .insert(webhookEndpoints)
    .select(
      sql`SELECT ${e.id}, ${e.tenantId}, ${e.url}, ${e.events}, ${e.description}, ${e.secretSealed}, NULL, NULL, 1, NULL, NULL, 0, ${e.createdAt}, ${e.updatedAt}
          WHERE (SELECT count(*) FROM ${webhookEndpoints} WHERE ${webhookEndpoints.tenantId} = ${e.tenantId}) < ${maxEndpoints}`,
    )
    .returning();
  return row ?? null;
}

export async function getEndpoint(db: Db, tenantId: string, id: string): Promise<EndpointRow | null> {
  const [row] = await db.select().from(webhookEndpoints).where(ownEndpoint(tenantId, id)).limit(1);
  return row ?? null;
}

/** One page by id, plus one row to tell whether another page follows. */
export function listEndpoints(db: Db, tenantId: string, page: { limit: number; afterId?: string }): Promise<EndpointRow[]> {
  const conditions: SQL[] = [eq(webhookEndpoints.tenantId, tenantId)];
  if (page.afterId !== undefined) conditions.push(gt(webhookEndpoints.id, page.afterId));
  return db
    .select()
    .from(webhookEndpoints)
    .where(and(...conditions))
    .orderBy(asc(webhookEndpoints.id))
    .limit(page.limit + 1);
}

export async function updateEndpoint(
  db: Db,
  tenantId: string,
  id: string,
  patch: Partial<Pick<EndpointRow, "url" | "events" | "description">>,
  now: number,
): Promise<EndpointRow | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...patch, updatedAt: now })
    .where(ownEndpoint(tenantId, id))
    .returning();
  return row ?? null;
}

/** Deletes the endpoint; its deliveries are no longer attempted and go with their retention. */
export async function deleteEndpoint(db: Db, tenantId: string, id: string): Promise<boolean> {
  const rows = await db.delete(webhookEndpoints).where(ownEndpoint(tenantId, id)).returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** The new secret signs from now on; the current one becomes the previous, which keeps signing until `previousUntil`. */
export async function rotateSecret(db: Db, tenantId: string, id: string, secretSealed: string, previousUntil: number, now: number): Promise<EndpointRow | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ secretSealed, previousSecretSealed: sql`${webhookEndpoints.secretSealed}`, previousSecretExpiresAt: previousUntil, updatedAt: now })
    .where(ownEndpoint(tenantId, id))
    .returning();
  return row ?? null;
}

/** Enabled again, its count of failures in a row back to zero. */
export async function enableEndpoint(db: Db, tenantId: string, id: string, now: number): Promise<EndpointRow | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0, updatedAt: now })
    .where(ownEndpoint(tenantId, id))
    .returning();
  return row ?? null;
}

/** The tenant's enabled endpoints (at most the limit of endpoints per tenant). */
export function enabledEndpoints(db: Db, tenantId: string): Promise<EndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.enabled, true)));
}

/**
 * Inserts the deliveries that do not exist yet (their ids are derived from endpoint, job and event) and records the
 * job's state as announced, in one batch; returns the ids inserted now.
 */
export async function insertDeliveries(db: Db, deliveries: NewDelivery[], job: { id: string; status: JobState }): Promise<string[]> {
  const announced = db
    .update(importJobs)
    .set({ announcedStatus: job.status })
    .where(and(eq(importJobs.id, job.id), eq(importJobs.status, job.status)));
  if (deliveries.length === 0) {
    await announced;
    return [];
  }
  const inserts = chunked(deliveries, DELIVERIES_PER_STATEMENT).map((rows) =>
    db.insert(webhookDeliveries).values(rows).onConflictDoNothing().returning({ id: webhookDeliveries.id }),
  );
  const results = await naming("insert webhook deliveries", db.batch([announced, ...inserts]));
  return (results.slice(1) as { id: string }[][]).flat().map((r) => r.id);
}

/** D1 binds at most 100 parameters a statement; a delivery row binds at most one per column. */
const DELIVERIES_PER_STATEMENT = Math.floor(100 / Object.keys(getTableColumns(webhookDeliveries)).length);

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A delivery with what its attempt needs of its endpoint; the endpoint is null when it was deleted. */
export async function deliveryToSend(db: Db, id: string): Promise<{ delivery: DeliveryRow; endpoint: EndpointRow | null } | null> {
  const [row] = await db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .leftJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, id))
    .limit(1);
  return row ?? null;
}

export interface AttemptOutcome {
  attempt: number;
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** pending: another attempt follows at nextAttemptAt. */
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
}

/**
 * Records an attempt on the delivery, then in its log and in its endpoint's count of failures in a row (zero after a
 * success). On a failure the endpoint is disabled when the count reaches `disableAfter`, or at once with
 * `disableReason` (a 410). Returns whether the attempt was recorded, and the endpoint as it is after it (null: deleted, or not recorded).
 */
export async function recordAttempt(
  db: Db,
  delivery: Pick<DeliveryRow, "id" | "endpointId">,
  outcome: AttemptOutcome,
  endpointRule: { disableAfter: number; disableReason?: string },
): Promise<{ recorded: boolean; endpoint: EndpointRow | null }> {
  const { attempt, at, statusCode, latencyMs, error, status, nextAttemptAt } = outcome;
  // Only the attempt that follows the recorded one counts: a second message for the same delivery (a resend by the
  // sweeper while the first waited in a backlog) records nothing and is dropped by its caller.
  const updateDelivery = db
    .update(webhookDeliveries)
    .set({ attempts: attempt, lastStatusCode: statusCode, lastLatencyMs: latencyMs, lastError: error, status, nextAttemptAt, updatedAt: at })
    .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, "pending"), eq(webhookDeliveries.attempts, attempt - 1)))
    .returning({ id: webhookDeliveries.id });
  const insertAttempt = db.insert(webhookAttempts).values({ deliveryId: delivery.id, attempt, at, statusCode, latencyMs, error }).onConflictDoNothing();
  const failures = sql`${webhookEndpoints.consecutiveFailures} + 1`;
  const reason = endpointRule.disableReason ?? `${endpointRule.disableAfter} delivery attempts failed in a row`;
  const disables = endpointRule.disableReason !== undefined ? sql`1` : sql`${failures} >= ${endpointRule.disableAfter}`;
  const updateEndpoint =
    status === "succeeded"
      ? db.update(webhookEndpoints).set({ consecutiveFailures: 0 }).where(eq(webhookEndpoints.id, delivery.endpointId)).returning()
      : db
          .update(webhookEndpoints)
          .set({
            consecutiveFailures: failures,
            enabled: sql`CASE WHEN ${webhookEndpoints.enabled} = 1 AND ${disables} THEN 0 ELSE ${webhookEndpoints.enabled} END`,
            disabledReason: sql`CASE WHEN ${webhookEndpoints.enabled} = 1 AND ${disables} THEN ${reason} ELSE ${webhookEndpoints.disabledReason} END`,
            disabledAt: sql`CASE WHEN ${webhookEndpoints.enabled} = 1 AND ${disables} THEN ${at} ELSE ${webhookEndpoints.disabledAt} END`,
          })
          .where(eq(webhookEndpoints.id, delivery.endpointId))
          .returning();
  // First the delivery, on its own: what else the attempt changes is written only when this message recorded it. (Should
  // the Worker stop in between, the attempt is in the delivery's figures but not in its log or its endpoint's count.)
  if ((await naming("record webhook attempt", updateDelivery)).length === 0) return { recorded: false, endpoint: null };
  const [, endpoints] = await naming("record webhook attempt", db.batch([insertAttempt, updateEndpoint]));
  return { recorded: true, endpoint: endpoints[0] ?? null };
}

/** A delivery given up without another attempt (its retries ran out, its endpoint is disabled or deleted). */
export async function failDelivery(db: Db, id: string, error: string, now: number): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: "failed", nextAttemptAt: null, lastError: error, updatedAt: now })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "pending")));
}

/** One page of an endpoint's delivery log, newest first, plus one row to tell whether another page follows. */
export function listDeliveries(db: Db, tenantId: string, endpointId: string, page: { limit: number; after?: readonly [number, string] }): Promise<DeliveryRow[]> {
  const conditions: (SQL | undefined)[] = [eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.tenantId, tenantId)];
  if (page.after) {
    const [createdAt, id] = page.after;
    conditions.push(or(lt(webhookDeliveries.createdAt, createdAt), and(eq(webhookDeliveries.createdAt, createdAt), lt(webhookDeliveries.id, id))));
  }
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(page.limit + 1);
}

export async function getDelivery(db: Db, tenantId: string, endpointId: string, id: string): Promise<{ delivery: DeliveryRow; attempts: AttemptRow[] } | null> {
  const own = and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.tenantId, tenantId));
  const [found, attempts] = await naming(
    "get webhook delivery",
    db.batch([
      db.select().from(webhookDeliveries).where(own).limit(1),
      // At most the attempts the queue makes, and those of each redelivery.
      db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, id)).orderBy(asc(webhookAttempts.attempt)).limit(100),
    ]),
  );
  return found[0] ? { delivery: found[0], attempts } : null;
}

/**
 * POST …/redeliver: a delivery that succeeded or failed is pending again, due now (`redelivered`); one still pending is
 * left to its own retries (a second message would run a second chain of them). Null if the endpoint has no such delivery.
 */
export async function markRedelivery(
  db: Db,
  tenantId: string,
  endpointId: string,
  id: string,
  now: number,
): Promise<{ redelivered: boolean; delivery: DeliveryRow } | null> {
  const own = and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.tenantId, tenantId));
  const [[updated], [found]] = await naming(
    "redeliver webhook delivery",
    db.batch([
      db
        .update(webhookDeliveries)
        .set({ status: "pending", nextAttemptAt: now, updatedAt: now })
        .where(and(own, ne(webhookDeliveries.status, "pending")))
        .returning(),
      db.select().from(webhookDeliveries).where(own).limit(1),
    ]),
  );
  if (updated) return { redelivered: true, delivery: updated };
  return found ? { redelivered: false, delivery: found } : null;
}

/** Pending deliveries whose next attempt was due before `dueBefore`: their message was lost. Marked due again. */
export async function takeOverdueDeliveries(db: Db, dueBefore: number, now: number, limit: number): Promise<string[]> {
  const overdue = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, dueBefore)))
    .limit(limit);
  const rows = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: now })
    .where(and(eq(webhookDeliveries.status, "pending"), inArray(webhookDeliveries.id, overdue)))
    .returning({ id: webhookDeliveries.id });
  return rows.map((r) => r.id);
}

/** Jobs in an announced state that was not announced, that have not moved since `heartbeatBefore` (their announce was lost). */
export async function findUnannouncedJobs(db: Db, heartbeatBefore: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: importJobs.id })
    .from(importJobs)
    .where(and(sql.raw(unannouncedCondition()), lt(importJobs.heartbeatAt, heartbeatBefore)))
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Deletes deliveries created before `createdBefore` with their attempts, at most `limit`; returns how many. The ids are
 * chosen inside each statement (no id is bound: D1 takes 100 parameters a statement), attempts first.
 */
export async function purgeDeliveries(db: Db, createdBefore: number, limit: number): Promise<number> {
  const expired = () => db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(lt(webhookDeliveries.createdAt, createdBefore)).orderBy(webhookDeliveries.createdAt).limit(limit);
  const [, deleted] = await naming(
    "purge webhook deliveries",
    db.batch([
      db.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryId, expired())),
      db.delete(webhookDeliveries).where(inArray(webhookDeliveries.id, expired())),
    ]),
  );
  return deleted.meta.changes ?? 0;
}
