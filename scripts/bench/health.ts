// Event-loop benchmark: `npm run bench:health [-- --baseline <worktree>]` (README "Benchmarks").
// Imports adversarial files through `wrangler dev` while /health is polled every 100 ms (one request at a time), and
// reports the slowest /health answer while each job processes, and the job's duration. With --baseline, the same for
// the Worker of another worktree (the code before a change), in the same run, its figures first.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { scopes } from "../../src/auth/keys.ts";
import { createKey } from "../lib/keys.ts";
import { dataDir, int, machine, repoRoot, sleep, wrangler, WranglerDev, writeResults } from "./lib.ts";

const { values: args } = parseArgs({ options: { baseline: { type: "string" }, "timeout-s": { type: "string", default: "120" }, "no-results": { type: "boolean", default: false } } });
const timeoutMs = Number(args["timeout-s"]) * 1000;
const MIB = 1024 * 1024;

/** The files, each under the 1 MiB record limit per line: written once into .data/ and reused. */
const FILES = [
  { name: "commas.csv", type: "text/csv", what: "95 CSV rows of a million commas", head: "sku,name\n", rows: 95, line: () => `${",".repeat(1_000_000)}\n` },
  {
    ...{ name: "keys.ndjson", type: "application/x-ndjson", what: "95 NDJSON lines of 95,000 unknown keys", head: "", rows: 95 },
    line: (i: number) => `{"sku":"K-${i}",${Array.from({ length: 95_000 }, (_, k) => `"k${String(k).padStart(5, "0")}":1`).join(",")}}\n`,
  },
  { name: "price.csv", type: "text/csv", what: "50 CSV rows of a 1 MiB bad price (`.a` repeated, then `!`)", head: "sku,price\n", rows: 50, line: (i: number) => `P-${i},${".a".repeat(MIB / 2 - 16)}!\n` },
];

function ensureFile(f: (typeof FILES)[number]): string {
  const file = path.join(dataDir, "health", f.name);
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(`${file}.tmp`, "w");
  writeSync(fd, f.head);
  for (let i = 1; i <= f.rows; i++) writeSync(fd, f.line(i));
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** /health asked every 100 ms, one request at a time, until stopped. */
class HealthPoller {
  private answers: number[] = [];
  private asked: number | null = null;
  private stopped = false;
  private readonly done: Promise<void>;
  constructor(url: string) {
    this.done = (async () => {
      while (!this.stopped) {
        this.asked = performance.now();
        await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.text()).catch(() => undefined);
        const ms = performance.now() - this.asked;
        this.answers.push(ms);
        this.asked = null;
        await sleep(Math.max(0, 100 - ms));
      }
    })();
  }
  /** The slowest answer since the last mark() (a request still unanswered counts as waiting so far), and how many took over 200 ms. */
  health = () => {
    const slowest = Math.max(0, ...this.answers, this.asked === null ? 0 : performance.now() - this.asked);
    return { healthMs: slowest, over200: `${this.answers.filter((ms) => ms > 200).length} of ${this.answers.length}` };
  };
  mark = () => (this.answers = []);
  stop = () => ((this.stopped = true), this.done);
}

type Outcome = ReturnType<HealthPoller["health"]> & { status: string; jobMs: number | null; rows: string; load: number };

