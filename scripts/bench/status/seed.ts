// Seeded local D1 state for one size of the status benchmark.
//
// Three persistence directories (`wrangler dev --persist-to`), so that the three workers of a size can run at
// the same time and their measurements be interleaved, none of them sharing a SQLite file with another process:
//   <state>/real        the real worker (repo-root wrangler.toml)
//   <state>/real-quiet  the real worker again, run with `--log-level warn`
//   <state>/bench       the bench worker (scripts/bench/status/wrangler.toml): DB and DB_NOCOV
// 1. `wrangler d1 migrations apply` creates each local D1 database (<dir>/v3/d1/miniflare-D1DatabaseObject/
//    <hash>.sqlite; DB has the real worker's database_id in both configs, hence the same file name).
// 2. With no wrangler running, real's DB file is filled directly: one tenant with `jobs` jobs, other tenants'
//    jobs as noise interleaved with them (noiseRatio × jobs in all), API keys (the bench tenant's from
//    generateKey(), scope imports:read). Deterministic (seeded PRNG), one transaction, checkpointed.
// 3. The other DB files become byte copies of it; DB_NOCOV's copy then loses the covering index
//    (`DROP INDEX import_jobs_tenant_summary`): identical data and page layout, only that index missing.
// A state directory is reused when its seed.json says it holds the same seed of the same migrations.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DatabaseSync as DatabaseSyncType, StatementSync } from "node:sqlite";
import { generateKey } from "../../../src/auth/keys.ts";
import { repoRoot, wranglerSync } from "../lib/wrangler-dev.ts";

export const benchConfig = path.join(repoRoot, "scripts", "bench", "status", "wrangler.toml");
const SEED_VERSION = 4;
const STATUSES = ["pending", "queued", "processing", "completed", "failed"] as const;
type Status = (typeof STATUSES)[number];

export interface SeedSpec {
  jobs: number;
  noiseRatio: number;
  noiseTenants: number;
}

export interface ExpectedStatus {
  total: number;
  pending: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  errors: number;
  avg_duration_ms: number | null;
  /** Ids of the newest 5 jobs (created_at DESC, id DESC). */
  last_ids: string[];
}

export interface SeedInfo {
  version: number;
  spec: SeedSpec;
  migrations: string;
  tenantId: string;
  key: string;
  keyHash: string;
  noiseJobs: number;
  expected: ExpectedStatus;
  /** Persistence directories and the DB files in them. */
  dirs: { real: string; realQuiet: string; bench: string };
  dbFile: string;
  copies: string[];
  nocovFile: string;
  dbBytes: number;
  seedSeconds: number;
  createdAt: string;
}

// node:sqlite prints an ExperimentalWarning on first use in Node 22; keep the benchmark's output clean.
async function loadNodeSqlite(): Promise<typeof import("node:sqlite")> {
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    (original as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await import("node:sqlite");
  } finally {
    process.emitWarning = original;
  }
}

function migrationsHash(): string {
  const dir = path.join(repoRoot, "migrations");
  const h = createHash("sha256");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".sql")).sort()) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest("hex").slice(0, 16);
}

const d1Dir = (state: string) => path.join(state, "v3", "d1", "miniflare-D1DatabaseObject");
const dbFiles = (state: string) =>
  existsSync(d1Dir(state)) ? readdirSync(d1Dir(state)).filter((n) => /^[0-9a-f]{64}\.sqlite$/.test(n)).map((n) => path.join(d1Dir(state), n)) : [];

