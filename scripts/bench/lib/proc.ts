// Reading Linux's /proc: the process table, a process's memory and CPU time, the machine's busy time.
// Every reader returns null (or skips the process) when the process ended meanwhile.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of the CPU times in /proc (USER_HZ; 100 on every mainstream Linux). */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  comm: string;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

/** /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat, given as `/proc/<pid>[/task/<tid>]`. */
export function readStat(procPath: string): ProcStat | null {
  try {
    // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses, so split at the last ")".
    const stat = readFileSync(`${procPath}/stat`, "utf8");
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const after = stat.slice(close + 2).split(" ");
    // after[0] is field 3 (state); ppid, pgrp are fields 4 and 5; utime and stime fields 14 and 15.
    return {
      pid: Number(stat.slice(0, open).trim()),
      ppid: Number(after[1]),
      pgrp: Number(after[2]),
      comm: stat.slice(open + 1, close),
      cpuSeconds: (Number(after[11]) + Number(after[12])) / CLK_TCK,
    };
  } catch {
    return null;
  }
}

/** Every process there is now. */
export function processes(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const stat = readStat(`/proc/${entry}`);
    if (stat) out.push(stat);
  }
  return out;
}

/** All processes below `root` (not `root` itself). */
export function descendants(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const info of processes()) {
    const list = children.get(info.ppid);
    if (list) list.push(info);
    else children.set(info.ppid, [info]);
  }
  const found: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** The command line, arguments joined by spaces ("" if the process is gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

export interface Rss {
  /** VmRSS, KiB. */
  total: number;
  /** RssAnon (heap, stacks: the JS heap lives here) and RssFile (mapped files), KiB. */
  anon: number;
  file: number;
}

const statusField = (status: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? 0);

/** VmRSS and its parts in KiB, or null if the process is gone. */
export function rssOf(pid: number): Rss | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return { total: statusField(status, "VmRSS"), anon: statusField(status, "RssAnon"), file: statusField(status, "RssFile") };
  } catch {
    return null;
  }
}

/** CPU seconds per thread of a process, keyed by thread id. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readStat(`/proc/${pid}/task/${tid}`);
      if (s) out.set(tid, s.cpuSeconds);
    }
  } catch {
    // gone
  }
  return out;
}

/** CPU seconds the whole machine has been busy since boot (all CPUs; /proc/stat). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / CLK_TCK;
}
