// How busy the machine is with work that is not the benchmark's: the CPU time of all processes (/proc/stat)
// minus ours (this process and the process groups of the wrangler dev servers we started), as CPUs in use.
// Other engineers' tests and benchmarks on a 2-CPU machine can move latency figures a lot; every cell
// records this figure, and a cell may wait (bounded) for a quieter moment before it starts.
import { readdirSync, readFileSync } from "node:fs";

const HZ = 100; // USER_HZ of /proc/stat and /proc/<pid>/stat on Linux

function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / HZ;
}

function groupsCpuSeconds(pgids: number[]): number {
  if (pgids.length === 0) return 0;
  const wanted = new Set(pgids.map(String));
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = (readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      // after "pid (comm) ": state ppid pgrp … utime(11) stime(12) cutime(13) cstime(14)
      if (wanted.has(fields[2] ?? "")) total += (Number(fields[11]) + Number(fields[12])) / HZ;
    } catch {
      // the process ended
    }
  }
  return total;
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface CpuSnapshot {
  at: number;
  machine: number;
  ours: number;
}

export function snapshot(pgids: number[]): CpuSnapshot {
  return { at: performance.now(), machine: machineBusySeconds(), ours: selfCpuSeconds() + groupsCpuSeconds(pgids) };
}

/** CPUs busy with other work between two snapshots (0 = quiet; 2 = both CPUs of a 2-CPU machine). */
export function foreignCpus(a: CpuSnapshot, b: CpuSnapshot): number {
  const seconds = (b.at - a.at) / 1000;
  if (seconds <= 0) return 0;
  // A process group's CPU time can lag (children's time is counted when reaped): never below 0.
  return Math.max(0, (b.machine - a.machine - (b.ours - a.ours)) / seconds);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until other work uses less than `threshold` CPUs over a 0.5 s sample, at most `maxMs`;
 * returns the milliseconds waited and the last sample.
 */
export async function waitForQuiet(pgids: number[], threshold: number, maxMs: number): Promise<{ waitedMs: number; load: number }> {
  const t0 = performance.now();
  for (;;) {
    const a = snapshot(pgids);
    await sleep(500);
    const load = foreignCpus(a, snapshot(pgids));
    const waited = performance.now() - t0;
    if (load < threshold || waited >= maxMs) return { waitedMs: waited, load };
  }
}