function removeSqlite(file: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${file}${suffix}`, { force: true });
}

/** splitmix32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Ids shaped like newId() (prefix + 22 base62), but from the seeded PRNG. */
function idMaker(rand: () => number) {
  return (prefix: string) => {
    let s = `${prefix}_`;
    for (let i = 0; i < 22; i++) s += BASE62[Math.floor(rand() * 62)];
    return s;
  };
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface JobShape {
  status: Status;
  errorCount: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Builds one import_jobs row (all columns, realistic values) and returns the fields the expectations need. */
function jobRow(rand: () => number, id: string, tenantId: string, createdAt: number, now: number): { values: (string | number | null)[]; shape: JobShape } {
  const r = rand();
  // Mostly finished jobs; every state present.
  const status: Status = r < 0.8 ? "completed" : r < 0.9 ? "failed" : r < 0.94 ? "processing" : r < 0.97 ? "queued" : "pending";
  const csv = rand() < 0.75;
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo))));
  const sizeBytes = logUniform(2_000, 150_000_000);
  const fileRows = Math.max(1, Math.round(sizeBytes / 155));
  const queuedAt = status === "pending" ? null : createdAt + between(50, 800);
  const started = status === "processing" || status === "completed" || (status === "failed" && rand() < 0.8);
  const startedAt = started && queuedAt !== null ? queuedAt + between(100, 5_000) : null;
  const finishedAt =
    status === "completed" || status === "failed" ? (startedAt ?? (queuedAt ?? createdAt) + between(100, 2_000)) + logUniform(300, 15 * MINUTE) : null;
  let errorCount = 0;
  if (status === "completed") {
    const e = rand();
    errorCount = e < 0.7 ? 0 : e < 0.95 ? between(1, 50) : between(100, 5_000);
  } else if (status === "failed") {
    errorCount = rand() < 0.5 ? 0 : between(1, 1_000);
  } else if (status === "processing") {
    errorCount = between(0, 20);
  }
  const processed = status === "completed" ? fileRows : status === "processing" || (status === "failed" && started) ? Math.floor(fileRows * rand()) : 0;
  const rejected = Math.min(processed, Math.ceil(errorCount * 0.8));
  const good = processed - rejected;
  const created = Math.floor(good * rand());
  const updated = Math.floor((good - created) * rand());
  const unchanged = good - created - updated;
  const delimiter = csv && started ? (rand() < 0.9 ? "," : ";") : null;
  const columns = started ? '{"sku":0,"name":1,"price":2,"currency":3,"stock":4,"status":5,"brand":6,"category":7}' : null;
  const heartbeatAt = finishedAt ?? startedAt ?? queuedAt ?? createdAt;
  const objectDeletedAt = finishedAt !== null && finishedAt + 7 * DAY < now ? finishedAt + 7 * DAY + between(0, 5 * MINUTE) : null;
  const values = [
    id,
    tenantId,
    status,
    csv ? "csv" : "ndjson",
    rand() < 0.1 ? null : `${csv ? "catalog" : "feed"}-${between(1, 9999)}.${csv ? "csv" : "ndjson"}`,
    `${tenantId}/${id}`,
    sizeBytes,
    rand() < 0.03 ? 1 : 0,
    rand() < 0.8 ? '{"currency":"USD","delimiter":null}' : '{"currency":"EUR","delimiter":";"}',
    columns,
    delimiter,
    status === "completed" ? sizeBytes : Math.floor((sizeBytes * processed) / fileRows),
    processed + 1,
    status === "completed" ? fileRows : null,
    processed,
    created,
    updated,
    unchanged,
    rejected,
    errorCount,
    rand() < 0.1 ? '["internal_note"]' : "[]",
    status === "failed" ? (started ? "The file ended inside a quoted field (line 1822)." : "The header has no sku column.") : null,
    status === "failed" && rand() < 0.3 ? between(1, 5) : 0,
    createdAt,
    queuedAt,
    startedAt,
    finishedAt,
    heartbeatAt,
    objectDeletedAt,
  ];
  return { values, shape: { status, errorCount, startedAt, finishedAt } };
}

const INSERT_JOB = `INSERT INTO import_jobs (id, tenant_id, status, format, file_name, object_key, size_bytes, dry_run, options, columns,
  delimiter, cursor_byte, cursor_line, total_rows, processed_rows, created, updated, unchanged, rejected_rows, error_count, ignored_columns,
  failure_reason, failed_attempts, created_at, queued_at, started_at, finished_at, heartbeat_at, object_deleted_at)
  VALUES (${Array.from({ length: 29 }, () => "?").join(", ")})`;

function fill(db: DatabaseSyncType, spec: SeedSpec, key: { id: string; prefix: string; hash: string }): { tenantId: string; noiseJobs: number; expected: ExpectedStatus } {
  const rand = prng(0x5eed0000 + spec.jobs);
  const newId = idMaker(rand);
  const now = Date.now();
  const tenantId = newId("ten");
  const noiseTenants = Array.from({ length: spec.noiseTenants }, () => newId("ten"));
  const insertTenant = db.prepare("INSERT INTO tenants (id, slug, created_at) VALUES (?, ?, ?)");
  const insertKey = db.prepare(
    "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertJob: StatementSync = db.prepare(INSERT_JOB);
  const span = 29 * DAY;
  const start = now - span - MINUTE;
  insertTenant.run(tenantId, "status-bench", start - DAY);
  insertKey.run(key.id, tenantId, "bench:status", key.prefix, key.hash, "imports:read", start - DAY, null);
  noiseTenants.forEach((t, i) => {
    insertTenant.run(t, `noise-${String(i + 1).padStart(2, "0")}`, start - DAY);
    // A key per noise tenant (hash of nothing real), and a revoked one, so api_keys is not a one-row table.
    const hash = createHash("sha256").update(`noise-key-${spec.jobs}-${i}`).digest("hex");
    insertKey.run(newId("key"), t, "ci", `pik_n${String(i).padStart(7, "0")}`, hash, "imports:read imports:write products:read", start - DAY, null);
    const revoked = createHash("sha256").update(`revoked-key-${spec.jobs}-${i}`).digest("hex");
    insertKey.run(newId("key"), t, "old", `pik_r${String(i).padStart(7, "0")}`, revoked, "imports:read", start - DAY, start);
  });

  const counts: Record<Status, number> = { pending: 0, queued: 0, processing: 0, completed: 0, failed: 0 };
  let errors = 0;
  let durationSum = 0;
  let durationCount = 0;
  const newest: { id: string; createdAt: number }[] = [];
  let noiseJobs = 0;
  let createdAt = start;
  for (let i = 0; i < spec.jobs; i++) {
    // created_at increases over ~29 days; about 3% of jobs share the previous job's millisecond (ties by id).
    const next = start + Math.floor(((i + 1) * span) / spec.jobs);
    createdAt = i > 0 && rand() < 0.03 ? createdAt : Math.max(createdAt + 1, next - Math.floor(rand() * Math.min(1000, span / spec.jobs / 2)));
    const id = newId("imp");
    const { values, shape } = jobRow(rand, id, tenantId, createdAt, now);
    insertJob.run(...values);
    counts[shape.status]++;
    errors += shape.errorCount;
    if (shape.status === "completed" && shape.startedAt !== null && shape.finishedAt !== null) {
      durationSum += shape.finishedAt - shape.startedAt;
      durationCount++;
    }
    if (i >= spec.jobs - 50) newest.push({ id, createdAt });
    // Noise: other tenants' jobs interleaved (same time line), noiseRatio per job of the bench tenant.
    const owed = Math.floor((i + 1) * spec.noiseRatio) - Math.floor(i * spec.noiseRatio);
    for (let n = 0; n < owed; n++) {
      const other = noiseTenants[Math.floor(rand() * noiseTenants.length)] ?? tenantId;
      insertJob.run(...jobRow(rand, newId("imp"), other, createdAt + Math.floor(rand() * 1000), now).values);
      noiseJobs++;
    }
  }
  newest.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return {
    tenantId,
    noiseJobs,
    expected: {
      total: spec.jobs,
      ...counts,
      errors,
      avg_duration_ms: durationCount > 0 ? Math.round(durationSum / durationCount) : null,
      last_ids: newest.slice(0, 5).map((n) => n.id),
    },
  };
}

/** Seeds (or reuses) the state directory for one size; no wrangler may be running on it. */
export async function prepareState(state: string, spec: SeedSpec, options: { fresh: boolean; log: (s: string) => void }): Promise<SeedInfo & { reused: boolean }> {
  const metaFile = path.join(state, "seed.json");
  const migrations = migrationsHash();
  if (!options.fresh && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as SeedInfo;
    const same =
      meta.version === SEED_VERSION &&
      meta.migrations === migrations &&
      JSON.stringify(meta.spec) === JSON.stringify(spec) &&
      [meta.dbFile, meta.nocovFile, ...meta.copies].every((f) => existsSync(f));
    if (same) {
      options.log(`  reusing seeded state ${path.relative(repoRoot, state)} (seeded ${meta.createdAt}; --fresh to reseed)`);
      return { ...meta, reused: true };
    }
  }
  const t0 = performance.now();
  rmSync(state, { recursive: true, force: true });
  const dirs = { real: path.join(state, "real"), realQuiet: path.join(state, "real-quiet"), bench: path.join(state, "bench") };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  // The D1 files: the one file that appears after each apply is that binding's.
  const migrate = (binding: string, dir: string): string => {
    const before = new Set(dbFiles(dir));
    wranglerSync(["d1", "migrations", "apply", binding, "--local", "--persist-to", dir, "-c", benchConfig]);
    const created = dbFiles(dir).filter((f) => !before.has(f));
    if (created.length !== 1 || !created[0]) throw new Error(`expected one new D1 file after migrating ${binding} in ${dir}, found: ${created.join(", ") || "none"}`);
    return created[0];
  };
  const dbFile = migrate("DB", dirs.real);
  const copies = [migrate("DB", dirs.realQuiet), migrate("DB", dirs.bench)];
  const nocovFile = migrate("DB_NOCOV", dirs.bench);
  if (copies.some((f) => path.basename(f) !== path.basename(dbFile))) throw new Error("DB has different file names in the persistence directories");

  const { DatabaseSync } = await loadNodeSqlite();
  const key = await generateKey();
  const db = new DatabaseSync(dbFile);
  let filled: ReturnType<typeof fill>;
  try {
    db.exec("PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;");
    db.exec("BEGIN");
    try {
      filled = fill(db, spec, key);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  if (existsSync(`${dbFile}-wal`) && statSync(`${dbFile}-wal`).size > 0) throw new Error(`${dbFile}-wal is not empty after the checkpoint`);
  for (const target of [...copies, nocovFile]) {
    removeSqlite(target);
    copyFileSync(dbFile, target);
  }
  const nocov = new DatabaseSync(nocovFile);
  try {
    nocov.exec("DROP INDEX import_jobs_tenant_summary; PRAGMA wal_checkpoint(TRUNCATE);");
  } finally {
    nocov.close();
  }
  const info: SeedInfo = {
    version: SEED_VERSION,
    spec,
    migrations,
    tenantId: filled.tenantId,
    key: key.key,
    keyHash: key.hash,
    noiseJobs: filled.noiseJobs,
    expected: filled.expected,
    dirs,
    dbFile,
    copies,
    nocovFile,
    dbBytes: statSync(dbFile).size,
    seedSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  // The plain key of a throw-away local database: kept so that the state can be reused (the directory is git-ignored).
  writeFileSync(metaFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  return { ...info, reused: false };
}
