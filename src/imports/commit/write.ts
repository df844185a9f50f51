// The commit of one chunk: one D1 batch (one round trip, one transaction) with the products upsert, row errors, the
// failed records and the job's checkpoint/counter update. Every statement is guarded by the checkpoint the chunk started from,
// so a redelivered, duplicated or stale invocation applies nothing: exactly-once effect on at-least-once delivery. The
// same guard stops a job whose cancel was requested at a chunk boundary.
//
// An import sends its rows to D1 once and lets SQL say what each row did (see countedUpsert). Dry runs write no
// product and count by comparing instead; they reuse the error and job statements here (see dry-run.ts).
import type { RowError, RowOutcome, ValidRow } from "../sources/rows.ts";
import { absentFieldValues, isFailedRow, KEEP_MASK_INDEX, keepMask, mentionedSku, NESTED_COLUMNS, problemsOf, rowJson, STORED_COLUMNS } from "../sources/rows.ts";
import { changedJob } from "../../db/queries/jobs.ts";
import { naming } from "../../log-error.ts";
import { sqlState } from "../../model/job-states.ts";
import type { ReplacePhase } from "../../model/import-mode.ts";
import type { Checkpoint, SourceStateChange } from "../sources/contract.ts";
import type { JobNote } from "../../model/job-notes.ts";

export interface Chunk extends Omit<SourceStateChange, "notes"> {
  rows: RowOutcome[];
  /** The job's notes, all of them, when one was added (see JobNotes). */
  notes?: JobNote[];
  /** Where the chunk's records end: the job's checkpoint once committed. */
  end: Checkpoint;
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
  /** The import's currency: a new product's when its row has none. */
  currency: string;
  /** The job's write sequence: the products it writes are stamped with it (null for a dry run; see import_jobs.write_seq). */
  seq: number | null;
  /**
   * What becomes of the SKUs the chunk's rows name, imported or not: `stamp` the products with `seq` (a replace-mode
   * import, or one that started while its tenant had an import waiting for confirmation), `record` them (a replace-mode
   * dry run, which writes no product), or nothing.
   */
  mentions: "stamp" | "record" | null;
  /** Replace mode: the last chunk moves the job on to counting what the file did not mention instead of completing it. */
  replace: boolean;
  /** The slice the chunk belongs to: when it started and the checkpoint byte it started from (the job's pace, see slice_rows). */
  slice: { startedAt: number; startByte: number };
}

export interface ChunkResult {
  /** False when the guard failed: another invocation already committed from this checkpoint. */
  applied: boolean;
  rows: number;
  storedErrors: number;
  productsWritten: number;
  rowsWritten: number;
}

export interface RowCounts {
  created: number;
  updated: number;
  unchanged: number;
}

/**
 * A statement whose parameters are named: `text` refers to them through its argument (`${p.jobId}`), which stands
 * for the ordinal placeholder (D1 binds by position only), and `bind` takes them from one named object.
 */
export function statement<const N extends string>(names: readonly N[], text: (p: Record<N, string>) => string) {
  const refs = Object.fromEntries(names.map((name, i) => [name, `?${i + 1}`])) as Record<N, string>;
  const sql = text(refs);
  return {
    sql,
    bind: (db: D1Database, values: Readonly<Record<N, unknown>>) => db.prepare(sql).bind(...names.map((name) => values[name])),
  };
}

/** The parameters of a chunk's statements, named once; each statement binds those it uses. */
interface ChunkParameters {
  jobId: string;
  fromByte: number;
  tenantId: string;
  now: number;
  currency: string;
  seq: number | null;
  rows: string;
  skus: string;
  toByte: number;
  toLine: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  skipped: number;
  errorCount: number;
  warningCount: number;
  encoding: string | null;
  preset: string | null;
  sourceState: string | null;
  ignoredColumns: string | null;
  ignoredColumnsOmitted: number | null;
  ignoredOmittedKeys: string | null;
  notes: string | null;
  headerBytes: number | null;
  failed: number;
  last: number;
  replacing: number;
  sliceStartedAt: number;
  sliceStartByte: number;
}
type P = keyof ChunkParameters;

/**
 * The guard of every statement: the job still stands at the chunk's starting checkpoint, and no cancel was requested
 * (a chunk after the request commits nothing, and the consumer cancels the job at that boundary).
 */
const guard = (p: Record<"jobId" | "fromByte", string>) =>
  `id = ${p.jobId} AND cursor_byte = ${p.fromByte} AND status = ${sqlState("processing")} AND cancel_requested_at IS NULL`;
