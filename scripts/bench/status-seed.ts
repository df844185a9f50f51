// The status benchmark's local D1 state for one size, in two --persist-to directories so that its two workers can run
// side by side without sharing a SQLite file: real/ (the real worker) and bench/ (the bench Worker). Migrations come
// from `wrangler d1 migrations apply`; then, with no wrangler running, one DB file is filled directly (deterministic,
// one transaction, the status counters kept by the migrations' triggers as in production) and the other becomes a
// byte copy of it, so data and page layout are identical.
// A state is reused while its seed.json names the same seed of the same migrations.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { generateKey } from "../../src/auth/keys.ts";
import { repoRoot, workerConfig, wrangler } from "./lib.ts";

const SEED_VERSION = 7;
/**
 * Keys of the measured tenant, taken in turn by the route's requests: one key would run into its `reads` budget (the
 * Rate Limiting binding works in wrangler dev too), and the route is measured, not the limiter's refusals.
 */
const BENCH_KEYS = 256;
export const NOISE_RATIO = 0.2; // other tenants' jobs per job of the measured tenant
const NOISE_TENANTS = 20;
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

/** splitmix32. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** One import_jobs row with every column realistic: mostly finished jobs, every state present. */
function jobRow(rand: () => number, id: string, tenantId: string, createdAt: number, now: number) {
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo))));
  const r = rand();
  const status = r < 0.8 ? "completed" : r < 0.9 ? "failed" : r < 0.94 ? "processing" : r < 0.97 ? "queued" : "pending";
  const csv = rand() < 0.75;
  const sizeBytes = logUniform(2_000, 150_000_000);
  const fileRows = Math.max(1, Math.round(sizeBytes / 155));
  const queuedAt = status === "pending" ? null : createdAt + between(50, 800);
  const started = status === "processing" || status === "completed" || (status === "failed" && rand() < 0.8);
  const startedAt = started && queuedAt !== null ? queuedAt + between(100, 5_000) : null;
  const finished = status === "completed" || status === "failed";
  const finishedAt = finished ? (startedAt ?? (queuedAt ?? createdAt) + between(100, 2_000)) + logUniform(300, 15 * MINUTE) : null;
  const e = rand();
  const errorCount =
    status === "completed" ? (e < 0.7 ? 0 : e < 0.95 ? between(1, 50) : between(100, 5_000)) : status === "failed" ? (e < 0.5 ? 0 : between(1, 1_000)) : status === "processing" ? between(0, 20) : 0;
  const processed = status === "completed" ? fileRows : status === "processing" || (status === "failed" && started) ? Math.floor(fileRows * rand()) : 0;
  const rejected = Math.min(processed, Math.ceil(errorCount * 0.8));
  const created = Math.floor((processed - rejected) * rand());
  const updated = Math.floor((processed - rejected - created) * rand());
  const deletedAt = finishedAt !== null && finishedAt + 7 * DAY < now ? finishedAt + 7 * DAY + between(0, 5 * MINUTE) : null;
  return {
    status,
    errorCount,
    processed,
    duration: status === "completed" && startedAt !== null ? finishedAt! - startedAt : null,
    values: [
      id, tenantId, status, csv ? "csv" : "ndjson", rand() < 0.1 ? null : `${csv ? "catalog" : "feed"}-${between(1, 9999)}.${csv ? "csv" : "ndjson"}`, `${tenantId}/${id}`,
      sizeBytes, rand() < 0.03 ? 1 : 0, rand() < 0.8 ? '{"currency":"USD","delimiter":null}' : '{"currency":"EUR","delimiter":";"}',
      // A started CSV job's source state (see csv-source.ts); an NDJSON source keeps none.
      csv && started ? JSON.stringify({ columns: ["sku", "name", "price", "currency", "stock", "status", "brand", "category"], delimiter: rand() < 0.9 ? "," : ";", preset: null, carried: null }) : null,
      status === "completed" ? sizeBytes : Math.floor((sizeBytes * processed) / fileRows), processed + 1,
      status === "completed" ? fileRows : null, processed, created, updated, processed - rejected - created - updated, rejected, errorCount,
      rand() < 0.1 ? '["internal_note"]' : "[]", status === "failed" ? (started ? "The file ended inside a quoted field (line 1822)." : "The header has no sku column.") : null,
      status === "failed" && rand() < 0.3 ? between(1, 5) : 0, createdAt, queuedAt, startedAt, finishedAt, finishedAt ?? startedAt ?? queuedAt ?? createdAt, deletedAt,
    ],
  };
}

const INSERT_JOB = `INSERT INTO import_jobs (id, tenant_id, status, format, file_name, object_key, size_bytes, dry_run, options, source_state,
  cursor_byte, cursor_line, total_rows, processed_rows, created, updated, unchanged, rejected_rows, error_count, ignored_columns,
  failure_reason, failed_attempts, created_at, queued_at, started_at, finished_at, heartbeat_at, object_deleted_at) VALUES (${Array(28).fill("?").join(", ")})`;

