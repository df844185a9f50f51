// Node-side access to D1 through wrangler, so key admin and dev set-up work the same locally and remotely.
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..");
const wranglerBin = path.join(repoRoot, "node_modules", ".bin", "wrangler");

export type Target = "local" | "remote";

export function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function sqlValue(value: string | number | null): string {
  if (value === null) return "NULL";
  return typeof value === "number" ? String(value) : sqlText(value);
}

// KEY_CLI_PERSIST_TO points local commands at another state directory (the CLI's own tests use a temporary one).
const persistArgs = (target: Target) =>
  target === "local" && process.env.KEY_CLI_PERSIST_TO ? ["--persist-to", process.env.KEY_CLI_PERSIST_TO] : [];

/** Runs SQL on the DB binding and returns the rows of the last statement. */
export function d1Execute<T = Record<string, unknown>>(sql: string, target: Target): T[] {
  let out: string;
  try {
    out = execFileSync(wranglerBin, ["d1", "execute", "DB", `--${target}`, ...persistArgs(target), "--json", "--command", sql], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`wrangler d1 execute failed:\n${e.stderr || e.stdout || String(err)}`);
  }
  const results = JSON.parse(out) as { results: T[] }[];
  return results.at(-1)?.results ?? [];
}

export function runWrangler(args: string[], options: { inherit?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(wranglerBin, args, {
      cwd: repoRoot,
      stdio: options.inherit === false ? ["ignore", "ignore", "inherit"] : "inherit",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
