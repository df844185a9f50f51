// How busy the machine is with work that is not the benchmark's: the CPU time of all processes (/proc/stat)
// minus ours (this process and the process groups of the wrangler dev servers we started), as CPUs in use.
// Other engineers' tests and benchmarks on a 2-CPU machine can move latency figures a lot; every cell
// records this figure, and a cell may wait (bounded) for a quieter moment before it starts.
import { sleep } from "../lib/wrangler-dev.ts";
import { machineBusySeconds, processes } from "../lib/proc.ts";

function groupsCpuSeconds(pgids: number[]): number {
  if (pgids.length === 0) return 0;
  const wanted = new Set(pgids);
  return processes().reduce((total, p) => (wanted.has(p.pgrp) ? total + p.cpuSeconds : total), 0);
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
