import { count, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { importJobCounters, importJobs } from "../schema.ts";
import { type JobState, jobStates, sqlState } from "../../model/job-states.ts";
import { jobViewColumns } from "./jobs.ts";

/** A tenant id, or a scalar subquery yielding one (see tenantOfKey). */
type TenantScope = string | SQL;

function tenantIs(tenant: TenantScope) {
  return typeof tenant === "string" ? eq(importJobs.tenantId, tenant) : sql`${importJobs.tenantId} = ${tenant}`;
}

/**
 * Counts, error sums and completed-duration sums per status, read from the tenant's counter rows (one per state it has
 * had jobs in): the same cost at any number of jobs. The triggers that keep them are in migration 0015.
 */
export function statusCountersQuery(db: Db, tenant: TenantScope) {
  const c = importJobCounters;
  return db
    .select({
      status: c.status,
      jobs: sql<number>`sum(${c.jobs})`.mapWith(Number),
      errors: sql<number>`sum(${c.errors})`.mapWith(Number),
      warnings: sql<number>`sum(${c.warnings})`.mapWith(Number),
      durationSum: sql<number>`sum(${c.durationSum})`.mapWith(Number),
      durationCount: sql<number>`sum(${c.durationCount})`.mapWith(Number),
    })
    .from(c)
    .where(typeof tenant === "string" ? eq(c.tenantId, tenant) : sql`${c.tenantId} = ${tenant}`)
    .groupBy(c.status);
}

/**
 * The same figures counted from the tenant's jobs, for the sweeper's check of the counters (src/imports/jobs/
 * counter-audit.ts); answered from the covering summary index, at a cost that grows with the tenant's jobs.
 */
export function statusRecountQuery(db: Db, tenant: TenantScope) {
  const completed = sql`${importJobs.status} = ${sql.raw(sqlState("completed"))}`;
  return db
    .select({
      status: importJobs.status,
      jobs: count(),
      errors: sql<number>`coalesce(sum(${importJobs.errorCount}), 0)`.mapWith(Number),
      warnings: sql<number>`coalesce(sum(${importJobs.warningCount}), 0)`.mapWith(Number),
      durationSum: sql<number>`coalesce(sum(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END), 0)`.mapWith(Number),
      durationCount: sql<number>`count(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END)`.mapWith(Number),
    })
    .from(importJobs)
    .where(tenantIs(tenant))
    .groupBy(importJobs.status);
}

/** The newest jobs, newest first with the id as tie-break; walks the (tenant, created_at DESC, id DESC) index. */
export function recentJobsQuery(db: Db, tenant: TenantScope, limit: number) {
  return db.select(jobViewColumns).from(importJobs).where(tenantIs(tenant)).orderBy(desc(importJobs.createdAt), desc(importJobs.id)).limit(limit);
}

export interface StatusSummary {
  total: number;
  counts: Record<JobState, number>;
  errors: number;
  warnings: number;
  avgDurationMs: number | null;
}

/** One state's figures, from the counters or a recount. */
export type StatusGroup = Awaited<ReturnType<typeof statusCountersQuery>>[number];

export function summarize(groups: readonly StatusGroup[]): StatusSummary {
  const counts = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>;
  let total = 0;
  let errors = 0;
  let warnings = 0;
  let durationSum = 0;
  let durationCount = 0;
  for (const g of groups) {
    // A counter row stays, at zero, once its state's jobs have moved on or been deleted (even a state since retired).
    if (g.jobs === 0) continue;
    counts[g.status] = g.jobs;
    total += g.jobs;
    errors += g.errors;
    warnings += g.warnings;
    durationSum += g.durationSum;
    durationCount += g.durationCount;
  }
  return { total, counts, errors, warnings, avgDurationMs: durationCount > 0 ? Math.round(durationSum / durationCount) : null };
}
