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
      processedRows: sql<number>`sum(${c.processedRows})`.mapWith(Number),
    })
    .from(c)
    .where(typeof tenant === "string" ? eq(c.tenantId, tenant) : sql`${c.tenantId} = ${tenant}`)
    .groupBy(c.status);
}

/**
 * The same figures counted from the tenant's jobs, for the sweeper's check of the counters (src/imports/jobs/
 * counter-audit.ts), in the counters' column order (the repair inserts it as it is); it reads every job of the tenant,
 * at a cost that grows with its jobs.
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
      processedRows: sql<number>`coalesce(sum(${importJobs.processedRows}), 0)`.mapWith(Number),
    })
    .from(importJobs)
    .where(tenantIs(tenant))
    .groupBy(importJobs.status);
}

/** How many of the tenant's most recently finished completed jobs the summary's duration percentiles are taken over. */
export const DURATION_SAMPLE_JOBS = 100;

const COMPLETED = sql.raw(`import_jobs.status = ${sqlState("completed")}`);
const QUEUED = sql.raw(`import_jobs.status = ${sqlState("queued")}`);

/**
 * The summary's rollups that no counter can keep, in one row: the durations of the tenant's last DURATION_SAMPLE_JOBS
 * completed jobs (a JSON array, newest finished first) and the oldest queued_at of its queued jobs. Each is a bounded
 * seek into a partial index (import_jobs_tenant_completed, import_jobs_tenant_queued), whose condition the query
 * repeats as a literal so that SQLite can use it.
 */
export function statusRollupsQuery(db: Db, tenant: TenantScope) {
  const tenantSql = typeof tenant === "string" ? sql`${tenant}` : tenant;
  const recentDurations = sql`SELECT import_jobs.finished_at - import_jobs.started_at AS d FROM import_jobs
    WHERE import_jobs.tenant_id = ${tenantSql} AND ${COMPLETED} AND import_jobs.finished_at IS NOT NULL AND import_jobs.started_at IS NOT NULL
    ORDER BY import_jobs.finished_at DESC LIMIT ${sql.raw(String(DURATION_SAMPLE_JOBS))}`;
  const oldestQueued = sql`SELECT min(import_jobs.queued_at) FROM import_jobs WHERE import_jobs.tenant_id = ${tenantSql} AND ${QUEUED}`;
  return db
    .select({
      durations: sql<string>`(SELECT json_group_array(r.d) FROM (${recentDurations}) AS r)`,
      oldestQueuedAt: sql<number | null>`(${oldestQueued})`,
    })
    .from(sql`(SELECT 1)`);
}

export interface StatusRollups {
  durationP50Ms: number | null;
  durationP95Ms: number | null;
  oldestQueuedAt: number | null;
}

/** The nearest-rank percentile `q` of ascending `sorted`; null when empty. */
function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

export function toRollups(row: Awaited<ReturnType<typeof statusRollupsQuery>>[number] | undefined): StatusRollups {
  const durations = (JSON.parse(row?.durations ?? "[]") as number[]).sort((a, b) => a - b);
  return { durationP50Ms: percentile(durations, 0.5), durationP95Ms: percentile(durations, 0.95), oldestQueuedAt: row?.oldestQueuedAt ?? null };
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
  processedRows: number;
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
  let processedRows = 0;
  for (const g of groups) {
    // A counter row stays, at zero, once its state's jobs have moved on or been deleted (even a state since retired).
    if (g.jobs === 0) continue;
    counts[g.status] = g.jobs;
    total += g.jobs;
    errors += g.errors;
    warnings += g.warnings;
    durationSum += g.durationSum;
    durationCount += g.durationCount;
    processedRows += g.processedRows;
  }
  return { total, counts, errors, warnings, avgDurationMs: durationCount > 0 ? Math.round(durationSum / durationCount) : null, processedRows };
}
