// Raw SQLite beside the Workers runtime, for the benchmarks' baselines: always in a child process
// (sqlite-child.mjs), under the first Node on this machine that can load better-sqlite3.
//
// better-sqlite3 is a native module built for one Node ABI. When the copy in node_modules was built by another Node
// than the one running the benchmark (npm install run by a system Node, while `npm run` puts the devDependency
// Node 22 first), it cannot load here; then another Node runs it: the one that ran npm, $BENCH_NODE, any `node` on
// PATH or in the usual places. node:sqlite (built into this Node) is the fallback, or a cross-check.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export type SqliteEngineName = "better-sqlite3" | "node:sqlite";

export interface SqliteEngine {
  engine: SqliteEngineName;
  /** The Node binary the child process runs on. */
  nodePath: string;
  /** "better-sqlite3 12.1.0" or "node:sqlite". */
  label: string;
  /** The package version of better-sqlite3, or "SQLite x.y.z" for node:sqlite. */
  version: string;
  sqlite: string;
  /** process.version of nodePath. */
  node: string;
}

const child = path.join(import.meta.dirname, "sqlite-child.mjs");

const lastLine = (text: string | null | undefined) => (text ?? "").trim().split("\n").at(-1) ?? "";

/** The engine under `nodePath`, or why it does not load there. */
export function probeEngine(nodePath: string, engine: SqliteEngineName): SqliteEngine | string {
  const r = spawnSync(nodePath, [child, "--probe", engine], { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
  try {
    const out = JSON.parse(lastLine(r.stdout)) as { ok: boolean; error?: string; label: string; version: string; sqlite: string; node: string };
    if (out.ok) return { engine, nodePath, label: out.label, version: out.version, sqlite: out.sqlite, node: out.node };
    return out.error ?? "failed";
  } catch {
    return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n")[0] ?? "failed";
  }
}

/** Candidate Node binaries, each once: this one first, then the one that ran npm, $BENCH_NODE, every `node` on PATH, the usual places. */
function nodeCandidates(): string[] {
  const list = [process.execPath];
  for (const p of [process.env.npm_node_execpath, process.env.BENCH_NODE]) if (p) list.push(p);
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

/** better-sqlite3 under the first candidate Node that loads it, or null; `failures` holds why the Nodes before it did not (this Node's first). */
export function findBetterSqlite3(): { engine: SqliteEngine | null; failures: string[] } {
  const failures: string[] = [];
  for (const nodePath of nodeCandidates()) {
    const r = probeEngine(nodePath, "better-sqlite3");
    if (typeof r !== "string") return { engine: r, failures };
    failures.push(r);
  }
  return { engine: null, failures };
}

/** Runs one job (see sqlite-child.mjs) under the engine's Node; returns its JSON answer, throws with its error. */
export function runSqliteJob<T>(engine: SqliteEngine, job: Record<string, unknown>, options: { timeoutMs?: number; nodeArgs?: string[] } = {}): T {
  const r = spawnSync(engine.nodePath, [...(options.nodeArgs ?? []), child], {
    input: JSON.stringify({ ...job, engine: engine.engine }),
    encoding: "utf8",
    timeout: options.timeoutMs,
    killSignal: "SIGKILL",
    maxBuffer: 16 << 20,
  });
  let out: (T & { ok: true }) | { ok: false; error: string };
  try {
    out = JSON.parse(lastLine(r.stdout)) as typeof out;
  } catch {
    throw new Error(`raw SQLite (${engine.label}) failed: ${r.error?.message ?? ""} ${r.stderr ?? ""}`.trim());
  }
  if (!out.ok) throw new Error(`raw SQLite (${engine.label}) failed: ${out.error}`);
  return out;
}
