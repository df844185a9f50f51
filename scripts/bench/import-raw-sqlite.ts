// The raw SQLite ceiling: the benchmark rows upserted into `products` in one transaction with one prepared
// statement, on a temporary file database with the project's schema (migrations/*.sql).
//
// The engine is better-sqlite3. npm compiles its native addon for the Node that runs npm, which on these machines
// is older than the Node 22 that runs the benchmark; then the upsert runs in a child process of that Node
// (raw-sqlite-child.cjs). Only if neither works does the baseline fall back to Node's built-in node:sqlite with the
// same statements, and says so: the results name the engine that produced the figure.
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { benchProduct } from "./import-data.ts";

export type RawEngineName = "better-sqlite3" | "node:sqlite";

/** The few calls the baseline needs; better-sqlite3 and node:sqlite both have them with the same meaning. */
interface RawDb {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...params: (string | number | null)[]): unknown; get(): unknown };
  close(): unknown;
}

export interface RawEngine {
  name: RawEngineName;
  /** Set when better-sqlite3 runs in a child process of this Node binary (the one its addon was built for). */
  childNode?: string;
  /** Why better-sqlite3 was not used, when it was not. */
  fallbackReason: string | null;
  version: string;
  open(file: string): RawDb;
}

function betterSqlite3(): RawEngine {
  return {
    name: "better-sqlite3",
    fallbackReason: null,
    version: (createRequire(import.meta.url)("better-sqlite3/package.json") as { version: string }).version,
    open: (file) => new Database(file) as unknown as RawDb,
  };
}

async function nodeSqlite(reason: string | null): Promise<RawEngine> {
  // node:sqlite prints an ExperimentalWarning on first use in Node 22; it is expected here and not worth a line.
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (!/SQLite is an experimental feature/.test(text)) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  const sqlite = await import("node:sqlite");
  process.emitWarning = emit;
  return {
    name: "node:sqlite",
    fallbackReason: reason,
    version: `SQLite ${process.versions.sqlite ?? "?"}`,
    open: (file) => new sqlite.DatabaseSync(file) as unknown as RawDb,
  };
}

const CHILD_SCRIPT = path.join(import.meta.dirname, "raw-sqlite-child.cjs");

/** The Node that ran npm (and so built the native addon), when it is not this one and can load better-sqlite3. */
function nativeAddonNode(): string | null {
  const candidate = process.env.npm_node_execpath;
  if (!candidate || candidate === process.execPath) return null;
  const probe = spawnSync(candidate, ["-e", "new (require('better-sqlite3'))(':memory:').close()"], { cwd: import.meta.dirname, encoding: "utf8" });
  return probe.status === 0 ? candidate : null;
}

/** better-sqlite3 in this Node, or in the Node that built its addon, otherwise node:sqlite (with the reason). */
export async function pickRawEngine(forced?: RawEngineName): Promise<RawEngine> {
  if (forced === "node:sqlite") return nodeSqlite(null);
  const engine = betterSqlite3();
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bench-raw-probe-"));
    try {
      engine.open(path.join(dir, "probe.sqlite")).close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return engine;
  } catch (err) {
    const message = (err as Error).message.replace(/\s+/g, " ").trim();
    const childNode = nativeAddonNode();
    if (childNode) return { ...engine, childNode };
    if (forced === "better-sqlite3") throw new Error(`better-sqlite3 cannot be loaded: ${message}`);
    const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires NODE_MODULE_VERSION (\d+)/.exec(message);
    const why = abi ? `its native addon was compiled for NODE_MODULE_VERSION ${abi[1]}, this Node needs ${abi[2]}` : message;
    return nodeSqlite(`better-sqlite3 ${engine.version} cannot be loaded by Node ${process.version}: ${why}`);
  }
}

export interface RawResult {
  engine: RawEngineName;
  rows: number;
  /** Time of BEGIN … all upserts … COMMIT, row generation excluded. */
  insertMs: number;
  rowsPerSec: number;
  /** Rows in `products` afterwards (must equal `rows`). */
  count: number;
  pragmas: string;
}