const GUARD = (p: Record<"jobId" | "fromByte", string>) => `EXISTS (SELECT 1 FROM import_jobs WHERE ${guard(p)})`;

/** Column `i` of row `j` of the JSON parameter: a nested list or object as its JSON text, the rest as values. */
export const fieldOfRow = (column: (typeof STORED_COLUMNS)[number], i: number) => (NESTED_COLUMNS.has(column) ? `j.value -> ${i}` : `j.value ->> ${i}`);

/** The keep mask of row `j` of the JSON parameter (see columnValues in rows.ts). */
export const KEEP_MASK_OF_ROW = `j.value ->> ${KEEP_MASK_INDEX}`;

/** The SKU key: SKUs are printable ASCII, which SQL's lower() folds exactly as the Worker's toLowerCase(). */
export const SKU_KEY_OF_ROW = "lower(j.value ->> 0)";

/** The rows of a chunk as one JSON parameter, `[[...fields], …]` (see rowJson). */
export function rowsJson(rows: Iterable<ValidRow>, currency: string): string {
  const parts: string[] = [];
  for (const row of rows) parts.push(rowJson(row, currency));
  return `[${parts.join(",")}]`;
}

/**
 * At most how many bytes the row adds to a chunk's JSON parameters: 3 UTF-8 bytes per UTF-16 unit of its JSON
 * text, an upper bound that needs no pass over the text (a rejected row adds only errors, which are stored in
 * statements of their own). Rows of ~200 characters still fill 2,000-row chunks far below D1's 2 MB.
 */
export function rowParameterBytes(row: RowOutcome, currency: string): number {
  // A price waiting for its product's currency (see catalog-lookup.ts) grows by the currency it gets.
  return row.ok ? 3 * (rowJson(row, currency).length + (row.product.pendingPrice ? PENDING_PRICE_GROWTH : 0)) + 1 : 0;
}

/** Characters a row's JSON can grow by once its pending price is settled: the currency and up to 4 more digits. */
const PENDING_PRICE_GROWTH = 16;

// ---------------------------------------------------------------------------
// Row errors

const ERRORS_PER_STATEMENT = 500;

const INSERT_ERRORS = statement(
  ["jobId", "fromByte", "firstSeq", "errors"],
  (p) => `INSERT INTO import_errors (job_id, seq, line, "column", code, message, value, severity)
  SELECT ${p.jobId}, ${p.firstSeq} + j.key, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5
  FROM jsonb_each(${p.errors}) AS j WHERE ${GUARD(p)}`,
);

/** How many errors (and warnings) the job has stored once `found` more were offered: as many as it has room for. */
export function storedErrorsAfter(ctx: ChunkContext, found: number): number {
  return Math.min(ctx.storedErrors + found, Math.max(ctx.storedErrors, ctx.maxStoredErrors));
}

/** The statements that store the errors (and warnings) the job still has room for, and how many that is. */
function errorStatements(db: D1Database, ctx: ChunkContext, errors: RowError[]): { statements: D1PreparedStatement[]; stored: number } {
  const toStore = errors.slice(0, storedErrorsAfter(ctx, errors.length) - ctx.storedErrors);
  const statements: D1PreparedStatement[] = [];
  // An error takes at most ~1.5 KB of JSON (a 200-character value of control characters), so 500 per statement
  // keep each parameter under D1's 2 MB whatever MAX_STORED_ERRORS is set to.
  for (let i = 0; i < toStore.length; i += ERRORS_PER_STATEMENT) {
    const rows = toStore.slice(i, i + ERRORS_PER_STATEMENT).map((e) => [e.line, e.column, e.code, e.message, e.value, e.severity]);
    statements.push(INSERT_ERRORS.bind(db, { jobId: ctx.jobId, fromByte: ctx.from.byte, firstSeq: ctx.storedErrors + i, errors: JSON.stringify(rows) }));
  }
  return { statements, stored: toStore.length };
}

// ---------------------------------------------------------------------------
// Failed records: every row not imported that the merchant can fix, with where its record is in the file

/** A failed record's JSON parameter stays below this many characters (D1 takes at most 2 MB per value). */
const FAILED_RECORDS_PARAMETER_CHARS = 500_000;

