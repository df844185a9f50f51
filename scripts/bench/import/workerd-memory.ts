// Memory and CPU time of the Workers runtime under `wrangler dev`: the workerd processes below the wrangler process,
// found by walking /proc (Linux only), and their VmRSS sampled on an interval.
import { cmdline, descendants, readStat, rssOf, threadCpu } from "../lib/proc.ts";

const cpuSeconds = (procPath: string) => readStat(procPath)?.cpuSeconds ?? null;

export interface WorkerdProcess {
  pid: number;
  /**
   * "worker" runs the Worker's code (wrangler starts it with an inspector address); "proxy" is the workerd
   * in front of it that owns the dev server port.
   */
  role: "worker" | "proxy";
}

function workerdProcesses(wranglerPid: number): WorkerdProcess[] {
  return descendants(wranglerPid)
    .filter((p) => p.comm === "workerd")
    .map((p) => ({ pid: p.pid, role: cmdline(p.pid).includes("--inspector-addr") ? "worker" : "proxy" }));
}

export interface MemoryPeak {
  /** Largest VmRSS seen of the workerd process that runs the Worker, MiB. */
  workerMb: number;
  /** Largest RssAnon and RssFile of that process, MiB (each at its own peak). */
  workerAnonMb: number;
  workerFileMb: number;
  /** Largest sum of VmRSS over all workerd processes at one sample, MiB. */
  totalMb: number;
  /** Same values at the first sample (before the work started). */
  startWorkerMb: number;
  /** The Worker process's VmRSS when mark() was called (the upload answered), and its largest VmRSS after that. */
  markWorkerMb: number | null;
  peakAfterMarkWorkerMb: number | null;
  startTotalMb: number;
  samples: number;
  /** Distinct workerd pids seen; more than the initial ones means wrangler restarted the runtime (a reload). */
  pids: number[];
  /** CPU seconds the Worker's workerd process used while sampling, and its busiest thread's share of them. */
  workerCpuS: number | null;
  workerBusiestThreadCpuS: number | null;
  /** Sampling time, seconds. */
  elapsedS: number;
}

/** Samples the workerd processes of `wranglerPid` every `intervalMs` until stopped. */
export class RssSampler {
  private readonly wranglerPid: number;
  private readonly timer: NodeJS.Timeout;
  private procs: WorkerdProcess[] = [];
  private readonly seen = new Set<number>();
  private lastScan = 0;
  private peakWorkerKb = 0;
  private peakAnonKb = 0;
  private peakFileKb = 0;
  private peakTotalKb = 0;
  private startWorkerKb = -1;
  private markWorkerKb = -1;
  private peakAfterMarkKb = -1;
  private startTotalKb = -1;
  private count = 0;
  private readonly startedAt = performance.now();
  private workerPid: number | null = null;
  private startThreads = new Map<string, number>();
  private startCpu = 0;

  constructor(wranglerPid: number, intervalMs = 100) {
    this.wranglerPid = wranglerPid;
    this.sample();
    this.workerPid = this.procs.find((p) => p.role === "worker")?.pid ?? null;
    if (this.workerPid !== null) {
      this.startThreads = threadCpu(this.workerPid);
      this.startCpu = cpuSeconds(`/proc/${this.workerPid}`) ?? 0;
    }
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): number | undefined {
    const now = Date.now();
    // Re-walk the process tree once a second, or at once when a known process has gone.
    if (now - this.lastScan > 1000 || this.procs.length === 0) this.rescan(now);
    let total = 0;
    let worker = 0;
    let gone = false;
    for (const p of this.procs) {
      const rss = rssOf(p.pid);
      if (rss === null) {
        gone = true;
        continue;
      }
      total += rss.total;
      if (p.role === "worker") {
        worker = Math.max(worker, rss.total);
        this.peakAnonKb = Math.max(this.peakAnonKb, rss.anon);
        this.peakFileKb = Math.max(this.peakFileKb, rss.file);
      }
    }
    if (gone) this.rescan(now);
    if (this.procs.length === 0) return undefined;
    this.count++;
    if (this.startTotalKb < 0) {
      this.startTotalKb = total;
      this.startWorkerKb = worker;
    }
    this.peakTotalKb = Math.max(this.peakTotalKb, total);
    this.peakWorkerKb = Math.max(this.peakWorkerKb, worker);
    if (this.markWorkerKb >= 0) this.peakAfterMarkKb = Math.max(this.peakAfterMarkKb, worker);
    return worker;
  }

  /** Starts a second peak from now: what the work after this point adds on top of the memory already held. */
  mark(): void {
    this.markWorkerKb = this.sample() ?? -1;
    this.peakAfterMarkKb = this.markWorkerKb;
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
    let workerCpuS: number | null = null;
    let busiest: number | null = null;
    if (this.workerPid !== null && this.procs.some((p) => p.pid === this.workerPid)) {
      // The process line counts the time of threads that have ended too; the busiest thread is among the live ones.
      const end = cpuSeconds(`/proc/${this.workerPid}`);
      workerCpuS = end === null ? null : end - this.startCpu;
      busiest = 0;
      for (const [tid, used] of threadCpu(this.workerPid)) busiest = Math.max(busiest, used - (this.startThreads.get(tid) ?? 0));
    }
    return {
      workerCpuS,
      workerBusiestThreadCpuS: busiest,
      elapsedS: (performance.now() - this.startedAt) / 1000,
      workerMb: mb(this.peakWorkerKb),
      workerAnonMb: mb(this.peakAnonKb),
      workerFileMb: mb(this.peakFileKb),
      totalMb: mb(this.peakTotalKb),
      startWorkerMb: mb(this.startWorkerKb),
      markWorkerMb: this.markWorkerKb < 0 ? null : mb(this.markWorkerKb),
      peakAfterMarkWorkerMb: this.peakAfterMarkKb < 0 ? null : mb(this.peakAfterMarkKb),
      startTotalMb: mb(this.startTotalKb),
      samples: this.count,
      pids: [...this.seen],
    };
  }
}
