// `wrangler dev` for the import benchmark (process control in ../lib/wrangler-dev.ts): its output appended to a log
// file and scanned as it comes for readiness, the queue consumer's slice log lines, reloads and errors; plus the
// copy of the Worker's sources it runs from, and the key CLI.
import { createHash } from "node:crypto";
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, type WriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";
import { ANSI, EXPECTED_WRANGLER_LINES, nodeSync, repoRoot, WranglerDevProcess } from "../lib/wrangler-dev.ts";

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

/** Runs a Node script of the repo to completion; returns stdout, throws with its output on failure. */
export function nodeScriptSync(script: string, args: string[], env: Record<string, string>): string {
  return nodeSync(path.join(repoRoot, script), args, { env });
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
const NOISE = [...EXPECTED_WRANGLER_LINES, /Scheduled Workers are not automatically triggered/, /update available/];
const NOTABLE = /error|exception|uncaught|unhandled|✘|\bwarn|failed|exceeded|timed? ?out|retry|retries|dead.?letter|oom|out of memory|abort/i;

export class WranglerDev extends WranglerDevProcess {
  readonly logFile: string;
  private readonly log: WriteStream;
  private readonly started = Date.now();
  private ready = false;
  private readyWaiters: ((err?: Error) => void)[] = [];
  readonly slices = new Map<string, SliceTotals>();
  readonly notable: NotableLine[] = [];
  /** Lines that looked like a slice log but did not parse. */
  readonly badSliceLines: string[] = [];
  reloads = 0;

  constructor(options: { port: number; persistTo: string; logFile: string; vars: Record<string, string>; cwd: string; title: string }) {
    // The default log level ("log") is needed: at "info" wrangler drops the Worker's console.log lines.
    super({ ...options, extraArgs: ["--log-level", "log"], output: "pipe" });
    this.logFile = options.logFile;
    this.log = createWriteStream(options.logFile, { flags: "a" });
    this.log.write(`\n# ${new Date().toISOString()} ${options.title}\n# ${this.commandLine}\n`);
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
    this.child.on("exit", () => {
      for (const w of this.readyWaiters.splice(0)) w(new Error(`wrangler dev ended (${this.exitDescription}) before it was ready; see ${this.logFile}`));
    });
  }

  private onLine(line: string): void {
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
    if (this.hasExited) return Promise.reject(new Error(`wrangler dev ended (${this.exitDescription}); see ${this.logFile}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev was not ready after ${timeoutMs / 1000} s; see ${this.logFile}`)), timeoutMs);
      this.readyWaiters.push((err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Stops the whole process group (see WranglerDevProcess.stop), then closes the log. */
  override async stop(graceMs = 5000): Promise<void> {
    try {
      await super.stop(graceMs);
    } finally {
      await this.closeLog();
    }
  }

  private closeLog(): Promise<void> {
    return new Promise((resolve) => {
      if (this.log.closed || this.log.destroyed) resolve();
      else this.log.end(() => resolve());
    });
  }
}
