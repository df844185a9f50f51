// Raw SQLite: the status statements timed on the benchmark's own database file with no Worker, no D1 and no
// HTTP in between, by raw-sqlite.mjs in a child process.
//
// better-sqlite3 is a native module built for one Node ABI. When the copy in node_modules was built by another
// Node than the one running the benchmark (npm install run by a system Node, while `npm run` puts the
// devDependency Node 22 first), it cannot load here; then the first other Node on this machine that loads it
// runs the timing. node:sqlite (built into this Node) is timed as well, as a cross-check.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

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

export interface RawEngine {
  engine: "better-sqlite3" | "node:sqlite";
  nodePath: string;
  label: string;
  sqlite: string;
  node: string;
}

const child = path.join(import.meta.dirname, "raw-sqlite.mjs");

function probe(nodePath: string, engine: RawEngine["engine"]): RawEngine | string {
  const r = spawnSync(nodePath, [child, "--probe", engine], { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
  const line = (r.stdout ?? "").trim().split("\n").at(-1) ?? "";
  try {
    const out = JSON.parse(line) as { ok: boolean; error?: string; label: string; sqlite: string; node: string };
    if (out.ok) return { engine, nodePath, label: out.label, sqlite: out.sqlite, node: out.node };
    return out.error ?? "failed";
  } catch {
    return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n")[0] ?? "failed";
  }
}

/** Candidate Node binaries: this one first, then $STATUS_BENCH_NODE, then every other `node` on PATH and the usual places. */
function nodeCandidates(): string[] {
  const list = [process.execPath];
  if (process.env.STATUS_BENCH_NODE) list.push(process.env.STATUS_BENCH_NODE);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) if (dir) list.push(path.join(dir, "node"));
  list.push("/usr/bin/node", "/usr/local/bin/node");
  const seen = new Set<string>();
  return list.filter((p) => {
    if (!existsSync(p)) return false;
    let real = p;
    try {
      real = execFileSync("readlink", ["-f", p], { encoding: "utf8" }).trim() || p;
    } catch {
      // keep p
    }
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

/** The engines that can run here; notes say why better-sqlite3 needed another Node, or could not load at all. */
export function findEngines(): { engines: RawEngine[]; notes: string[] } {
  const notes: string[] = [];
  const engines: RawEngine[] = [];
  const failures: string[] = [];
  for (const nodePath of nodeCandidates()) {
    const r = probe(nodePath, "better-sqlite3");
    if (typeof r !== "string") {
      engines.push(r);
      if (nodePath !== process.execPath) {
        notes.push(
          `better-sqlite3 does not load in the benchmark's Node ${process.version} (${failures[0] ?? "?"}); the raw timing runs it under ${nodePath} (Node ${r.node}) instead.`,
        );
      }
      break;
    }
    failures.push(r);
  }
  if (engines.length === 0) notes.push(`better-sqlite3 could not be loaded by any Node found (${failures.join("; ")}); raw SQLite uses node:sqlite only.`);
  const builtin = probe(process.execPath, "node:sqlite");
  if (typeof builtin !== "string") engines.push(builtin);
  else notes.push(`node:sqlite unavailable: ${builtin}`);
  return { engines, notes };
}

export function timeRaw(
  engine: RawEngine,
  file: string,
  groups: Record<string, Statement[]>,
  bounds: { maxIterations: number; minIterations: number; maxMs: number; hardMaxMs: number; warmup: number },
): RawResult {
  const job = { engine: engine.engine, file, groups, ...bounds };
  const budget = Object.keys(groups).length * (bounds.hardMaxMs + 30_000) + 30_000;
  const r = spawnSync(engine.nodePath, [child], { input: JSON.stringify(job), encoding: "utf8", timeout: budget, killSignal: "SIGKILL", maxBuffer: 16 << 20 });
  const line = (r.stdout ?? "").trim().split("\n").at(-1) ?? "";
  let out: (RawResult & { ok: true }) | { ok: false; error: string };
  try {
    out = JSON.parse(line) as typeof out;
  } catch {
    throw new Error(`raw SQLite (${engine.label}) failed: ${r.error?.message ?? ""} ${r.stderr ?? ""}`.trim());
  }
  if (!out.ok) throw new Error(`raw SQLite (${engine.label}) failed: ${out.error}`);
  return out;
}
