// The statements of a revert job (src/imports/jobs/revert.ts): it walks the reverted import's revisions
// (import_revisions) in SKU-key order, a window of at most `n` per batch. Each batch counts what the window does, lists
// the products left as they are, restores or archives the others, and moves the job's checkpoint (revert_cursor) past
// the window; every statement is guarded by that checkpoint, so a redelivered, duplicated or stale invocation applies
// nothing and a crash between two windows loses or repeats none.
//
// A product is reverted only while its version is the one the import left: any write since (a later import, a
// replace-mode archive, another revert) raised it, and the product is then `kept`, never overwritten.
import { sqlState } from "../../model/job-states.ts";
import type { RowErrorCode } from "../../model/row-error-codes.ts";
import { STORED_COLUMNS } from "../sources/rows.ts";
import { changedJob } from "../../db/queries/jobs.ts";
import { naming } from "../../log-error.ts";
import { statement } from "./write.ts";

type Names = "jobId" | "revertOf" | "tenantId" | "from" | "n" | "now";
const NAMES = ["jobId", "revertOf", "tenantId", "from", "n", "now"] as const satisfies readonly Names[];
type Refs = Record<Names, string>;

/** The job is processing at checkpoint `from` and no cancel was requested; `j` qualifies its columns. */
const guard = (p: Refs, j = "import_jobs") =>
  `${j}.id = ${p.jobId} AND ${j}.status = ${sqlState("processing")} AND ${j}.revert_cursor = ${p.from} AND ${j}.cancel_requested_at IS NULL`;
const GUARD = (p: Refs) => `EXISTS (SELECT 1 FROM import_jobs WHERE ${guard(p)})`;

/** The import's next `n` revisions after `from`, in SKU-key order: one range of import_revisions' primary key. */
const WINDOW = (p: Refs) => `SELECT sku_key, previous, version FROM import_revisions WHERE job_id = ${p.revertOf} AND sku_key > ${p.from} ORDER BY sku_key LIMIT ${p.n}`;

/** The window's revisions beside their products (`p.version IS r.version`: the product is as the import left it). */
const WINDOW_PRODUCTS = (p: Refs) =>
  `(${WINDOW(p)}) AS r LEFT JOIN products AS p ON p.tenant_id = ${p.tenantId} AND p.sku_key = r.sku_key`;

const UNCHANGED = "p.version IS r.version";

const KEPT_CODE: RowErrorCode = "changed_since_import";
const KEPT_MESSAGE = "The product changed after the import (a later import or another write), so the revert left it as it is now.";

/**
 * The products of the window left as they are, each stored as a warning while the job has room (MAX_STORED_ERRORS):
 * numbered after the warnings before it, on the line of its ordinal in the revert. Reads the job's counts before the
 * window's are added (COUNT_WINDOW comes next).
 */
const KEPT_WARNINGS = statement(
  [...NAMES, "maxStored"],
  (p) => `INSERT INTO import_errors (job_id, seq, line, "column", code, message, value, severity)
  SELECT j.id, j.warning_count + k.n - 1, j.processed_rows + k.pos, 'sku', '${KEPT_CODE}', '${KEPT_MESSAGE}', k.sku, 'warning'
  FROM (SELECT w.pos, coalesce(p.sku, w.sku_key) AS sku, row_number() OVER (ORDER BY w.sku_key) AS n
      FROM (SELECT r.sku_key, r.version, row_number() OVER (ORDER BY r.sku_key) AS pos FROM (${WINDOW(p)}) AS r) AS w
      LEFT JOIN products AS p ON p.tenant_id = ${p.tenantId} AND p.sku_key = w.sku_key
      WHERE p.version IS NOT w.version) AS k
  JOIN import_jobs AS j ON ${guard(p, "j")}
  WHERE j.warning_count + k.n - 1 < ${p.maxStored}`,
);