const INSERT_FAILED_RECORDS = statement(
  ["jobId", "fromByte", "records"],
  (p) => `INSERT INTO import_failed_records (job_id, byte_start, byte_end, line, context_start, context_end, context_line, problems)
  SELECT ${p.jobId}, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value -> 6
  FROM json_each(${p.records}) AS j WHERE ${GUARD(p)}`,
);

/** A failed row as its record is stored: [start, end, line, context start, end, line, [[column, code, message], …]]. */
function failedRecordJson(row: RowOutcome): string | null {
  if (!isFailedRow(row) || !row.span) return null;
  const { span, context } = row;
  const problems = problemsOf(row).map((e) => [e.column, e.code, e.message]);
  return JSON.stringify([span.start, span.end, span.line, context?.start ?? null, context?.end ?? null, context?.line ?? null, problems]);
}

/**
 * The statements that store the chunk's failed records, every one (they are bounded by the chunk's rows, not by
 * MAX_STORED_ERRORS), and how many. A record is a few hundred characters, so they go as JSON arrays of bounded size:
 * one bound parameter each, whatever the count.
 */
function failedRecordStatements(db: D1Database, ctx: ChunkContext, rows: readonly RowOutcome[]): { statements: D1PreparedStatement[]; count: number } {
  const statements: D1PreparedStatement[] = [];
  let count = 0;
  let part: string[] = [];
  let chars = 0;
  const flush = () => {
    if (part.length === 0) return;
    statements.push(INSERT_FAILED_RECORDS.bind(db, { jobId: ctx.jobId, fromByte: ctx.from.byte, records: `[${part.join(",")}]` }));
    part = [];
    chars = 0;
  };
  for (const row of rows) {
    const json = failedRecordJson(row);
    if (json === null) continue;
    if (chars + json.length > FAILED_RECORDS_PARAMETER_CHARS) flush();
    part.push(json);
    chars += json.length + 1;
    count++;
  }
  flush();
  return { statements, count };
}

// ---------------------------------------------------------------------------
// The job's checkpoint and counters

/** Where a replace-mode import goes on after its last row. */
const FIRST_REPLACE_PHASE: ReplacePhase = "counting";

const JOB_UPDATE_PARAMETERS = [
  "jobId", "fromByte", "toByte", "toLine", "processed", "created", "updated", "unchanged", "rejected", "skipped", "errorCount",
  "warningCount", "now",
  "encoding", "preset", "sourceState", "ignoredColumns", "ignoredColumnsOmitted",
  "ignoredOmittedKeys", "notes", "headerBytes", "failed", "last", "replacing", "sliceStartedAt", "sliceStartByte",
] as const satisfies readonly P[];

/**
 * The job's checkpoint and counters; `counted` adds what the upsert it directly follows did (see countedUpsert).
 * The row source's state is stored as it is, beside the checkpoint it resumes from and in the same guarded statement:
 * they commit together or not at all. One statement shape for every chunk: the source state, the facts the job shows
 * (encoding, preset, ignored columns, notes) and completion apply only when bound. In replace mode the last chunk
 * starts the count of what the file did not mention (see imports/jobs/replace.ts) instead of completing the job.
 * The slice's pace rides along: its rows add up while the chunks are the same slice's (SET reads the row as it was), and
 * the time runs from the slice's start to this commit.
 */
function jobUpdate(counted: { created: string; updated: string; unchanged: string } | null, returning = "") {
  return statement(
    JOB_UPDATE_PARAMETERS,
    (p) => `UPDATE import_jobs SET
    cursor_byte = ${p.toByte}, cursor_line = ${p.toLine},
    processed_rows = processed_rows + ${p.processed},
    created = created + ${p.created}${counted?.created ?? ""},
    updated = updated + ${p.updated}${counted?.updated ?? ""},
    unchanged = unchanged + ${p.unchanged}${counted?.unchanged ?? ""},
    rejected_rows = rejected_rows + ${p.rejected}, skipped_rows = skipped_rows + ${p.skipped},
    error_count = error_count + ${p.errorCount}, warning_count = warning_count + ${p.warningCount},
    heartbeat_at = ${p.now},
    slice_rows = CASE WHEN slice_started_at IS ${p.sliceStartedAt} THEN slice_rows + ${p.processed} ELSE ${p.processed} END,
    slice_started_at = ${p.sliceStartedAt}, slice_start_byte = ${p.sliceStartByte}, slice_ms = ${p.now} - ${p.sliceStartedAt},
    source_state = coalesce(${p.sourceState}, source_state),
    encoding = coalesce(${p.encoding}, encoding), preset = coalesce(${p.preset}, preset),
    ignored_columns = coalesce(${p.ignoredColumns}, ignored_columns),
    ignored_columns_omitted = coalesce(${p.ignoredColumnsOmitted}, ignored_columns_omitted),
    ignored_omitted_keys = coalesce(${p.ignoredOmittedKeys}, ignored_omitted_keys),
    notes = coalesce(${p.notes}, notes),
    header_bytes = coalesce(${p.headerBytes}, header_bytes), failed_records = failed_records + ${p.failed},
    status = CASE WHEN ${p.last} AND NOT ${p.replacing} THEN ${sqlState("completed")} ELSE status END,
    replace_phase = CASE WHEN ${p.last} AND ${p.replacing} THEN '${FIRST_REPLACE_PHASE}' ELSE replace_phase END,
    would_archive = CASE WHEN ${p.last} AND ${p.replacing} THEN 0 ELSE would_archive END,
    total_rows = CASE WHEN ${p.last} THEN processed_rows + ${p.processed} ELSE total_rows END,
    finished_at = CASE WHEN ${p.last} AND NOT ${p.replacing} THEN ${p.now} ELSE finished_at END
  WHERE ${guard(p)}${returning}`,
  );
}

