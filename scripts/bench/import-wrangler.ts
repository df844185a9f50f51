// `wrangler dev` for the benchmark: started in its own process group on 127.0.0.1 with its own state directory,
// its output kept in a log file and scanned for the queue consumer's slice log lines, reloads and errors;
// always stopped by killing the whole group (wrangler, esbuild, workerd).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, type WriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..");
export const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

const childEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" });

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** What the Worker is built from; copied so that edits made while the benchmark runs cannot reload it. */
const SOURCE_ENTRIES = ["src", "migrations", "wrangler.toml", "tsconfig.json", "package.json", ".dev.vars"];

export interface SourceSnapshot {
  dir: string;
  files: number;
  /** First 12 hex digits of a SHA-256 over the copied paths and contents. */
  hash: string;
}

/**
 * Copies the Worker's sources into `dir` (node_modules is found by walking up from there, as esbuild does).
 * wrangler dev run from the copy builds exactly the tree as it was at this moment.
 */
export function snapshotSource(dir: string): SourceSnapshot {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of SOURCE_ENTRIES) {
    const from = path.join(repoRoot, entry);
    if (existsSync(from)) cpSync(from, path.join(dir, entry), { recursive: true });
  }
  const hash = createHash("sha256");
  let files = 0;
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) walk(path.join(rel, name));
    } else {
      files++;
      hash.update(`${rel}\0`).update(readFileSync(abs)).update("\0");
    }
  };
  for (const entry of SOURCE_ENTRIES) if (existsSync(path.join(dir, entry))) walk(entry);
  return { dir, files, hash: hash.digest("hex").slice(0, 12) };
}