/** What the window does, counted before it is done (the products' versions still tell which are unchanged). */
const COUNT_WINDOW = statement(
  NAMES,
  (p) => `UPDATE import_jobs SET reverted = reverted + c.restores, archived = archived + c.archives, kept = kept + c.keeps,
    warning_count = warning_count + c.keeps, heartbeat_at = ${p.now}
  FROM (SELECT count(*) FILTER (WHERE ${UNCHANGED} AND r.previous IS NOT NULL) AS restores,
      count(*) FILTER (WHERE ${UNCHANGED} AND r.previous IS NULL) AS archives,
      count(*) FILTER (WHERE NOT ${UNCHANGED}) AS keeps
    FROM ${WINDOW_PRODUCTS(p)}) AS c
  WHERE ${guard(p)}`,
);

/** The products the import changed get back the values they had before it (all its columns: those it left are equal). */
const RESTORE = statement(
  NAMES,
  (p) => `UPDATE products SET ${STORED_COLUMNS.map((c, i) => `${c} = r.previous ->> ${i}`).join(", ")},
    version = products.version + 1, updated_at = ${p.now}
  FROM (${WINDOW(p)}) AS r
  WHERE products.tenant_id = ${p.tenantId} AND products.sku_key = r.sku_key AND products.version = r.version
    AND r.previous IS NOT NULL AND ${GUARD(p)}`,
);

/** The products the import created are archived (never deleted). */
const ARCHIVE = statement(
  NAMES,
  (p) => `UPDATE products SET status = 'archived', version = products.version + 1, updated_at = ${p.now}
  FROM (${WINDOW(p)}) AS r
  WHERE products.tenant_id = ${p.tenantId} AND products.sku_key = r.sku_key AND products.version = r.version
    AND r.previous IS NULL AND ${GUARD(p)}`,
);

/** The checkpoint moves past the window; nothing when the window is empty (the walk is done) or the guard failed. */
const MOVE_CHECKPOINT = statement(
  NAMES,
  (p) => `UPDATE import_jobs SET revert_cursor = w.last, processed_rows = processed_rows + w.n, heartbeat_at = ${p.now}
  FROM (SELECT max(sku_key) AS last, count(*) AS n FROM (${WINDOW(p)})) AS w
  WHERE ${guard(p)} AND w.last IS NOT NULL
  RETURNING revert_cursor AS cursor`,
);

/** The walk is done: the job completes, with every revision counted. */
const COMPLETE = statement(
  NAMES,
  (p) => `UPDATE import_jobs SET status = ${sqlState("completed")}, total_rows = processed_rows, finished_at = ${p.now}, heartbeat_at = ${p.now}
  WHERE ${guard(p)} AND NOT EXISTS (${WINDOW(p)})`,
);

/** For the query-plan test: each window must be a range of import_revisions' key and a seek per product. */
export const revertStatementsForPlans = { restore: RESTORE.sql, count: COUNT_WINDOW.sql, warnings: KEPT_WARNINGS.sql };

/** Where a revert job stands: the guard of its next batch. */
export interface RevertCheckpoint {
  jobId: string;
  /** The import being reverted, and its tenant. */
  revertOf: string;
  tenantId: string;
  /** The last SKU key done ("" at the start). */
  from: string;
}

/**
 * Reverts the next window (a dry run only counts it and lists what it would keep): the checkpoint after it, or null
 * when the window was empty or another invocation moved the job first.
 */
export async function revertNext(
  db: D1Database,
  at: RevertCheckpoint,
  options: { n: number; dryRun: boolean; maxStored: number },
  now = Date.now(),
): Promise<string | null> {
  const params = { ...at, n: options.n, now, maxStored: options.maxStored };
  const writes = options.dryRun ? [] : [RESTORE.bind(db, params), ARCHIVE.bind(db, params)];
  const results = await naming(
    "revert window",
    db.batch([KEPT_WARNINGS.bind(db, params), COUNT_WINDOW.bind(db, params), ...writes, MOVE_CHECKPOINT.bind(db, params)]),
  );
  const moved = results.at(-1)?.results[0] as { cursor: string } | undefined;
  return moved?.cursor ?? null;
}

/** Completes the job once no revision is left after its checkpoint; false if it is not done or lost a race. */
export async function completeRevert(db: D1Database, at: RevertCheckpoint, now = Date.now()): Promise<boolean> {
  const [completed] = await naming("revert complete", db.batch([COMPLETE.bind(db, { ...at, n: 1, now })]));
  return changedJob(completed);
}
