// The raw SQLite ceiling: the benchmark rows upserted into `products` in one transaction with one prepared
// statement, on a temporary file database with the project's schema (migrations/*.sql).
//
// The engine is better-sqlite3. If its native addon cannot be loaded by this Node (for example it was compiled
// for another Node ABI when `npm install` ran under an older Node), the baseline falls back to Node's built-in
// node:sqlite with the same statements, and says so: the results name the engine that produced the figure.
import Database from "better-sqlite3";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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

/** better-sqlite3 if its native addon loads in this Node, otherwise node:sqlite (with the reason). */
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

/** Upserts the `rows` rows of the benchmark file into a fresh temporary database and times the inserts only. */
export function rawSqliteUpsert(engine: RawEngine, rows: number, migrationsDir: string): RawResult {
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
      // Same normalisation as the product schema: lower-cased sku key, blank optional cells as NULL, tags as JSON.
      const p = benchProduct(rows, i);
      batch.push([
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
      ]);
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
