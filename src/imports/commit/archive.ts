// The statements of a replace-mode import after its last row: count the tenant's products that the file did not
// mention, archive them, and (a dry run) purge the SKUs it recorded. Each walks the tenant's products in SKU-key order
// through the primary key, a window of at most `n` products per statement, and each is guarded by the job's phase and
// the SKU key its window starts after (the phase's checkpoint, committed with what the window did): a redelivered,
// duplicated or stale invocation applies nothing, and a crash between two windows loses or repeats none.
//
// "Not mentioned" is, for an import, a product whose stamp (seen_seq) is older than the job's write sequence: the job
// stamped every product its file named, and any import that started after it stamped what it wrote, so a product a
// later import wrote is never archived by this one (see import_jobs.stamp_mentions). A dry run stamps nothing and
// reads the SKUs it recorded instead (import_mentions).
import { sqlState } from "../../model/job-states.ts";
import type { ReplacePhase } from "../../model/import-mode.ts";
import { changedJob } from "../../db/queries/jobs.ts";
import { naming } from "../../log-error.ts";
import { statement } from "./write.ts";

const ARCHIVED = "'archived'";

/**
 * The job is in `phase` at checkpoint `from`, and no cancel was requested: the guard of every statement here (a job
 * canceled while archiving keeps, and counts, the windows archived before the request).
 */
const PHASE_GUARD = (p: Record<"jobId" | "phase" | "from", string>) =>
  `id = ${p.jobId} AND status = ${sqlState("processing")} AND replace_phase = ${p.phase} AND replace_cursor = ${p.from} AND cancel_requested_at IS NULL`;

/** The tenant's next `n` products after `from`, in SKU-key order. */
const WINDOW = (p: Record<"tenantId" | "from" | "n", string>, columns: string) =>
  `SELECT ${columns} FROM products WHERE tenant_id = ${p.tenantId} AND sku_key > ${p.from} ORDER BY sku_key LIMIT ${p.n}`;

/** The last SKU key of the window (null when no product comes after `from`). */
const WINDOW_END = (p: Record<"tenantId" | "from" | "n", string>) => `(SELECT max(sku_key) FROM (${WINDOW(p, "sku_key")}))`;

/** The window's products not archived, and those of them (`c`) the file did not mention, added to the job's counts. */
const countWindow = (p: Record<"jobId" | "tenantId" | "phase" | "from" | "n" | "now", string>, unmentioned: string) =>
  `UPDATE import_jobs SET replace_cursor = w.last, would_archive = would_archive + w.unmentioned,
    catalog_products = catalog_products + w.kept, heartbeat_at = ${p.now}
  FROM (SELECT max(c.sku_key) AS last, count(*) FILTER (WHERE c.status <> ${ARCHIVED}) AS kept,
      count(*) FILTER (WHERE c.status <> ${ARCHIVED} AND ${unmentioned}) AS unmentioned
    FROM (${WINDOW(p, "sku_key, status, seen_seq")}) AS c) AS w
  WHERE ${PHASE_GUARD(p)} AND w.last IS NOT NULL
  RETURNING replace_cursor AS cursor, would_archive AS would, catalog_products AS kept`;

const COUNT_STAMPED = statement(["jobId", "tenantId", "phase", "from", "n", "now", "seq"], (p) =>
  countWindow(p, `(c.seen_seq IS NULL OR c.seen_seq < ${p.seq})`),
);
const COUNT_RECORDED = statement(["jobId", "tenantId", "phase", "from", "n", "now"], (p) =>
  countWindow(p, `NOT EXISTS (SELECT 1 FROM import_mentions AS m WHERE m.job_id = ${p.jobId} AND m.sku_key = c.sku_key)`),
);

// An archived product is stamped with the job's write sequence, as any product the import writes: the import wrote it
// last, and the stamp is what lets the revisions trigger record what it was (a revert of the import restores it).
const ARCHIVE_WINDOW = statement(
  ["jobId", "tenantId", "phase", "from", "n", "now", "seq"],
  (p) => `UPDATE products SET status = ${ARCHIVED}, seen_seq = ${p.seq}, version = version + 1, updated_at = ${p.now}
  WHERE tenant_id = ${p.tenantId} AND sku_key > ${p.from} AND sku_key <= ${WINDOW_END(p)}
    AND status <> ${ARCHIVED} AND (seen_seq IS NULL OR seen_seq < ${p.seq})
    AND EXISTS (SELECT 1 FROM import_jobs WHERE ${PHASE_GUARD(p)})`,
);