const JOB_UPDATE = jobUpdate(null);

// ---------------------------------------------------------------------------
// Mentions: the SKUs a chunk's rows name, imported or not
//
// A replace-mode import archives the products its file did not mention. The products its rows write are stamped by the
// upsert; those they name without writing (an unchanged row, a rejected row that names its SKU) are stamped here, before
// the upsert. Only a product not stamped yet is written, and no index holds seen_seq, so a stamp is one row write found
// through the primary key.

const STAMP_MENTIONS = statement(
  ["jobId", "fromByte", "tenantId", "seq", "skus"],
  (p) => `UPDATE products SET seen_seq = ${p.seq}
  WHERE tenant_id = ${p.tenantId} AND sku_key IN (SELECT value FROM json_each(${p.skus})) AND seen_seq IS NOT ${p.seq} AND ${GUARD(p)}`,
);

/** For the query-plan test: the stamp must find each product through the primary key. */
export const stampMentionsSql = STAMP_MENTIONS.sql;

/** A dry run writes no product: it records the SKUs instead, which the count after its last row reads. */
const RECORD_MENTIONS = statement(
  ["jobId", "fromByte", "skus"],
  (p) => `INSERT OR IGNORE INTO import_mentions (job_id, sku_key) SELECT ${p.jobId}, value FROM json_each(${p.skus}) WHERE ${GUARD(p)}`,
);

/** The statement that stamps or records the SKUs the chunk's rows name (see ChunkContext.mentions), if any. */
function mentionStatements(db: D1Database, ctx: ChunkContext, rows: readonly RowOutcome[], params: ChunkParameters): D1PreparedStatement[] {
  if (ctx.mentions === null || (ctx.mentions === "stamp" && ctx.seq === null)) return [];
  const named = new Set<string>();
  for (const row of rows) {
    const skuKey = mentionedSku(row);
    if (skuKey !== undefined) named.add(skuKey);
  }
  if (named.size === 0) return [];
  const bound = { ...params, skus: JSON.stringify([...named]) };
  return [ctx.mentions === "stamp" ? STAMP_MENTIONS.bind(db, bound) : RECORD_MENTIONS.bind(db, bound)];
}

// ---------------------------------------------------------------------------
// The counted upsert
//
// The batch upserts every valid row in file order (a row equal to what is stored, or to the chunk's earlier row for
// its SKU, changes nothing), so a later row for the same SKU wins and each row counts as what it did: an insert is
// created, a real update is updated, the rest are unchanged.
//
// The upsert's changes() count its inserts and its real updates together. Inserts are told apart by rowid: SQLite
// gives a new row the largest rowid in the table + 1 (https://www.sqlite.org/autoinc.html; only a table that has
// used rowid 2^63 − 1 picks at random) and an update keeps its rowid, so inside the batch's transaction the inserts
// are max(rowid) after the upsert − max(rowid) before it. Before the upsert, `created` is lowered by the top rowid
// and `updated` raised by it; the job update right after the upsert adds the new top rowid to one and subtracts it
// from the other, leaving created + inserts and updated + real updates. This costs two index seeks per chunk,
// where counting the chunk's SKUs missing from the catalog cost one lookup per row.

const TOP_ROWID = "(SELECT coalesce(max(rowid), 0) FROM products)";

