// The sweeper's check of the status summary's counters. The triggers that keep them are exact by construction (they
// run inside the statement that writes a job); this check is the alarm should anything write around them (a table
// rebuilt, a trigger dropped, a manual fix): it recounts a few tenants a run, the least recently checked first, logs
// any drift and replaces that tenant's counters with the recount.
import type { Db } from "../../db/client.ts";
import type { StatusGroup } from "../../db/queries/import-status.ts";
import { countersAndRecount, markCountersChecked, recountCounters, tenantsToCheck } from "../../db/queries/job-counters.ts";

const FIGURES = ["jobs", "errors", "warnings", "durationSum", "durationCount", "processedRows"] as const satisfies readonly (keyof StatusGroup)[];
type Figures = Record<(typeof FIGURES)[number], number>;

export interface CounterDrift {
  status: string;
  counted: Figures;
  recounted: Figures;
}

/** The states whose counters differ from the recount; a state absent from one side counts as all zeros. */
export function counterDrift(counters: readonly StatusGroup[], recount: readonly StatusGroup[]): CounterDrift[] {
  const zero = Object.fromEntries(FIGURES.map((f) => [f, 0])) as Figures;
  const figures = (g: StatusGroup | undefined): Figures => (g ? (Object.fromEntries(FIGURES.map((f) => [f, g[f]])) as Figures) : zero);
  const states = new Set([...counters, ...recount].map((g) => g.status));
  const drift: CounterDrift[] = [];
  for (const status of states) {
    const counted = figures(counters.find((g) => g.status === status));
    const recounted = figures(recount.find((g) => g.status === status));
    if (FIGURES.some((f) => counted[f] !== recounted[f])) drift.push({ status, counted, recounted });
  }
  return drift;
}

export interface CounterAuditReport {
  /** Tenants checked. */
  countersChecked: number;
  /** Tenants whose counters differed from the recount and were replaced by it. */
  countersRepaired: number;
}

/**
 * Checks the counters of up to `tenants` tenants. Each costs a recount of its jobs (a covering-index scan, off the
 * request path), so the bound on tenants bounds the run.
 */
export async function auditCounters(db: Db, tenants: number, now: number): Promise<CounterAuditReport> {
  const ids = await tenantsToCheck(db, tenants);
  let repaired = 0;
  const fine: string[] = [];
  for (const tenantId of ids) {
    const { counters, recount } = await countersAndRecount(db, tenantId);
    const drift = counterDrift(counters, recount);
    if (drift.length === 0) {
      fine.push(tenantId);
      continue;
    }
    console.warn(JSON.stringify({ level: "warn", msg: "job counters drifted; replaced by a recount", tenant_id: tenantId, drift }));
    await recountCounters(db, tenantId, now);
    repaired++;
  }
  await markCountersChecked(db, fine, now);
  return { countersChecked: ids.length, countersRepaired: repaired };
}
