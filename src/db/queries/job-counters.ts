// The check of the status summary's counters (import_job_counters) against a recount of the jobs: reads and repairs.
import { asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { importJobCounters, tenants } from "../schema.ts";
import { naming } from "../../log-error.ts";
import { type StatusGroup, statusCountersQuery, statusRecountQuery } from "./import-status.ts";

/** The tenants whose counters were checked longest ago (never first): one seek into tenants_counters_checked. */
export async function tenantsToCheck(db: Db, limit: number): Promise<string[]> {
  const rows = await db.select({ id: tenants.id }).from(tenants).orderBy(asc(tenants.countersCheckedAt)).limit(limit);
  return rows.map((r) => r.id);
}

/** The tenant's counters and a recount of its jobs, read in one batch (one transaction): the same moment. */
export async function countersAndRecount(db: Db, tenantId: string): Promise<{ counters: StatusGroup[]; recount: StatusGroup[] }> {
  const [counters, recount] = await naming("job counters check", db.batch([statusCountersQuery(db, tenantId), statusRecountQuery(db, tenantId)]));
  return { counters, recount };
}

/**
 * Replaces the tenant's counters with a recount of its jobs, in one batch: a job written meanwhile is either counted by
 * the recount or moves the new rows through the triggers after it, so the repair is exact whatever runs beside it.
 */
export async function recountCounters(db: Db, tenantId: string, now: number): Promise<void> {
  const recount = statusRecountQuery(db, tenantId);
  await naming(
    "job counters repair",
    db.batch([
      db.delete(importJobCounters).where(eq(importJobCounters.tenantId, tenantId)),
      // The recount's columns are the counters' in table order, after the tenant.
      db.insert(importJobCounters).select(sql`SELECT ${tenantId}, r.* FROM (${recount}) AS r`),
      db.update(tenants).set({ countersCheckedAt: now }).where(eq(tenants.id, tenantId)),
    ]),
  );
}

export async function markCountersChecked(db: Db, tenantIds: string[], now: number): Promise<void> {
  if (tenantIds.length > 0) await db.update(tenants).set({ countersCheckedAt: now }).where(inArray(tenants.id, tenantIds));
}
