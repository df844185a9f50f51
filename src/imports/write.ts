// One chunk of an import, committed as one D1 batch (one transaction): product upserts, new row errors and
// the job's checkpoint/counter update. Every statement is guarded by the checkpoint the chunk started from,
// so a redelivered, duplicated or stale invocation applies nothing: exactly-once effect on at-least-once delivery.
//
// An import sends its rows to D1 once and lets SQL say what each row did: the batch upserts every valid row in
// file order (a row equal to what is stored, or to the chunk's earlier row for its SKU, changes nothing) and
// counts the upsert's inserts (created) and real updates (updated); the other rows are unchanged. So a later row
// for the same SKU wins and each row counts as what it did.
// A dry run writes nothing, so it cannot count that way: it compares the chunk's rows with the catalog first
// (the look-ahead statement below) and classifies them here.
import { type RowError, rowJson, type RowOutcome, STORED_COLUMNS, type StoredFields, storedFields, type ValidRow } from "./rows.ts";

export interface Checkpoint {
  cursorByte: number;
  cursorLine: number;
}

export interface Chunk {
  rows: RowOutcome[];
  /** Where the chunk's records end: the job's checkpoint once committed. */
  end: Checkpoint;
  /** Set on the first commit of a CSV job: the header mapping every continuation reuses. */
  header?: { columns: string; delimiter: string };
  /** Set when the job's list of ignored columns changed (see IgnoredColumns). */
  ignoredColumns?: { names: string[]; truncated: boolean };
  /** The last chunk of the file: the job completes with it. */
  last: boolean;
}

export interface ChunkContext {
  jobId: string;
  tenantId: string;
  /** The checkpoint the chunk starts from; the guard of every statement. */
  from: Checkpoint;
  /** Row errors already stored for the job, and how many may be stored at most. */
  storedErrors: number;
  maxStoredErrors: number;
}

/** What a dry run's commit needs besides the chunk (see the top of this file). */
export interface DryRunView {
  /** How the chunk's rows compare with the catalog. */
  comparison: Comparison;
  /** The chunk after this one, compared at the end of this chunk's batch. */
  next: Chunk | null;
  /**
   * What the earlier chunks of this invocation would have written (fingerprint by SKU key). A dry run writes no
   * product, so without it a SKU repeated in a later chunk would be classified against the catalog as if the
   * earlier row had not been there. Filled in here once a chunk's commit applied.
   */
  wouldHaveWritten: Map<string, number>;
}

export interface ChunkResult {
  /** False when the guard failed: another invocation already committed from this checkpoint. */
  applied: boolean;
  rows: number;
  storedErrors: number;
  productsWritten: number;
  rowsWritten: number;
}

const FIELDS = STORED_COLUMNS;
type Stored = StoredFields;

/** The JSON parameter of rows: `[[...fields], …]` (see rowJson). */
function rowsJson(rows: Iterable<ValidRow>): string {
  const parts: string[] = [];
  for (const row of rows) parts.push(rowJson(row));
  return `[${parts.join(",")}]`;
}

/**
 * At most how many bytes the row adds to a chunk's JSON parameters: 3 UTF-8 bytes per UTF-16 unit of its JSON
 * text, an upper bound that needs no pass over the text (a rejected row adds only errors, which are stored in
 * statements of their own). Rows of ~200 characters still fill 2,000-row chunks far below D1's 2 MB.
 */
export function rowParameterBytes(row: RowOutcome): number {
  return row.ok ? 3 * rowJson(row).length + 1 : 0;
}