function fill(db: DatabaseSync, jobs: number, keys: { id: string; prefix: string; hash: string }[]) {
  const rand = prng(0x5eed0000 + jobs);
  // Ids shaped like newId() (prefix + 22 base62) but from the seeded PRNG.
  const newId = (prefix: string) => `${prefix}_${Array.from({ length: 22 }, () => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[Math.floor(rand() * 62)]).join("")}`;
  const now = Date.now();
  const span = 29 * DAY;
  const start = now - span - MINUTE;
  const tenantId = newId("ten");
  const insertTenant = db.prepare("INSERT INTO tenants (id, slug, created_at) VALUES (?, ?, ?)");
  const insertKey = db.prepare("INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const insertJob = db.prepare(INSERT_JOB);
  insertTenant.run(tenantId, "status-bench", start - DAY);
  for (const key of keys) insertKey.run(key.id, tenantId, "bench:status", key.prefix, key.hash, "imports:read", start - DAY, null);
  // Other tenants, each with a key and a revoked one, so that api_keys is not a one-row table.
  const others = Array.from({ length: NOISE_TENANTS }, (_, i) => {
    const t = newId("ten");
    insertTenant.run(t, `noise-${i + 1}`, start - DAY);
    const hash = (s: string) => createHash("sha256").update(`${s}-${jobs}-${i}`).digest("hex");
    insertKey.run(newId("key"), t, "ci", `pik_n${String(i).padStart(7, "0")}`, hash("noise"), "imports:read imports:write products:read", start - DAY, null);
    insertKey.run(newId("key"), t, "old", `pik_r${String(i).padStart(7, "0")}`, hash("revoked"), "imports:read", start - DAY, start);
    return t;
  });
  const counts: Record<string, number> = { pending: 0, queued: 0, processing: 0, completed: 0, failed: 0 };
  let [errors, durationSum, durationCount, processedRows, noiseJobs, createdAt] = [0, 0, 0, 0, 0, start];
  const newest: { id: string; createdAt: number }[] = [];
  for (let i = 0; i < jobs; i++) {
    // created_at increases over 29 days; about 3% of jobs share the previous job's millisecond (ties by id).
    const next = start + Math.floor(((i + 1) * span) / jobs);
    createdAt = i > 0 && rand() < 0.03 ? createdAt : Math.max(createdAt + 1, next - Math.floor(rand() * Math.min(1000, span / jobs / 2)));
    const id = newId("imp");
    const job = jobRow(rand, id, tenantId, createdAt, now);
    insertJob.run(...job.values);
    counts[job.status]!++;
    errors += job.errorCount;
    processedRows += job.processed;
    if (job.duration !== null) (durationSum += job.duration), durationCount++;
    if (i >= jobs - 50) newest.push({ id, createdAt });
    for (let n = Math.floor(i * NOISE_RATIO); n < Math.floor((i + 1) * NOISE_RATIO); n++, noiseJobs++) {
      insertJob.run(...jobRow(rand, newId("imp"), others[Math.floor(rand() * others.length)]!, createdAt + Math.floor(rand() * 1000), now).values);
    }
  }
  newest.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  const avg = durationCount > 0 ? Math.round(durationSum / durationCount) : null;
  return { tenantId, noiseJobs, expected: { total: jobs, ...counts, errors, avg_duration_ms: avg, processed_rows: processedRows, last_ids: newest.slice(0, 5).map((n) => n.id) } };
}

export type Seed = Awaited<ReturnType<typeof seedState>> & { reused?: boolean };

/** Seeds (or reuses) the state of one size; no wrangler may be running on it. */
export async function prepareState(state: string, jobs: number, fresh: boolean): Promise<Seed> {
  const metaFile = path.join(state, "seed.json");
  const hash = createHash("sha256");
  for (const f of readdirSync(path.join(repoRoot, "migrations")).filter((n) => n.endsWith(".sql")).sort()) hash.update(f).update(readFileSync(path.join(repoRoot, "migrations", f)));
  const migrations = hash.digest("hex").slice(0, 16);
  if (!fresh && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as Seed;
    if (meta.version === SEED_VERSION && meta.migrations === migrations && meta.jobs === jobs && [meta.dbFile, ...meta.copies].every((f) => existsSync(f))) return { ...meta, reused: true };
  }
  const seed = await seedState(state, jobs, migrations);
  // The plain key of a throw-away local database, kept so that the state can be reused (.data/ is git-ignored).
  writeFileSync(metaFile, `${JSON.stringify(seed, null, 1)}\n`, { mode: 0o600 });
  return seed;
}

async function seedState(state: string, jobs: number, migrations: string) {
  rmSync(state, { recursive: true, force: true });
  const dirs = { real: path.join(state, "real"), bench: path.join(state, "bench") };
  // Each binding's local file is the one new file after its migrations.
  const migrate = (binding: string, dir: string): string => {
    const d1 = path.join(dir, "v3", "d1", "miniflare-D1DatabaseObject");
    const list = () => (existsSync(d1) ? readdirSync(d1).filter((n) => /^[0-9a-f]{64}\.sqlite$/.test(n)) : []);
    const before = new Set(list());
    mkdirSync(dir, { recursive: true });
    wrangler(["d1", "migrations", "apply", binding, "--local", "--persist-to", dir, "-c", workerConfig]);
    const created = list().filter((f) => !before.has(f));
    if (created.length !== 1) throw new Error(`expected one new D1 file after migrating ${binding} in ${dir}, found ${created.length}`);
    return path.join(d1, created[0]!);
  };
  const dbFile = migrate("DB", dirs.real);
  const copies = [migrate("DB", dirs.bench)];
  process.removeAllListeners("warning"); // node:sqlite's ExperimentalWarning on Node 22
  const { DatabaseSync } = await import("node:sqlite");
  const keys = await Promise.all(Array.from({ length: BENCH_KEYS }, () => generateKey()));
  const db = new DatabaseSync(dbFile);
  db.exec("PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF; BEGIN");
  const filled = fill(db, jobs, keys);
  db.exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  for (const target of copies) {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${target}${suffix}`, { force: true });
    copyFileSync(dbFile, target);
  }
  return { version: SEED_VERSION, jobs, migrations, ...filled, keys: keys.map((k) => k.key), keyHash: keys[0]!.hash, dirs, dbFile, copies, dbBytes: statSync(dbFile).size };
}
