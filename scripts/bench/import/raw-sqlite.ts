// The raw SQLite ceiling: the benchmark rows upserted into `products` in one transaction with one prepared
// statement, on a temporary file database with the project's schema (migrations/*.sql), insert time only.
//
// The engine is better-sqlite3, in a child process of the first Node that can load its native addon (see
// ../lib/sqlite-node.ts). Only if no Node can does the baseline fall back to Node's built-in node:sqlite with the
// same statements, and says so: the results name the engine that produced the figure.
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { findBetterSqlite3, probeEngine, runSqliteJob, type SqliteEngine, type SqliteEngineName } from "../lib/sqlite-node.ts";
import { benchProduct } from "./products.ts";

export type RawEngine = SqliteEngine & {
  /** Why better-sqlite3 was not used, when it was not. */
  fallbackReason: string | null;
};

/** better-sqlite3 (in this Node, or in one that can load its addon), otherwise node:sqlite (with the reason). */
export function pickRawEngine(forced?: SqliteEngineName): RawEngine {
  const builtin = (reason: string | null): RawEngine => {
    const engine = probeEngine(process.execPath, "node:sqlite");
    if (typeof engine === "string") throw new Error(`node:sqlite cannot be loaded: ${engine}`);
    return { ...engine, fallbackReason: reason };
  };
  if (forced === "node:sqlite") return builtin(null);
  const { engine, failures } = findBetterSqlite3();
  if (engine) return { ...engine, fallbackReason: null };
  const message = failures[0] ?? "no Node found";
  if (forced === "better-sqlite3") throw new Error(`better-sqlite3 cannot be loaded: ${message}`);
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires NODE_MODULE_VERSION (\d+)/.exec(message);
  const why = abi ? `its native addon was compiled for NODE_MODULE_VERSION ${abi[1]}, this Node needs ${abi[2]}` : message;
  return builtin(`better-sqlite3 cannot be loaded by Node ${process.version} nor any other Node found: ${why}`);
}

/** How the results name the engine. */
export function describeRawEngine(engine: RawEngine): string {
  const where =
    engine.nodePath === process.execPath ? "" : ` in a child process of ${engine.nodePath} ${engine.node}, the Node its native addon was built for`;
  return `${engine.engine} (${engine.version})${where}${engine.fallbackReason ? ` — fallback: ${engine.fallbackReason}` : ""}`;
}

export interface RawResult {
  rows: number;
  /** Time of BEGIN … all upserts … COMMIT, row generation excluded. */
  insertMs: number;
  rowsPerSec: number;
  /** Rows in `products` afterwards (must equal `rows`). */
  count: number;
}

/** The statements of every migration, in file-name order (drizzle-kit separates them with a breakpoint marker). */
function migrationStatements(migrationsDir: string): string[] {
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

export const RAW_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL"];
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

/** Upserts the `rows` rows of the benchmark file into a fresh temporary database and times the inserts only. */
export function rawSqliteUpsert(engine: RawEngine, rows: number, migrationsDir: string): RawResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-raw-sqlite-"));
  try {
    // The rows are generated here, before the child starts timing.
    const paramsFile = path.join(dir, "params.ndjson");
    const now = Date.now();
    // Written a batch at a time: millions of rows make a file larger than one string may be.
    const fd = openSync(paramsFile, "w");
    try {
      for (let from = 1; from <= rows; from += BATCH) {
        const lines: string[] = [];
        for (let i = from; i < Math.min(from + BATCH, rows + 1); i++) lines.push(JSON.stringify(paramsOf(rows, i, "ten_bench", now)));
        writeSync(fd, `${lines.join("\n")}\n`);
      }
    } finally {
      closeSync(fd);
    }
    const setup = [...RAW_PRAGMAS.map((p) => `PRAGMA ${p}`), ...migrationStatements(migrationsDir)];
    const job = { task: "upsert", db: path.join(dir, "raw.sqlite"), setup, upsert: UPSERT, paramsFile, batch: BATCH };
    const out = runSqliteJob<{ insertMs: number; count: number }>(engine, job, { nodeArgs: ["--max-old-space-size=4096"] });
    return { rows, insertMs: out.insertMs, rowsPerSec: rows / (out.insertMs / 1000), count: out.count };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
