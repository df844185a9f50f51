// wrangler for the benchmarks: one-shot CLI commands, and `wrangler dev` started on 127.0.0.1 in a process group of
// its own (pgid = its pid), so that stop() and the exit handlers reach wrangler, esbuild and workerd alike.
// Every started server is registered until it is stopped; killAllNow() is the synchronous last resort for exit,
// error and Ctrl-C. What a benchmark does with the output (parse it as it comes, or scan a log file) is its own.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..", "..");
export const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// eslint-disable-next-line no-control-regex
export const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** wrangler dev output lines that are expected locally and offline, and say nothing about the Worker. */
export const EXPECTED_WRANGLER_LINES = [
  /Unable to fetch the `Request\.cf` object/,
  /getaddrinfo \w+ workers\.cloudflare\.com/,
  /^\s+at /,
  // the bindings table printed at start and on every reload (its var names contain words like ERRORS)
  /^\s*env\.\w+ .*\b(Environment Variable|Queue|D1 Database|R2 Bucket)\b/,
];

/**
 * Environment for every wrangler we start: no metrics, no error reports, no banner (the banner is what runs
 * wrangler's npm update check) and no fetch of the `Request.cf` object from workers.cloudflare.com, so the
 * benchmarks talk to 127.0.0.1 only.
 */
export function wranglerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
    ...extra,
  };
}

/** Runs a Node script to completion with this Node (stdin closed: non-interactive); throws with its output on failure. */
export function nodeSync(script: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): string {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: options.cwd ?? repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: wranglerEnv(options.env),
    timeout: options.timeoutMs ?? 180_000,
    killSignal: "SIGKILL",
  });
  if (result.error || result.status !== 0) {
    const name = script === wranglerJs ? "wrangler" : `node ${path.relative(repoRoot, script)}`;
    throw new Error(`${name} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr ?? ""}${result.stdout ?? ""}`);
  }
  return result.stdout;
}

/** Runs a wrangler CLI command to completion; throws with its output on failure. */
export function wranglerSync(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): string {
  return nodeSync(wranglerJs, args, options);
}

/** A top-level `key = value` (or `[vars]` entry) of a wrangler.toml, as written (quotes kept); undefined if absent. */
export function tomlValue(file: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*(.+?)\\s*(#.*)?$`, "m").exec(readFileSync(file, "utf8"))?.[1];
}

export interface WranglerDevOptions {
  port: number;
  persistTo: string;
  /** Working directory (default: the repo root); wrangler reads ./wrangler.toml there unless `config` is given. */
  cwd?: string;
  config?: string;
  inspectorPort?: number;
  vars?: Record<string, string>;
  extraArgs?: string[];
  /** "pipe" to read the output as it comes, or a log file that stdout and stderr go to (truncated first). */
  output: "pipe" | { file: string };
}

const running = new Set<WranglerDevProcess>();

/** SIGKILL to every wrangler dev process group started and not yet stopped (synchronous; for exit handlers). */
export function killAllNow(): void {
  for (const server of running) server.killNow();
}

/** Stops every wrangler dev still running (a group that survives is killed); resolves when all are done. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop().catch(() => s.killNow())));
}

export function anyRunning(): boolean {
  return running.size > 0;
}

export class WranglerDevProcess {
  readonly port: number;
  /** The command line, as run from `cwd`. */
  readonly commandLine: string;
  protected readonly child: ChildProcess;
  private exited = false;
  private exitInfo = "";

  constructor(options: WranglerDevOptions) {
    this.port = options.port;
    const cwd = options.cwd ?? repoRoot;
    const args = [
      wranglerJs,
      "dev",
      ...(options.config ? ["-c", options.config] : []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(options.port),
      ...(options.inspectorPort ? ["--inspector-port", String(options.inspectorPort)] : []),
      "--persist-to",
      options.persistTo,
      "--local",
      "--show-interactive-dev-session=false",
      ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
      ...(options.extraArgs ?? []),
    ];
    this.commandLine = `cd ${cwd} && ${process.execPath} ${args.join(" ")}`;
    const out = options.output === "pipe" ? "pipe" : openSync(options.output.file, "w");
    try {
      // detached: a process group of its own, so stop() reaches esbuild and workerd too.
      this.child = spawn(process.execPath, args, { cwd, detached: true, stdio: ["ignore", out, out], env: wranglerEnv() });
    } finally {
      if (typeof out === "number") closeSync(out);
    }
    running.add(this);
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  get exitDescription(): string {
    return this.exitInfo;
  }

  /** SIGTERM to the group, SIGKILL after graceMs if anything is left; waits until the group is gone (bounded). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.signalGroup("SIGTERM")) {
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && this.groupAlive()) await sleep(100);
      if (this.groupAlive()) {
        this.signalGroup("SIGKILL");
        const hard = Date.now() + 5000;
        while (Date.now() < hard && this.groupAlive()) await sleep(100);
      }
    }
    if (this.groupAlive()) throw new Error(`wrangler dev: process group ${this.pid} survived SIGKILL`);
    running.delete(this);
  }

  /** Synchronous last resort for process exit handlers. */
  killNow(): void {
    this.signalGroup("SIGKILL");
  }

  private signalGroup(signal: NodeJS.Signals): boolean {
    if (this.pid <= 0) return false;
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false; // the group is already gone
    }
  }

  private groupAlive(): boolean {
    if (this.pid <= 0) return false;
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
