// `wrangler dev` for the benchmarks that run bench Workers (status, write shapes, the import's D1 baseline; process
// control in ./wrangler-dev.ts): its output written straight to a log file (no parsing in the load generator's
// process while it measures) and scanned between cells, readiness probed over HTTP.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { ANSI, EXPECTED_WRANGLER_LINES, sleep, WranglerDevProcess } from "./wrangler-dev.ts";

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

export interface LogScan {
  reloads: number;
  /** Lines that look like errors, without the expected offline noise. */
  errors: string[];
}

const EXPECTED_LINES = [...EXPECTED_WRANGLER_LINES, /^\[wrangler:info\] (GET|HEAD) \S+ [23]\d\d /];

export class DevServer extends WranglerDevProcess {
  readonly name: string;
  readonly logFile: string;
  private logOffset = 0;
  /** Totals since the server became ready. */
  readonly seen: LogScan = { reloads: 0, errors: [] };

  constructor(options: { name: string; port: number; inspectorPort: number; persistTo: string; logFile: string; config?: string; extraArgs?: string[] }) {
    super({ ...options, output: { file: options.logFile } });
    this.name = options.name;
    this.logFile = options.logFile;
  }

  /** Polls `readyPath` until it answers 200 (bounded by timeoutMs); throws with the log's tail otherwise. */
  async waitReady(readyPath: string, timeoutMs = 90_000, headers: Record<string, string> = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.hasExited) throw new Error(`${this.name}: wrangler dev ended (${this.exitDescription}) before it was ready:\n${this.tail()}`);
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

  private tail(bytes = 3000): string {
    const size = this.logSize();
    return this.read(Math.max(0, size - bytes), Math.min(bytes, size)).replace(ANSI, "");
  }
}
