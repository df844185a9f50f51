// What a benchmark ran on: the machine, the Node, workerd and wrangler versions, and the commit; each benchmark
// words its own "Machine:" line from these.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./wrangler-dev.ts";

/** A command's trimmed output, or "unknown" if it cannot run. */
export function tryRun(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  } catch {
    return "unknown";
  }
}

export interface Machine {
  /** CPUs this process may use (as `nproc` counts them). */
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  /** `workerd --version`, e.g. "workerd 2026-11-02". */
  workerd: string;
  wrangler: string;
  /**
   * Short HEAD commit, with " + uncommitted changes" when tracked files differ from it (or, when `dirtyPaths`
   * are given, any file under them; then followed by " in <paths>").
   */
  commit: string;
}

export function describeMachine(dirtyPaths: string[] = []): Machine {
  const head = tryRun("git", ["rev-parse", "--short", "HEAD"]);
  // Under given paths a new file counts too; across the whole tree only changes to tracked files do.
  // RESULTS.md is what the benchmarks write: a run after a run is not "uncommitted changes" to what was measured.
  const dirty = tryRun("git", ["status", "--porcelain", ...(dirtyPaths.length ? ["--", ...dirtyPaths] : ["--untracked-files=no", "--", ".", ":(exclude)scripts/bench/RESULTS.md"])]);
  const changes = dirty === "" || dirty === "unknown" ? "" : ` + uncommitted changes${dirtyPaths.length ? ` in ${dirtyPaths.join(", ")}` : ""}`;
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "?",
    memGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    workerd: tryRun(path.join(repoRoot, "node_modules", ".bin", "workerd"), ["--version"]),
    wrangler: (JSON.parse(readFileSync(path.join(repoRoot, "node_modules", "wrangler", "package.json"), "utf8")) as { version: string }).version,
    commit: `${head}${changes}`,
  };
}
