// `wrangler dev` for the status benchmark: started on 127.0.0.1 in a process group of its own (so stop() and the
// exit handlers reach wrangler, esbuild and workerd alike), its output written straight to a log file (no
// parsing in the load generator's process while it measures), readiness probed over HTTP. Every started
// server is registered; stopAllNow() is the synchronous last resort for exit, error and Ctrl-C.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..", "..");
export const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

/**
 * Environment for every wrangler we start: no metrics, no error reports, no banner (the banner is what runs
 * wrangler's npm update check) and no fetch of the `Request.cf` object from workers.cloudflare.com, so the
 * benchmark talks to 127.0.0.1 only.
 */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
}

/** Runs a wrangler command to completion (stdin closed: non-interactive); throws with its output on failure. */
export function wranglerSync(args: string[], timeoutMs = 180_000): string {
  const result = spawnSync(process.execPath, [wranglerJs, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: wranglerEnv(),
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.error || result.status !== 0) {
    throw new Error(`wrangler ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`);
  }
  return output;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET to 127.0.0.1 without keep-alive; resolves with status and body, never rejects. */
export function probe(port: number, pathAndQuery: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: pathAndQuery, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (e) => resolve({ status: 0, body: String(e) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
  });
}

const running = new Set<DevServer>();

/** SIGKILL to every process group we started and that is still there (synchronous; for exit handlers). */
export function stopAllNow(): void {
  for (const server of running) server.killNow();
}

export interface LogScan {
  reloads: number;
  /** Lines that look like errors, without the expected offline noise. */
  errors: string[];
}

const EXPECTED_LINES = [
  /Unable to fetch the `Request\.cf` object/,
  /getaddrinfo \w+ workers\.cloudflare\.com/,
  /^\s+at /,
  // the bindings table printed at start and on every reload (var names such as MAX_STORED_ERRORS)
  /^\s*env\.\w+ .*\b(Environment Variable|Queue|D1 Database|R2 Bucket)\b/,
  /^\[wrangler:info\] (GET|HEAD) \S+ [23]\d\d /,
];
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export class DevServer {
  readonly name: string;
  readonly port: number;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private exited = false;
  private exitInfo = "";
  private logOffset = 0;
  /** Totals since the server became ready. */
  readonly seen: LogScan = { reloads: 0, errors: [] };

  constructor(options: { name: string; port: number; inspectorPort: number; persistTo: string; logFile: string; config?: string; extraArgs?: string[] }) {
    this.name = options.name;
    this.port = options.port;
    this.logFile = options.logFile;
    const args = [
      wranglerJs,
      "dev",
      ...(options.config ? ["-c", options.config] : []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--inspector-port",
      String(options.inspectorPort),
      "--persist-to",
      options.persistTo,
      "--local",
      "--show-interactive-dev-session=false",
      ...(options.extraArgs ?? []),
    ];
    const fd = openSync(options.logFile, "w");
    try {
      // detached: its own process group (pgid = its pid), stopped as a whole.
      this.child = spawn(process.execPath, args, { cwd: repoRoot, detached: true, stdio: ["ignore", fd, fd], env: wranglerEnv() });
    } finally {
      closeSync(fd);
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

  /** Polls `readyPath` until it answers 200 (bounded by timeoutMs); throws with the log's tail otherwise. */
  async waitReady(readyPath: string, timeoutMs = 90_000, headers: Record<string, string> = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name}: wrangler dev ended (${this.exitInfo}) before it was ready:\n${this.tail()}`);
      const r = await probe(this.port, readyPath, headers, 10_000);
      if (r.status === 200) {
        this.logOffset = this.logSize();
        return;
      }
      last = `${r.status} ${r.body.slice(0, 300)}`;
      await sleep(250);
    }
    throw new Error(`${this.name}: not ready after ${timeoutMs / 1000} s (last answer: ${last}):\n${this.tail()}`);
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Reloads (a watched source file changed) and error lines in the log since the previous scan; also added to `seen`. */
  scanLog(): LogScan {
    const size = this.logSize();
    const text = this.read(this.logOffset, size - this.logOffset);
    this.logOffset = size;
    const lines = text.split("\n").map((l) => l.replace(ANSI, "").trimEnd());
    const scan = {
      reloads: lines.filter((l) => /Reloading local server|Detected changes|Local server updated/i.test(l)).length,
      errors: lines.filter((l) => /error|exception|uncaught|✘/i.test(l) && !EXPECTED_LINES.some((re) => re.test(l))).slice(0, 20),
    };
    this.seen.reloads += scan.reloads;
    for (const e of scan.errors) if (this.seen.errors.length < 20 && !this.seen.errors.includes(e)) this.seen.errors.push(e);
    return scan;
  }

  /** SIGTERM to the group, SIGKILL after graceMs if anything is left; waits until the group is gone (bounded). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.signal("SIGTERM")) {
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && this.groupAlive()) await sleep(100);
      if (this.groupAlive()) {
        this.signal("SIGKILL");
        const hard = Date.now() + 5000;
        while (Date.now() < hard && this.groupAlive()) await sleep(100);
      }
    }
    if (this.groupAlive()) throw new Error(`${this.name}: process group ${this.pid} survived SIGKILL`);
    running.delete(this);
  }

  killNow(): void {
    this.signal("SIGKILL");
  }

  private signal(signal: NodeJS.Signals): boolean {
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

  private logSize(): number {
    try {
      return statSync(this.logFile).size;
    } catch {
      return 0;
    }
  }

  private read(offset: number, length: number): string {
    if (length <= 0) return "";
    const fd = openSync(this.logFile, "r");
    try {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      return buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  }

  tail(bytes = 3000): string {
    const size = this.logSize();
    return this.read(Math.max(0, size - bytes), Math.min(bytes, size)).replace(ANSI, "");
  }
}