/** Must directly follow ARCHIVE_WINDOW: changes() then counts the products it archived. */
const AFTER_ARCHIVE_WINDOW = statement(
  ["jobId", "tenantId", "phase", "from", "n", "now"],
  (p) => `UPDATE import_jobs SET archived = archived + changes(), replace_cursor = w.last, heartbeat_at = ${p.now}
  FROM (SELECT ${WINDOW_END(p)} AS last) AS w
  WHERE ${PHASE_GUARD(p)} AND w.last IS NOT NULL
  RETURNING replace_cursor AS cursor, archived`,
);

const PURGE_MENTIONS = statement(
  ["jobId", "phase", "from", "n"],
  (p) => `DELETE FROM import_mentions WHERE job_id = ${p.jobId}
    AND sku_key IN (SELECT sku_key FROM import_mentions WHERE job_id = ${p.jobId} ORDER BY sku_key LIMIT ${p.n})
    AND EXISTS (SELECT 1 FROM import_jobs WHERE ${PHASE_GUARD(p)})`,
);

const HEARTBEAT = statement(["jobId", "phase", "from", "now"], (p) => `UPDATE import_jobs SET heartbeat_at = ${p.now} WHERE ${PHASE_GUARD(p)}`);

/**
 * The job leaves `phase`: on to `next` (null: none) at the start of the catalog, in `status`, with the archive limit
 * (null: kept). Completion commits `finished_at` with it.
 */
const MOVE = statement(
  ["jobId", "phase", "from", "now", "status", "next", "limit"],
  (p) => `UPDATE import_jobs SET status = ${p.status}, replace_phase = ${p.next}, replace_cursor = '',
    archive_limit = coalesce(${p.limit}, archive_limit), heartbeat_at = ${p.now},
    finished_at = CASE WHEN ${p.status} = ${sqlState("completed")} THEN ${p.now} ELSE finished_at END
  WHERE ${PHASE_GUARD(p)}`,
);

/** For the query-plan test: each window must be a range of the primary key, never a scan of the table. */
export const archiveStatementsForPlans = { count: COUNT_STAMPED.sql, archive: ARCHIVE_WINDOW.sql };

/** Where a job stands in its phase: the guard of the next statement. */
export interface PhaseCheckpoint {
  jobId: string;
  tenantId: string;
  phase: ReplacePhase;
  /** The last SKU key done ("" at the start). */
  from: string;
}

/** What a counting window added up to: the job's checkpoint and counts after it; null when it read no product (or lost). */
export type Counted = { cursor: string; would: number; kept: number } | null;

/** Counts the next window of products; `seq`: the job's write sequence, or null for a dry run (its recorded SKUs). */
export async function countNext(db: D1Database, at: PhaseCheckpoint, n: number, seq: number | null, now = Date.now()): Promise<Counted> {
  const params = { ...at, n, now, seq };
  const counting = seq === null ? COUNT_RECORDED.bind(db, params) : COUNT_STAMPED.bind(db, params);
  const [result] = await naming("replace count window", db.batch([counting]));
  return (result?.results[0] as Counted | undefined) ?? null;
}

/** Archives the next window's products the file did not mention; the job's checkpoint and count after it, or null. */
export async function archiveNext(db: D1Database, at: PhaseCheckpoint, n: number, seq: number, now = Date.now()): Promise<{ cursor: string; archived: number } | null> {
  const params = { ...at, n, now, seq };
  const [, job] = await naming("replace archive window", db.batch([ARCHIVE_WINDOW.bind(db, params), AFTER_ARCHIVE_WINDOW.bind(db, params)]));
  return (job?.results[0] as { cursor: string; archived: number } | undefined) ?? null;
}

/** Deletes up to `n` of a dry run's recorded SKUs; how many it deleted (0 as well when the guard failed). */
export async function purgeNext(db: D1Database, at: PhaseCheckpoint, n: number, now = Date.now()): Promise<number> {
  const [purged] = await naming("replace purge", db.batch([PURGE_MENTIONS.bind(db, { ...at, n }), HEARTBEAT.bind(db, { ...at, now })]));
  return purged?.meta.changes ?? 0;
}

/** Moves the job out of its phase (see MOVE); false when the guard failed (another invocation moved it first). */
export async function leavePhase(
  db: D1Database,
  at: PhaseCheckpoint,
  to: { status: "processing" | "needs_confirmation" | "completed"; next: ReplacePhase | null; limit?: number },
  now = Date.now(),
): Promise<boolean> {
  const [moved] = await naming("replace phase move", db.batch([MOVE.bind(db, { ...at, now, status: to.status, next: to.next, limit: to.limit ?? null })]));
  return changedJob(moved);
}