async function importWhilePolling(server: WranglerDev, key: string, f: (typeof FILES)[number]): Promise<Outcome> {
  const file = ensureFile(f);
  const auth = { authorization: `Bearer ${key}` };
  const poller = new HealthPoller(server.url);
  const t0 = performance.now();
  try {
    const response = await fetch(`${server.url}/api/v1/products/import?filename=${f.name}`, {
      ...{ method: "POST", duplex: "half", body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array> },
      headers: { ...auth, "content-type": f.type, "content-length": String(statSync(file).size) },
    } as RequestInit);
    // The job from its Location: a Worker that starts the job at once may not finish sending the body.
    await response.body?.cancel().catch(() => undefined);
    const outcome = (status: string, jobMs: number | null = null, rows = "") => ({ ...poller.health(), status, jobMs, rows, load: os.loadavg()[0]! });
    if (response.status !== 202) return outcome(`HTTP ${response.status}`);
    poller.mark(); // from the 202 on: the upload streaming into local R2 is not what is measured
    let job = { status: "no status answered", duration_ms: null as number | null, processed_rows: 0, rejected_rows: 0, skipped_rows: 0 };
    while (job.status !== "completed" && job.status !== "failed") {
      if (performance.now() - t0 > timeoutMs) return outcome(`not done after ${args["timeout-s"]} s: ${job.status}`);
      await sleep(250);
      const poll = await fetch(new URL(response.headers.get("location")!, server.url), { headers: auth, signal: AbortSignal.timeout(timeoutMs) }).catch(() => null);
      if (poll?.ok) job = await poll.json();
    }
    return outcome(job.status, job.duration_ms, `${job.processed_rows} rows: ${job.rejected_rows} rejected, ${job.skipped_rows} skipped`);
  } finally {
    await poller.stop();
  }
}

/** Every file imported through a fresh `wrangler dev` of the Worker in `tree`, with a state of its own. */
async function measure(tree: string, label: string): Promise<Outcome[]> {
  const state = path.join(dataDir, "health", `state-${label}`);
  rmSync(state, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], tree);
  process.env.KEY_CLI_PERSIST_TO = state;
  const { key } = await createKey("bench", scopes, "bench:health", "local");
  const server = await WranglerDev.start({ cwd: tree, persistTo: state, log: path.join(dataDir, "health", `wrangler-dev-${label}.log`) });
  const outcomes: Outcome[] = [];
  try {
    // The control: what /health answers on this machine, now, with no import running.
    const quiet = new HealthPoller(server.url);
    await sleep(10_000);
    outcomes.push({ ...quiet.health(), status: "no import", jobMs: null, rows: "", load: os.loadavg()[0]! });
    await quiet.stop();
    for (const f of FILES) {
      outcomes.push(await importWhilePolling(server, key, f));
      console.log(`${label} ${f.name}: ${JSON.stringify(outcomes.at(-1))}`);
      if (outcomes.at(-1)!.status !== "completed" && outcomes.at(-1)!.status !== "failed") break; // the runtime is still busy
    }
  } finally {
    await server.stop();
  }
  return outcomes;
}

async function main(): Promise<void> {
  const trees = [...(args.baseline ? [[path.resolve(args.baseline), "baseline"]] : []), [repoRoot, "current"]] as [string, string][];
  const results = [];
  for (const [tree, label] of trees) results.push({ tree, label, outcomes: await measure(tree, label) });
  const head = (tree: string) => execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: tree, encoding: "utf8" }).trim();
  const table = ["| Worker | import | slowest /health ms | answers > 200 ms | job ms | outcome | load average |", `| --- | --- |${" ---: |".repeat(3)} --- | ---: |`];
  for (const { tree, label, outcomes } of results) {
    for (const [i, o] of outcomes.entries()) {
      const what = i === 0 ? "none (10 s of /health alone)" : FILES[i - 1]!.what;
      table.push(`| ${label} (${head(tree)}) | ${what} | ${o.jobMs === null && i > 0 ? "≥ " : ""}${int(o.healthMs)} | ${o.over200} | ${int(o.jobMs)} | ${o.status}${o.rows && `; ${o.rows}`} | ${o.load.toFixed(1)} |`);
    }
  }
  console.log(table.join("\n"));
  if (args["no-results"]) return;
  const command = `npm run bench:health${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  writeResults("Event loop", ["## Event loop", "", `- Date: ${new Date().toISOString()}`, `- Machine: ${machine().line}`, `- Command: \`${command}\``, "- /health asked every 100 ms, one request at a time; slowest answer from the upload's 202 to the job's end. Target: within 200 ms.", "", ...table].join("\n"));
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`bench:health: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
