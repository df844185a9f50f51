// Raw SQLite: the status statements timed on the benchmark's own database file with no Worker, no D1 and no
// HTTP in between (a child process, see ../lib/sqlite-node.ts): better-sqlite3, and node:sqlite as a cross-check.
import { findBetterSqlite3, probeEngine, runSqliteJob, type SqliteEngine } from "../lib/sqlite-node.ts";

export interface Statement {
  name: string;
  sql: string;
  params: unknown[];
}

export interface RawGroup {
  iterations: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  perStatementMedianMs: Record<string, number>;
  rows: Record<string, number>;
  plan: Record<string, string[]>;
}

export interface RawResult {
  engine: string;
  label: string;
  sqlite: string;
  node: string;
  groups: Record<string, RawGroup>;
}

/** The engines that can run here; notes say why better-sqlite3 needed another Node, or could not load at all. */
export function findEngines(): { engines: SqliteEngine[]; notes: string[] } {
  const notes: string[] = [];
  const engines: SqliteEngine[] = [];
  const { engine, failures } = findBetterSqlite3();
  if (engine) {
    engines.push(engine);
    if (engine.nodePath !== process.execPath) {
      notes.push(
        `better-sqlite3 does not load in the benchmark's Node ${process.version} (${failures[0] ?? "?"}); the raw timing runs it under ${engine.nodePath} (Node ${engine.node}) instead.`,
      );
    }
  } else notes.push(`better-sqlite3 could not be loaded by any Node found (${failures.join("; ")}); raw SQLite uses node:sqlite only.`);
  const builtin = probeEngine(process.execPath, "node:sqlite");
  if (typeof builtin !== "string") engines.push(builtin);
  else notes.push(`node:sqlite unavailable: ${builtin}`);
  return { engines, notes };
}

export function timeRaw(
  engine: SqliteEngine,
  file: string,
  groups: Record<string, Statement[]>,
  bounds: { maxIterations: number; minIterations: number; maxMs: number; hardMaxMs: number; warmup: number },
): RawResult {
  const timeoutMs = Object.keys(groups).length * (bounds.hardMaxMs + 30_000) + 30_000;
  return runSqliteJob<RawResult>(engine, { task: "time", file, groups, ...bounds }, { timeoutMs });
}