const BEFORE_UPSERT = statement(
  ["jobId", "fromByte"],
  (p) => `UPDATE import_jobs SET created = created - t.top, updated = updated + t.top
  FROM (SELECT ${TOP_ROWID} AS top) AS t WHERE ${guard(p)}`,
);

/**
 * The upsert of a chunk's rows. A row leaves alone the columns its keep mask names; a row that changes nothing of the
 * stored product writes nothing (and is not counted by changes()). A product written is stamped with the job's write
 * sequence (seen_seq), which a replace-mode import waiting for confirmation reads as "written by a later import".
 *
 * `mask`: the keep mask every row of the chunk has, or null when they differ. A chunk whose rows give the same columns
 * (a CSV file's chunks, as a rule) reads from its rows only the columns they give: reading a value out of a row's
 * JSON costs more than anything else per column, and a feed gives few. The columns no row gives are inserted as what
 * columnValues sends for them. Rows of differing masks are read whole, and each row's mask arrives as
 * `excluded.keep_mask`.
 */
function upsert(mask: number | null) {
  return statement(["jobId", "fromByte", "tenantId", "now", "currency", "seq", "rows"], (p) => {
    const given = (i: number) => mask === null || i === 0 || (mask & (1 << i)) === 0;
    const value = (c: Column, i: number) => (given(i) ? fieldOfRow(c, i) : i === CURRENCY ? p.currency : sqlLiteral(ABSENT_VALUES[i] ?? null));
    const kept = (c: Column, i: number) =>
      mask !== null || i === 0 ? `excluded.${c}` : `CASE WHEN excluded.keep_mask & ${1 << i} THEN products.${c} ELSE excluded.${c} END`;
    const updated = STORED_COLUMNS.map((c, i) => [c, i] as const).filter(([, i]) => given(i));
    return `INSERT INTO products (tenant_id, sku_key, ${STORED_COLUMNS.join(", ")}, keep_mask, seen_seq, created_at, updated_at)
  SELECT ${p.tenantId}, ${SKU_KEY_OF_ROW}, ${STORED_COLUMNS.map(value).join(", ")}, ${mask ?? KEEP_MASK_OF_ROW}, ${p.seq}, ${p.now}, ${p.now}
  FROM jsonb_each(${p.rows}) AS j WHERE ${GUARD(p)}
  ON CONFLICT (tenant_id, sku_key) DO UPDATE SET ${updated.map(([c, i]) => `${c} = ${kept(c, i)}`).join(", ")}, seen_seq = excluded.seen_seq,
    version = products.version + 1, updated_at = excluded.updated_at
  WHERE (${updated.map(([c]) => `products.${c}`).join(", ")}) IS NOT (${updated.map(([c, i]) => kept(c, i)).join(", ")})`;
  });
}

type Column = (typeof STORED_COLUMNS)[number];
const CURRENCY = STORED_COLUMNS.indexOf("currency");
/** What a row sends for the columns it does not give; the currency is the import's (a parameter). */
const ABSENT_VALUES: readonly (string | number | null)[] = absentFieldValues("");

/** A value as an SQL literal: a number, NULL, or a string in single quotes. */
function sqlLiteral(value: string | number | null): string {
  return typeof value === "string" ? `'${value.replaceAll("'", "''")}'` : String(value);
}

const UPSERT_MIXED = upsert(null);

/**
 * Must directly follow the upsert: changes() then means its inserts and real updates. It returns that count too: D1's
 * meta.changes of the upsert also counts the rows its triggers wrote (the import's revisions, see import_revisions).
 */
const JOB_UPDATE_AFTER_UPSERT = jobUpdate(
  { created: ` + ${TOP_ROWID}`, updated: ` + changes() - ${TOP_ROWID}`, unchanged: " - changes()" },
  " RETURNING changes() AS written",
);

/** Statements that end with the job update, and what their results say. */
interface JobWrite {
  statements: D1PreparedStatement[];
  read(results: D1Result[]): { applied: boolean; productsWritten: number };
}

/** The counted upsert of a chunk's valid rows, ending with the job update that counts what it did. */
function countedUpsert(db: D1Database, params: ChunkParameters, mask: number | null): JobWrite {
  const upserted = mask === null ? UPSERT_MIXED : upsert(mask);
  return {
    statements: [BEFORE_UPSERT.bind(db, params), upserted.bind(db, params), JOB_UPDATE_AFTER_UPSERT.bind(db, params)],
    read: ([, , job]) => ({ applied: changedJob(job), productsWritten: (job?.results[0] as { written: number } | undefined)?.written ?? 0 }),
  };
}