function sameProduct(a: Stored, b: Stored): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A 53-bit hash of a stored product (cyrb53): a dry run remembers these instead of whole rows. */
function fingerprint(p: Stored): number {
  const text = JSON.stringify(p);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const GUARD = "EXISTS (SELECT 1 FROM import_jobs WHERE id = ?1 AND cursor_byte = ?2 AND status = 'processing')";

/** Column `i` of a row `j` of the JSON parameter: tags as the JSON text of the nested array, the rest as values. */
const fieldOf = (field: (typeof FIELDS)[number], i: number) => (field === "tags" ? `j.value -> ${i}` : `j.value ->> ${i}`);

/** The SKU key: SKUs are printable ASCII, which SQL's lower() folds exactly as the Worker's toLowerCase(). */
const SKU_KEY = "lower(j.value ->> 0)";

// Compares the first row of each SKU in a chunk with the catalog, in SQL, and answers one letter per row:
// n(ew), s(ame) or c(hanged). One short string crosses over instead of every stored column of every row.
const COMPARE_SQL = `SELECT group_concat(CASE
    WHEN p.sku_key IS NULL THEN 'n'
    WHEN (${FIELDS.map((f) => `p.${f}`).join(", ")}) IS (${FIELDS.map(fieldOf).join(", ")}) THEN 's'
    ELSE 'c' END, '' ORDER BY j.key) AS states
  FROM jsonb_each(?2) AS j LEFT JOIN products AS p ON p.tenant_id = ?1 AND p.sku_key = ${SKU_KEY}`;

/**
 * The products upsert, fed by `rows`: a SELECT or VALUES giving (tenant_id, sku_key, ...STORED_COLUMNS, created_at,
 * updated_at). A row equal to the stored product changes nothing (no write, not counted by changes()).
 */
function upsertSql(rows: string): string {
  return `INSERT INTO products (tenant_id, sku_key, ${FIELDS.join(", ")}, created_at, updated_at)
  ${rows}
  ON CONFLICT (tenant_id, sku_key) DO UPDATE SET ${FIELDS.map((f) => `${f} = excluded.${f}`).join(", ")}, updated_at = excluded.updated_at
  WHERE (${FIELDS.map((f) => `products.${f}`).join(", ")}) IS NOT (${FIELDS.map((f) => `excluded.${f}`).join(", ")})`;
}

/** The rows of a chunk as one JSON parameter (?5), `[[...fields], …]` (see rowsJson), guarded. */
const UPSERT_SQL = upsertSql(`SELECT ?3, ${SKU_KEY}, ${FIELDS.map(fieldOf).join(", ")}, ?4, ?4
  FROM jsonb_each(?5) AS j WHERE ${GUARD}`);

const ERRORS_PER_STATEMENT = 500;

const ERRORS_SQL = `INSERT INTO import_errors (job_id, seq, line, "column", code, message, value)
  SELECT ?1, ?3 + j.key, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4
  FROM jsonb_each(?4) AS j WHERE ${GUARD}`;

// The upsert's changes() count its inserts and its real updates together. Inserts are told apart by rowid: SQLite
// gives a new row the largest rowid in the table + 1 (https://www.sqlite.org/autoinc.html; only a table that has
// used rowid 2^63 − 1 picks at random) and an update keeps its rowid, so inside the batch's transaction the inserts
// are max(rowid) after the upsert − max(rowid) before it. This costs two index seeks per chunk, where counting the
// chunk's SKUs missing from the catalog cost one lookup per row.
const TOP_ROWID = "(SELECT coalesce(max(rowid), 0) FROM products)";

// Before the upsert: `created` is lowered by the top rowid and `updated` raised by it; JOB_UPDATE_AFTER_UPSERT adds
// the new top rowid to one and subtracts it from the other, which leaves created + inserts, updated + real updates.
const BEFORE_UPSERT_SQL = `UPDATE import_jobs SET created = created - t.top, updated = updated + t.top
  FROM (SELECT ${TOP_ROWID} AS top) AS t
  WHERE id = ?1 AND cursor_byte = ?2 AND status = 'processing'`;

/**
 * The job's checkpoint and counters. With `countsFromUpsert` it must directly follow the upsert: changes() then
 * means that statement's inserts and real updates, and ?8 is the number of rows it was given.
 */
function jobUpdateSql(countsFromUpsert: boolean): string {
  const created = countsFromUpsert ? ` + ${TOP_ROWID}` : "";
  const updated = countsFromUpsert ? ` + changes() - ${TOP_ROWID}` : "";
  const unchanged = countsFromUpsert ? " - changes()" : "";
  // One statement shape for every chunk; the header, ignored columns and completion apply only when bound.
  return `UPDATE import_jobs SET
    cursor_byte = ?3, cursor_line = ?4,
    processed_rows = processed_rows + ?5,
    created = created + ?6${created}, updated = updated + ?7${updated}, unchanged = unchanged + ?8${unchanged},
    rejected_rows = rejected_rows + ?9, error_count = error_count + ?10,
    heartbeat_at = ?11,
    columns = coalesce(?12, columns), delimiter = coalesce(?13, delimiter),
    ignored_columns = coalesce(?14, ignored_columns), ignored_columns_truncated = coalesce(?16, ignored_columns_truncated),
    status = CASE WHEN ?15 THEN 'completed' ELSE status END,
    total_rows = CASE WHEN ?15 THEN processed_rows + ?5 ELSE total_rows END,
    finished_at = CASE WHEN ?15 THEN ?11 ELSE finished_at END
  WHERE id = ?1 AND cursor_byte = ?2 AND status = 'processing'`;
}

const JOB_UPDATE_SQL = jobUpdateSql(false);
const JOB_UPDATE_AFTER_UPSERT_SQL = jobUpdateSql(true);

/** How the first row of each SKU of a chunk compares with the catalog: n(ew), s(ame) or c(hanged). */
export type Comparison = Map<string, string>;

const firstRowsCache = new WeakMap<Chunk, Map<string, ValidRow>>();

/** The first row of each SKU in the chunk, in file order: what the catalog is compared with. */
function firstRows(chunk: Chunk): Map<string, ValidRow> {
  let rows = firstRowsCache.get(chunk);
  if (!rows) {
    rows = new Map();
    for (const row of chunk.rows) if (row.ok && !rows.has(row.product.skuKey)) rows.set(row.product.skuKey, row);
    firstRowsCache.set(chunk, rows);
  }
  return rows;
}

function compareStatement(db: D1Database, tenantId: string, chunk: Chunk): D1PreparedStatement | null {
  const rows = firstRows(chunk);
  if (rows.size === 0) return null;
  return db.prepare(COMPARE_SQL).bind(tenantId, rowsJson(rows.values()));
}

function toComparison(chunk: Chunk, states: string | null | undefined): Comparison {
  const comparison: Comparison = new Map();
  let i = 0;
  for (const key of firstRows(chunk).keys()) comparison.set(key, states?.[i++] ?? "n");
  return comparison;
}

/** The first chunk's comparison; every later chunk's comes with the batch that commits the chunk before it. */
export async function compareWithCatalog(db: D1Database, tenantId: string, chunk: Chunk): Promise<Comparison> {
  const statement = compareStatement(db, tenantId, chunk);
  return toComparison(chunk, statement ? await statement.first<string>("states") : null);
}

/** Dry runs: classifies each valid row against the catalog (and earlier rows): a later row for the same SKU wins. */
function classify(rows: ValidRow[], { comparison, wouldHaveWritten }: DryRunView) {
  const counts = { created: 0, updated: 0, unchanged: 0 };
  const latest = new Map<string, Stored>();
  /** The stored values each SKU would end with, for the SKUs the chunk would write. */
  const writes = new Map<string, Stored>();
  for (const row of rows) {
    const next = storedFields(row);
    const key = row.product.skuKey;
    const before = latest.get(key);
    const earlier = wouldHaveWritten.get(key);
    let changed: boolean;
    if (before) {
      changed = !sameProduct(before, next);
      if (changed) counts.updated++;
    } else if (earlier !== undefined) {
      // An earlier chunk "wrote" this SKU; the catalog still holds the old one.
      changed = earlier !== fingerprint(next);
      if (changed) counts.updated++;
    } else {
      const state = comparison.get(key);
      changed = state !== "s";
      if (state === "n") counts.created++;
      else if (changed) counts.updated++;
    }
    if (!changed) counts.unchanged++;
    latest.set(key, next);
    if (changed) writes.set(key, next);
  }
  return { counts, writes };
}

/**
 * Commits `chunk` in one batch. A dry run passes the chunk's `comparison` with the catalog and the chunk that
 * follows, `next`, which is compared at the end of the same batch: after this chunk, without a round trip.
 */
export async function commitChunk(
  db: D1Database,
  ctx: ChunkContext,
  chunk: Chunk,
  dryRun: DryRunView | null,
  now = Date.now(),
): Promise<ChunkResult & { nextComparison: Comparison }> {
  const valid: ValidRow[] = [];
  const errors: RowError[] = [];
  for (const row of chunk.rows) {
    if (row.ok) valid.push(row);
    else errors.push(...row.errors);
  }
  const toStore = errors.slice(0, Math.max(0, ctx.maxStoredErrors - ctx.storedErrors));
  const guard = [ctx.jobId, ctx.from.cursorByte] as const;

  const statements: D1PreparedStatement[] = [];
  // An error takes at most ~1.5 KB of JSON (a 200-character value of control characters), so 500 per statement
  // keep each parameter under D1's 2 MB whatever MAX_STORED_ERRORS is set to.
  for (let i = 0; i < toStore.length; i += ERRORS_PER_STATEMENT) {
    const rows = toStore.slice(i, i + ERRORS_PER_STATEMENT).map((e) => [e.line, e.column, e.code, e.message, e.value]);
    statements.push(db.prepare(ERRORS_SQL).bind(...guard, ctx.storedErrors + i, JSON.stringify(rows)));
  }

  const classified = dryRun ? classify(valid, dryRun) : null;
  const upsert = !classified && valid.length > 0;
  if (upsert) {
    statements.push(db.prepare(BEFORE_UPSERT_SQL).bind(...guard));
    statements.push(db.prepare(UPSERT_SQL).bind(...guard, ctx.tenantId, now, rowsJson(valid)));
  }
  const counts = classified?.counts ?? { created: 0, updated: 0, unchanged: valid.length };
  const jobUpdateIndex = statements.length;
  statements.push(
    db
      .prepare(upsert ? JOB_UPDATE_AFTER_UPSERT_SQL : JOB_UPDATE_SQL)
      .bind(
        ...guard,
        chunk.end.cursorByte,
        chunk.end.cursorLine,
        chunk.rows.length,
        counts.created,
        counts.updated,
        counts.unchanged,
        chunk.rows.length - valid.length,
        errors.length,
        now,
        chunk.header?.columns ?? null,
        chunk.header?.delimiter ?? null,
        chunk.ignoredColumns ? JSON.stringify(chunk.ignoredColumns.names) : null,
        chunk.last ? 1 : 0,
        chunk.ignoredColumns ? Number(chunk.ignoredColumns.truncated) : null,
      ),
  );
  const lookAhead = dryRun?.next ? compareStatement(db, ctx.tenantId, dryRun.next) : null;
  if (lookAhead) statements.push(lookAhead);

  const results = await db.batch(statements);
  const applied = results[jobUpdateIndex]?.meta.changes === 1;
  if (applied && dryRun && classified) {
    for (const [key, fields] of classified.writes) dryRun.wouldHaveWritten.set(key, fingerprint(fields));
  }
  const next = dryRun?.next;
  return {
    applied,
    rows: chunk.rows.length,
    storedErrors: ctx.storedErrors + toStore.length,
    productsWritten: upsert ? (results[jobUpdateIndex - 1]?.meta.changes ?? 0) : 0,
    rowsWritten: results.slice(0, jobUpdateIndex + 1).reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0),
    nextComparison: next ? toComparison(next, (results[jobUpdateIndex + 1]?.results[0] as { states?: string } | undefined)?.states) : new Map(),
  };
}
