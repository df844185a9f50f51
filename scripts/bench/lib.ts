// What the benchmarks share: wrangler (its CLI, and `wrangler dev` started one way), /proc readings, the machine
// a run ran on, raw SQLite in a child process, and the RESULTS.md writer.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const benchDir = import.meta.dirname;
export const repoRoot = path.resolve(benchDir, "..", "..");
export const dataDir = path.join(benchDir, ".data");
export const workerConfig = path.join(benchDir, "worker", "wrangler.toml");
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** "10000", "10k", "6.5m", … as a positive whole number; throws otherwise. */
export function count(text: string): number {
  const n = Number(text.trim().replace(/k$/i, "e3").replace(/m$/i, "e6"));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`"${text}" is not a positive whole number (1000, 10k, 1m)`);
  return n;
}
export const int = (n: number | null | undefined) => (n == null || Number.isNaN(n) ? "–" : Math.round(n).toLocaleString("en-US"));
export const fixed = (n: number | null | undefined, digits: number) =>
  n == null || Number.isNaN(n) ? "–" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

// No metrics, error reports, banner (its update check) or fetch of the `Request.cf` object: 127.0.0.1 only.
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", WRANGLER_HIDE_BANNER: "true" };
Object.assign(wranglerEnv, { CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", FORCE_COLOR: "0" });
const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

/** A wrangler CLI command run to completion; throws with its output on failure. */
export function wrangler(args: string[], cwd = repoRoot): string {
  const r = spawnSync(process.execPath, [wranglerJs, ...args], { cwd, encoding: "utf8", env: wranglerEnv, timeout: 180_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A top-level or [vars] value of a wrangler.toml, quotes removed. */
export function tomlValue(file: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*(.+?)\\s*(#.*)?$`, "m").exec(readFileSync(file, "utf8"))?.[1]?.replace(/^"(.*)"$/, "$1");
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
/** Output lines that are expected locally and offline, and say nothing about the Worker. */
const EXPECTED = [
  /Unable to fetch the `Request\.cf` object|getaddrinfo \w+ workers\.cloudflare\.com|Scheduled Workers are not automatically triggered/,
  /^\s+at /,
  /^\s*env\.\w+ .*\b(Environment Variable|Queue|D1 Database|R2 Bucket)\b/,
  /^\[wrangler:info\] (GET|HEAD|POST) \S+ [1-4]\d\d /,
];
const NOTABLE = /error|exception|uncaught|unhandled|✘|\bwarn|failed|exceeded|timed? ?out|dead.?letter|out of memory/i;

const running = new Set<WranglerDev>();
// Every wrangler dev runs in a process group of its own, killed whenever this process ends.
process.on("exit", () => running.forEach((w) => w.kill()));
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(130));

/** `wrangler dev` on 127.0.0.1, its output going straight to a log file that the benchmark reads between measurements. */
export class WranglerDev {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly log: string;
  private offset = 0;
  exited: string | null = null;
  reloads = 0;
  /** Lines that look like errors or warnings, without the expected offline noise. */
  readonly notable: string[] = [];

  private constructor(port: number, log: string, args: string[], cwd: string) {
    [this.port, this.url, this.log] = [port, `http://127.0.0.1:${port}`, log];
    const fd = openSync(log, "w");
    const child = spawn(process.execPath, [wranglerJs, "dev", "--ip", "127.0.0.1", "--port", String(port), "--local", "--show-interactive-dev-session=false", ...args], {
      cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: wranglerEnv,
    });
    closeSync(fd);
    this.pid = child.pid ?? -1;
    running.add(this);
    child.on("exit", (code, signal) => (this.exited = signal ? `signal ${signal}` : `exit code ${code}`));
  }

  /** Started and answering 200 on `readyPath`. */
  static async start(o: { persistTo: string; log: string; cwd?: string; config?: string; vars?: Record<string, string>; args?: string[]; readyPath?: string }): Promise<WranglerDev> {
    const args = [...(o.config ? ["-c", o.config] : []), "--persist-to", o.persistTo, "--inspector-port", String(await freePort()), ...(o.args ?? [])];
    for (const [k, v] of Object.entries(o.vars ?? {})) args.push("--var", `${k}:${v}`);
    const server = new WranglerDev(await freePort(), o.log, args, o.cwd ?? repoRoot);
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && !server.exited) {
      const r = await fetch(`${server.url}${o.readyPath ?? "/health"}`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
      if (r?.ok) {
        server.lines();
        return server;
      }
      await sleep(250);
    }
    await server.stop();
    throw new Error(`wrangler dev was not ready (${server.exited ?? "timeout"}); see ${server.log}`);
  }

  /** The log's lines since the last call (reloads and notable lines counted). */
  lines(): string[] {
    const size = statSync(this.log).size;
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.log, "r");
    readSync(fd, buf, 0, buf.length, this.offset);
    closeSync(fd);
    const text = buf.toString("utf8");
    const end = text.lastIndexOf("\n") + 1; // a partial last line waits for the next call
    this.offset += Buffer.byteLength(text.slice(0, end));
    const lines = text.slice(0, end).replace(ANSI, "").split("\n");
    for (const line of lines) {
      if (/Reloading local server|Detected changes|Local server updated/i.test(line)) this.reloads++;
      else if (NOTABLE.test(line) && !EXPECTED.some((re) => re.test(line)) && !line.includes('"import slice"')) this.notable.push(line.slice(0, 400));
    }
    return lines;
  }

  /** SIGTERM to the group, SIGKILL if it is still there after 5 s. */
  async stop(): Promise<void> {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (!this.signal(signal)) break;
      for (let i = 0; i < 50 && this.signal(0); i++) await sleep(100);
    }
    running.delete(this);
  }

  kill = () => this.signal("SIGKILL");

  private signal(signal: NodeJS.Signals | 0): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

// ---- /proc (Linux)

export type Proc = { pid: number; ppid: number; pgrp: number; comm: string; cpuS: number };

/** A /proc file's text, "" once the process is gone. */
function readProc(file: string): string {
  try {
    return readFileSync(`/proc/${file}`, "utf8");
  } catch {
    return "";
  }
}

/** /proc/<pid>/stat, or null once the process is gone (clock ticks: USER_HZ = 100). */
export function procStat(pid: number | string): Proc | null {
  const stat = readProc(`${pid}/stat`);
  const close = stat.lastIndexOf(")");
  const f = stat.slice(close + 2).split(" ");
  return stat ? { pid: Number(pid), ppid: Number(f[1]), pgrp: Number(f[2]), comm: stat.slice(stat.indexOf("(") + 1, close), cpuS: (Number(f[11]) + Number(f[12])) / 100 } : null;
}

export const processes = (): Proc[] => readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(procStat).filter((p): p is Proc => p !== null);

export function descendants(root: number): Proc[] {
  const all = processes();
  const found: Proc[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const parent = queue.shift();
    for (const p of all.filter((q) => q.ppid === parent)) found.push(p), queue.push(p.pid);
  }
  return found;
}

export const cmdline = (pid: number) => readProc(`${pid}/cmdline`).split("\0").join(" ");

/** VmRSS in MiB, or null once the process is gone. */
export function rssMb(pid: number): number | null {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readProc(`${pid}/status`))?.[1];
  return kb === undefined ? null : Number(kb) / 1024;
}

// ---- the machine, and RESULTS.md

function tryRun(file: string, args: string[], cwd = repoRoot): string {
  try {
    return execFileSync(file, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** The machine, and the commit of `tree` (the checkout whose Worker was measured). */
export function machine(tree = repoRoot): { cpus: number; commit: string; line: string } {
  // RESULTS.md is what the benchmarks write: it does not make the measured tree dirty.
  const dirty = tryRun("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)scripts/bench/RESULTS.md"], tree);
  const wranglerVersion = (JSON.parse(readFileSync(path.join(repoRoot, "node_modules", "wrangler", "package.json"), "utf8")) as { version: string }).version;
  const [cpus, workerd, head] = [os.availableParallelism(), tryRun(path.join(repoRoot, "node_modules", ".bin", "workerd"), ["--version"]), tryRun("git", ["rev-parse", "--short", "HEAD"], tree)];
  const line = `${cpus} CPUs (nproc; ${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}, ${workerd}, wrangler ${wranglerVersion}`;
  const commit = `${head}${dirty && dirty !== "unknown" ? " + uncommitted changes" : ""}`;
  return { cpus, commit, line: `${line}, commit ${commit}` };
}

/** Replaces the `## <heading>` section of RESULTS.md (up to the next `## `), or appends it; other sections are kept. */
export function writeResults(heading: string, section: string): void {
  const file = path.join(benchDir, "RESULTS.md");
  const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const start = old.search(new RegExp(`^## ${heading}$`, "m"));
  const rest = start < 0 ? "" : old.slice(start + 3);
  const next = rest.search(/^## /m);
  const text =
    start < 0 ? `${old.trimEnd()}\n\n${section.trimEnd()}\n` : `${old.slice(0, start)}${section.trimEnd()}\n${next < 0 ? "" : `\n${rest.slice(next)}`}`;
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

// ---- raw SQLite: in a child process (sqlite-child.mjs) under a Node that can load the engine

/** label: "better-sqlite3 12.11.1" or "node:sqlite"; node: the binary the child runs on. */
export type Engine = { engine: "better-sqlite3" | "node:sqlite"; node: string; nodeVersion: string; label: string; sqlite: string };

const child = path.join(benchDir, "sqlite-child.mjs");

function runChild<T>(node: string, args: string[], input?: unknown, timeout = 1_800_000): T {
  const r = spawnSync(node, ["--max-old-space-size=4096", child, ...args], { input: input === undefined ? "" : JSON.stringify(input), encoding: "utf8", timeout, maxBuffer: 16 << 20 });
  let out: { ok: boolean; error?: string };
  try {
    out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as typeof out;
  } catch {
    throw new Error(`${node} ${child} failed: ${r.error?.message ?? ""} ${r.stderr}`.trim());
  }
  if (!out.ok) throw new Error(out.error);
  return out as T;
}

/**
 * better-sqlite3 under the first Node that loads its native addon (npm builds it for the Node that ran npm, which
 * may not be the devDependency Node 22 that `npm run` puts first), then node:sqlite of this Node as a cross-check.
 */
export function sqliteEngines(): { engines: Engine[]; notes: string[] } {
  const nodes = [process.execPath, process.env.npm_node_execpath, process.env.BENCH_NODE, ...(process.env.PATH ?? "").split(":").map((d) => path.join(d, "node")), "/usr/bin/node"];
  const [failures, engines, notes]: [string[], Engine[], string[]] = [[], [], []];
  for (const node of new Set(nodes.filter((n) => n && existsSync(n)).map((n) => realpathSync(n!)))) {
    try {
      engines.push({ ...runChild<Engine>(node, ["--probe", "better-sqlite3"], undefined, 20_000), node });
      break;
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  const better = engines[0];
  if (!better) notes.push(`better-sqlite3 could not be loaded by any Node found (${failures[0]}); raw SQLite is node:sqlite only.`);
  else if (better.node !== process.execPath) notes.push(`better-sqlite3 does not load in Node ${process.version} (${failures[0]}); it runs under ${better.node} (Node ${better.nodeVersion}).`);
  engines.push({ ...runChild<Engine>(process.execPath, ["--probe", "node:sqlite"], undefined, 20_000), node: process.execPath });
  return { engines, notes };
}

/** One job of sqlite-child.mjs under the engine's Node. */
export const runSqlite = <T>(engine: Engine, job: Record<string, unknown>): T => runChild<T>(engine.node, [], { ...job, engine: engine.engine });

/** Every migration's statements, in file order (drizzle-kit separates them with a breakpoint marker). */
export function migrationStatements(): string[] {
  const files = readdirSync(path.join(repoRoot, "migrations")).filter((f) => f.endsWith(".sql")).sort();
  return files.flatMap((f) => readFileSync(path.join(repoRoot, "migrations", f), "utf8").split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean));
}
