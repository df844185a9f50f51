import { count, desc, eq, sql, sum, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { importJobs } from "../schema.ts";
import { type JobState, jobStates, sqlState } from "../../model/job-states.ts";
import { jobViewColumns } from "./jobs.ts";

/** A tenant id, or a scalar subquery yielding one (see tenantOfKey). */
type TenantScope = string | SQL;

function tenantIs(tenant: TenantScope) {
  return typeof tenant === "string" ? eq(importJobs.tenantId, tenant) : sql`${importJobs.tenantId} = ${tenant}`;
}

/** Counts, error sums and completed-duration sums per status; answered from the covering summary index. */
export function statusAggregateQuery(db: Db, tenant: TenantScope) {
  const completed = sql`${importJobs.status} = ${sql.raw(sqlState("completed"))}`;
  return db
    .select({
      status: importJobs.status,
      jobs: count(),
      errors: sum(importJobs.errorCount).mapWith(Number),
      warnings: sum(importJobs.warningCount).mapWith(Number),
      durationSum: sql<number | null>`sum(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END)`,
      durationCount: sql<number>`count(CASE WHEN ${completed} THEN ${importJobs.finishedAt} - ${importJobs.startedAt} END)`,
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

export function summarize(groups: Awaited<ReturnType<typeof statusAggregateQuery>>): StatusSummary {
  const counts = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>;
  let total = 0;
  let errors = 0;
  let warnings = 0;
  let durationSum = 0;
  let durationCount = 0;
  for (const g of groups) {
    counts[g.status] = g.jobs;
    total += g.jobs;
    errors += g.errors ?? 0;
    warnings += g.warnings ?? 0;
    durationSum += g.durationSum ?? 0;
    durationCount += g.durationCount;
  }
  return { total, counts, errors, warnings, avgDurationMs: durationCount > 0 ? Math.round(durationSum / durationCount) : null };
}