/** The statements of every migration, in file-name order (drizzle-kit separates them with a breakpoint marker). */
export function migrationStatements(migrationsDir: string): string[] {
  const files = readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return files.flatMap((f) =>
    readFileSync(path.join(migrationsDir, f), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  );
}

const UPSERT = `INSERT INTO products (tenant_id, sku_key, sku, name, description, price_minor, currency, stock, status, brand,
    category, barcode, image_url, tags, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (tenant_id, sku_key) DO UPDATE SET
    sku = excluded.sku, name = excluded.name, description = excluded.description, price_minor = excluded.price_minor,
    currency = excluded.currency, stock = excluded.stock, status = excluded.status, brand = excluded.brand,
    category = excluded.category, barcode = excluded.barcode, image_url = excluded.image_url, tags = excluded.tags,
    updated_at = excluded.updated_at`;

const PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL"];
const BATCH = 10_000;

type Params = [string, string, string, string, string | null, number, string, number, string, string, string, string | null, string, string, number, number];

function paramsOf(rows: number, i: number, tenant: string, now: number): Params {
  // Same normalisation as the product schema: lower-cased sku key, blank optional cells as NULL, tags as JSON.
  const p = benchProduct(rows, i);
  return [
    tenant,
    p.sku.toLowerCase(),
    p.sku,
    p.name,
    p.description === "" ? null : p.description,
    p.priceCents,
    p.currency,
    p.stock,
    p.status,
    p.brand,
    p.category,
    p.barcode === "" ? null : p.barcode,
    p.imageUrl,
    JSON.stringify(p.tags),
    now,
    now,
  ];
}

/** The same upsert by better-sqlite3 in a child process of `node`; generating the rows is not timed. */
function rawSqliteUpsertInChild(node: string, rows: number, migrationsDir: string): RawResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-raw-sqlite-"));
  try {
    const paramsFile = path.join(dir, "params.ndjson");
    const now = Date.now();
    const lines: string[] = [];
    for (let i = 1; i <= rows; i++) lines.push(JSON.stringify(paramsOf(rows, i, "ten_bench", now)));
    writeFileSync(paramsFile, `${lines.join("\n")}\n`);
    const jobFile = path.join(dir, "job.json");
    const setup = [...PRAGMAS.map((p) => `PRAGMA ${p}`), ...migrationStatements(migrationsDir)];
    writeFileSync(jobFile, JSON.stringify({ db: path.join(dir, "raw.sqlite"), setup, upsert: UPSERT, paramsFile, batch: BATCH }));
    const run = spawnSync(node, ["--max-old-space-size=4096", CHILD_SCRIPT, jobFile], { cwd: import.meta.dirname, encoding: "utf8", maxBuffer: 1 << 20 });
    if (run.status !== 0) throw new Error(`raw SQLite child failed: ${run.stderr || run.stdout}`);
    const out = JSON.parse(run.stdout) as { insertMs: number; count: number };
    return { engine: "better-sqlite3", rows, insertMs: out.insertMs, rowsPerSec: rows / (out.insertMs / 1000), count: out.count, pragmas: PRAGMAS.join(", ") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Upserts the `rows` rows of the benchmark file into a fresh temporary database and times the inserts only. */
export function rawSqliteUpsert(engine: RawEngine, rows: number, migrationsDir: string): RawResult {
  if (engine.childNode) return rawSqliteUpsertInChild(engine.childNode, rows, migrationsDir);
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-raw-sqlite-"));
  const db = engine.open(path.join(dir, "raw.sqlite"));
  try {
    for (const pragma of PRAGMAS) db.exec(`PRAGMA ${pragma}`);
    for (const statement of migrationStatements(migrationsDir)) db.exec(statement);
    const upsert = db.prepare(UPSERT);
    const tenant = "ten_bench";
    const now = Date.now();
    const batch: Params[] = [];
    let insertNs = 0n;
    let t = process.hrtime.bigint();
    db.exec("BEGIN");
    insertNs += process.hrtime.bigint() - t;
    for (let i = 1; i <= rows; i++) {
      batch.push(paramsOf(rows, i, tenant, now));
      if (batch.length === BATCH || i === rows) {
        t = process.hrtime.bigint();
        for (const params of batch) upsert.run(...params);
        insertNs += process.hrtime.bigint() - t;
        batch.length = 0;
      }
    }
    t = process.hrtime.bigint();
    db.exec("COMMIT");
    insertNs += process.hrtime.bigint() - t;
    const count = (db.prepare("SELECT count(*) AS n FROM products").get() as { n: number }).n;
    const insertMs = Number(insertNs) / 1e6;
    return { engine: engine.name, rows, insertMs, rowsPerSec: rows / (insertMs / 1000), count, pragmas: PRAGMAS.join(", ") };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