/** Runs a wrangler CLI command to completion with the benchmark's Node; throws with its output on failure. */
export function wranglerSync(args: string[], cwd = repoRoot, timeoutMs = 120_000): string {
  const result = spawnSync(process.execPath, [wranglerJs, ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: childEnv(),
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.error || result.status !== 0) {
    throw new Error(`wrangler ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`);
  }
  return output;
}

/** Runs a Node script of the repo to completion; returns stdout, throws with stderr on failure. */
export function nodeScriptSync(script: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): string {
  const result = spawnSync(process.execPath, [path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...childEnv(), ...env },
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (result.error || result.status !== 0) {
    throw new Error(`node ${script} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (used: boolean) => {
      socket.destroy();
      resolve(used);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

export interface SliceTotals {
  slices: number;
  /** Each slice's own `ms`, in log order. */
  sliceMs: number[];
  rows: number;
  productsWritten: number;
  d1RowsWritten: number;
  ms: number;
}

export interface NotableLine {
  /** Milliseconds since wrangler dev started. */
  at: number;
  text: string;
}

// Lines that are expected without network access or in local mode, and say nothing about the pipeline.
const NOISE = [
  /Unable to fetch the `Request\.cf` object/,
  /getaddrinfo (ENOTFOUND|EAI_AGAIN) workers\.cloudflare\.com/,
  /^\s+at /,
  /Scheduled Workers are not automatically triggered/,
  /update available/,
  // the bindings table printed at start and on every reload (its var names contain words like ERRORS)
  /^\s*env\.\w+ .*\b(Environment Variable|Queue|D1 Database|R2 Bucket)\b/,
];
const NOTABLE = /error|exception|uncaught|unhandled|✘|\bwarn|failed|exceeded|timed? ?out|retry|retries|dead.?letter|oom|out of memory|abort/i;

export class WranglerDev {
  readonly port: number;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly started = Date.now();
  private exited = false;
  private exitInfo = "";
  private ready = false;
  private readyWaiters: ((err?: Error) => void)[] = [];
  readonly slices = new Map<string, SliceTotals>();
  readonly notable: NotableLine[] = [];
  /** Lines that looked like a slice log but did not parse. */
  readonly badSliceLines: string[] = [];
  reloads = 0;
  /** Lines seen since start, so a caller can tell whether output is still flowing. */
  lineCount = 0;

  constructor(options: { port: number; persistTo: string; logFile: string; vars: Record<string, string>; cwd: string; title: string }) {
    this.port = options.port;
    this.logFile = options.logFile;
    this.log = createWriteStream(options.logFile, { flags: "a" });
    const args = [
      wranglerJs,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--persist-to",
      options.persistTo,
      "--local",
      "--show-interactive-dev-session=false",
      // The default log level ("log") is needed: at "info" wrangler drops the Worker's console.log lines.
      "--log-level",
      "log",
      ...Object.entries(options.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    this.log.write(`\n# ${new Date().toISOString()} ${options.title}\n# cd ${options.cwd} && ${process.execPath} ${args.join(" ")}\n`);
    // detached: a process group of its own, so stop() reaches esbuild and workerd too.
    this.child = spawn(process.execPath, args, { cwd: options.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: childEnv() });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        this.log.write(chunk);
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          this.onLine(pending.slice(0, nl).replace(ANSI, "").replace(/\r$/, ""));
          pending = pending.slice(nl + 1);
        }
      });
    }
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      for (const w of this.readyWaiters.splice(0)) w(new Error(`wrangler dev ended (${this.exitInfo}) before it was ready; see ${this.logFile}`));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  get exitDescription(): string {
    return this.exitInfo;
  }

  private onLine(line: string): void {
    this.lineCount++;
    if (!this.ready && /Ready on https?:\/\//.test(line)) {
      this.ready = true;
      for (const w of this.readyWaiters.splice(0)) w();
    }
    if (/Reloading local server|Detected changes/i.test(line)) this.reloads++;
    const brace = line.indexOf("{");
    if (brace >= 0 && line.includes('"import slice"')) {
      try {
        const entry = JSON.parse(line.slice(brace)) as Record<string, unknown>;
        if (entry.msg === "import slice" && typeof entry.job_id === "string") {
          const totals = this.slices.get(entry.job_id) ?? { slices: 0, sliceMs: [], rows: 0, productsWritten: 0, d1RowsWritten: 0, ms: 0 };
          totals.slices++;
          totals.rows += Number(entry.rows ?? 0);
          totals.productsWritten += Number(entry.products_written ?? 0);
          totals.d1RowsWritten += Number(entry.d1_rows_written ?? 0);
          totals.ms += Number(entry.ms ?? 0);
          totals.sliceMs.push(Number(entry.ms ?? 0));
          this.slices.set(entry.job_id, totals);
          return;
        }
      } catch {
        // fall through: reported below
      }
      this.badSliceLines.push(line);
      return;
    }
    if (line.trim() === "" || NOISE.some((re) => re.test(line))) return;
    // Request log lines of successful calls are not notable; JSON lines with an error level or 5xx status are.
    if (brace === 0) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        const status = typeof entry.status === "number" ? entry.status : 0;
        const level = String(entry.level ?? "");
        if (status >= 500 || /error|warn/i.test(level) || /error|fail/i.test(String(entry.msg ?? ""))) {
          this.notable.push({ at: Date.now() - this.started, text: line });
        }
        return;
      } catch {
        // not JSON: judged as text
      }
    }
    if (/^\[wrangler:info\] (GET|POST|PUT|DELETE|HEAD) \S+ [1-4]\d\d /.test(line)) return;
    if (NOTABLE.test(line) || /\b5\d\d\b.*\(\d+ms\)/.test(line)) this.notable.push({ at: Date.now() - this.started, text: line });
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.exited) return Promise.reject(new Error(`wrangler dev ended (${this.exitInfo}); see ${this.logFile}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev was not ready after ${timeoutMs / 1000} s; see ${this.logFile}`)), timeoutMs);
      this.readyWaiters.push((err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Sends SIGTERM to the process group, then SIGKILL after `graceMs` if anything is left. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.signalGroup("SIGTERM")) return this.closeLog();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && this.groupAlive()) await new Promise((r) => setTimeout(r, 100));
    if (this.groupAlive()) this.signalGroup("SIGKILL");
    await this.closeLog();
  }

  /** Synchronous last resort for process exit handlers. */
  killNow(): void {
    this.signalGroup("SIGKILL");
  }

  private signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false; // group already gone
    }
  }

  private groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private closeLog(): Promise<void> {
    return new Promise((resolve) => {
      if (this.log.closed || this.log.destroyed) resolve();
      else this.log.end(() => resolve());
    });
  }
}