/** The job update alone, with the counts bound. */
function plainJobUpdate(db: D1Database, params: ChunkParameters): JobWrite {
  return {
    statements: [JOB_UPDATE.bind(db, params)],
    read: ([job]) => ({ applied: changedJob(job), productsWritten: 0 }),
  };
}

// ---------------------------------------------------------------------------

/** Commits an import's chunk in one batch: its errors, its valid rows through the counted upsert, the job update. */
export function commitChunk(db: D1Database, ctx: ChunkContext, chunk: Chunk, now = Date.now()): Promise<ChunkResult> {
  return commit(db, ctx, chunk, null, now);
}

/**
 * Commits a chunk whose rows were counted elsewhere and are not written (a dry run, see dry-run.ts): its errors
 * and the job update with `counts`, in one batch.
 */
export function commitCounts(db: D1Database, ctx: ChunkContext, chunk: Chunk, counts: RowCounts, now = Date.now()): Promise<ChunkResult> {
  return commit(db, ctx, chunk, counts, now);
}

/** The keep mask every row has, or null when they differ. */
function sharedKeepMask(rows: ValidRow[]): number | null {
  const mask = keepMask((rows[0] as ValidRow).product);
  for (const row of rows) if (keepMask(row.product) !== mask) return null;
  return mask;
}

async function commit(db: D1Database, ctx: ChunkContext, chunk: Chunk, counts: RowCounts | null, now: number): Promise<ChunkResult> {
  const valid: ValidRow[] = [];
  // Errors and warnings in file order: one list, one numbering.
  const problems: RowError[] = [];
  let skipped = 0;
  let warnings = 0;
  for (const row of chunk.rows) {
    if (row.ok) valid.push(row);
    else if (row.skipped) skipped++;
    const found = problemsOf(row);
    if (row.ok || row.skipped) warnings += found.length;
    problems.push(...found);
  }
  const stored = errorStatements(db, ctx, problems);
  const failed = failedRecordStatements(db, ctx, chunk.rows);
  const upsert = !counts && valid.length > 0;
  const params: ChunkParameters = {
    jobId: ctx.jobId,
    fromByte: ctx.from.byte,
    tenantId: ctx.tenantId,
    now,
    currency: ctx.currency,
    seq: ctx.seq,
    rows: upsert ? rowsJson(valid, ctx.currency) : "[]",
    skus: "[]",
    toByte: chunk.end.byte,
    toLine: chunk.end.line,
    processed: chunk.rows.length,
    // An import's valid rows start as unchanged; the job update after the upsert moves its inserts and updates.
    ...(counts ?? { created: 0, updated: 0, unchanged: valid.length }),
    rejected: chunk.rows.length - valid.length - skipped,
    skipped,
    errorCount: problems.length - warnings,
    warningCount: warnings,
    sourceState: chunk.sourceState ?? null,
    encoding: chunk.encoding ?? null,
    preset: chunk.preset ?? null,
    ignoredColumns: chunk.ignoredColumns ? JSON.stringify(chunk.ignoredColumns.names) : null,
    ignoredColumnsOmitted: chunk.ignoredColumns?.omittedKeys.length ?? null,
    ignoredOmittedKeys: chunk.ignoredColumns ? JSON.stringify(chunk.ignoredColumns.omittedKeys) : null,
    notes: chunk.notes ? JSON.stringify(chunk.notes) : null,
    headerBytes: chunk.headerBytes ?? null,
    failed: failed.count,
    last: chunk.last ? 1 : 0,
    replacing: ctx.replace ? 1 : 0,
    sliceStartedAt: ctx.slice.startedAt,
    sliceStartByte: ctx.slice.startByte,
  };
  const mentions = mentionStatements(db, ctx, chunk.rows, params);
  const write = upsert ? countedUpsert(db, params, sharedKeepMask(valid)) : plainJobUpdate(db, params);
  const before = [...stored.statements, ...failed.statements, ...mentions];
  const results = await naming("import chunk commit", db.batch([...before, ...write.statements]));
  const { applied, productsWritten } = write.read(results.slice(before.length));
  return {
    applied,
    rows: chunk.rows.length,
    storedErrors: ctx.storedErrors + stored.stored,
    productsWritten,
    rowsWritten: results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0),
  };
}
