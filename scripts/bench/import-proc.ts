// Memory of the Workers runtime under `wrangler dev`: the workerd processes below the wrangler process,
// found by walking /proc (Linux only), and their VmRSS sampled on an interval.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses, so split at the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const after = stat.slice(close + 2).split(" ");
    return { pid, ppid: Number(after[1]), comm: stat.slice(open + 1, close) };
  } catch {
    return null; // the process ended meanwhile
  }
}

/** All processes below `root` (not `root` itself). */
export function descendants(root: number): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const entry of readdirSync("/proc")) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const info = readProc(Number(entry));
    if (!info) continue;
    const list = children.get(info.ppid);
    if (list) list.push(info);
    else children.set(info.ppid, [info]);
  }
  const found: ProcInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** VmRSS in KiB, or null if the process is gone. */
export function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
}

export interface WorkerdProcess {
  pid: number;
  /**
   * "worker" runs the Worker's code (wrangler starts it with an inspector address); "proxy" is the workerd
   * in front of it that owns the dev server port.
   */
  role: "worker" | "proxy";
}

export function workerdProcesses(wranglerPid: number): WorkerdProcess[] {
  return descendants(wranglerPid)
    .filter((p) => p.comm === "workerd")
    .map((p) => ({ pid: p.pid, role: cmdline(p.pid).includes("--inspector-addr") ? "worker" : "proxy" }));
}

export interface MemoryPeak {
  /** Largest VmRSS seen of the workerd process that runs the Worker, MiB. */
  workerMb: number;
  /** Largest sum of VmRSS over all workerd processes at one sample, MiB. */
  totalMb: number;
  /** Same values at the first sample (before the work started). */
  startWorkerMb: number;
  startTotalMb: number;
  samples: number;
  /** Distinct workerd pids seen; more than the initial ones means wrangler restarted the runtime (a reload). */
  pids: number[];
}

/** Samples the workerd processes of `wranglerPid` every `intervalMs` until stopped. */
export class RssSampler {
  private readonly wranglerPid: number;
  private readonly timer: NodeJS.Timeout;
  private procs: WorkerdProcess[] = [];
  private readonly seen = new Set<number>();
  private lastScan = 0;
  private peakWorkerKb = 0;
  private peakTotalKb = 0;
  private startWorkerKb = -1;
  private startTotalKb = -1;
  private count = 0;

  constructor(wranglerPid: number, intervalMs = 100) {
    this.wranglerPid = wranglerPid;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const now = Date.now();
    // Re-walk the process tree once a second, or at once when a known process has gone.
    if (now - this.lastScan > 1000 || this.procs.length === 0) this.rescan(now);
    let total = 0;
    let worker = 0;
    let gone = false;
    for (const p of this.procs) {
      const kb = rssKb(p.pid);
      if (kb === null) {
        gone = true;
        continue;
      }
      total += kb;
      if (p.role === "worker") worker = Math.max(worker, kb);
    }
    if (gone) this.rescan(now);
    if (this.procs.length === 0) return;
    this.count++;
    if (this.startTotalKb < 0) {
      this.startTotalKb = total;
      this.startWorkerKb = worker;
    }
    this.peakTotalKb = Math.max(this.peakTotalKb, total);
    this.peakWorkerKb = Math.max(this.peakWorkerKb, worker);
  }

  private rescan(now: number): void {
    this.lastScan = now;
    this.procs = workerdProcesses(this.wranglerPid);
    for (const p of this.procs) this.seen.add(p.pid);
  }

  stop(): MemoryPeak {
    clearInterval(this.timer);
    this.sample();
    const mb = (kb: number) => Math.max(kb, 0) / 1024;
    return {
      workerMb: mb(this.peakWorkerKb),
      totalMb: mb(this.peakTotalKb),
      startWorkerMb: mb(this.startWorkerKb),
      startTotalMb: mb(this.startTotalKb),
      samples: this.count,
      pids: [...this.seen],
    };
  }
}
