// Event-loop benchmark (issue 15 point 2): `npm run bench:health [-- --tree DIR,DIR --timeout-s 120 --results]`.
// Per --tree (a checkout whose Worker is measured; default this one), a fresh `wrangler dev`: /health alone for 10 s
// (the machine's own figure), then adversarial files imported one after the other while /health is asked every 100 ms
// (one request at a time). Reports the slowest /health answer from each upload's 202 to its job's end, and the job's
// duration. A job not done by --timeout-s ends that tree's run (its runtime is still busy).
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { scopes } from "../../src/auth/keys.ts";
import { createKey } from "../lib/keys.ts";
import { dataDir, int, machine, repoRoot, sleep, wrangler, WranglerDev, writeResults } from "./lib.ts";

const options = { tree: { type: "string", default: repoRoot }, "timeout-s": { type: "string", default: "120" }, results: { type: "boolean", default: false } } as const;
const { values: args } = parseArgs({ options });
const trees = args.tree.split(",").map((t) => path.resolve(t));
const timeoutMs = Number(args["timeout-s"]) * 1000;
const dir = path.join(dataDir, "health");
const HALF_MIB = 512 * 1024;

/** Each line under the 1 MiB record limit; written once into .data/health/ and reused. */
const FILES = [
  { name: "commas.csv", what: "95 CSV rows of a million commas", head: "sku,name\n", rows: 95, line: () => `${",".repeat(1_000_000)}\n` },
  { name: "keys.ndjson", what: "95 NDJSON lines of 95,000 unknown keys", head: "", rows: 95, line: (i: number) => `{"sku":"K-${i}",${Array.from({ length: 95_000 }, (_, k) => `"k${k}":1`).join(",")}}\n` },
  { name: "price.csv", what: "50 CSV rows of a 1 MiB bad price (`.a` repeated, then `!`)", head: "sku,price\n", rows: 50, line: (i: number) => `P-${i},${".a".repeat(HALF_MIB - 16)}!\n` },
];

function ensureFile(f: (typeof FILES)[number]): string {
  const file = path.join(dir, f.name);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const fd = openSync(`${file}.tmp`, "w");
  writeSync(fd, f.head);
  for (let i = 1; i <= f.rows; i++) writeSync(fd, f.line(i));
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** /health asked every 100 ms, one request at a time, until stopped. */
function pollHealth(url: string) {
  let answers: number[] = [];
  let asked: number | null = null;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      asked = performance.now();
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.text()).catch(() => undefined);
      const ms = performance.now() - asked;
      answers.push(ms);
      asked = null;
      await sleep(Math.max(0, 100 - ms));
    }
  })();
  return {
    /** The slowest answer since the last mark(), and how many took over 200 ms; one still awaited counts as waiting so far. */
    health: () => {
      const waits = asked === null ? answers : [...answers, performance.now() - asked];
      return { healthMs: Math.max(0, ...waits), over200: `${waits.filter((ms) => ms > 200).length} of ${waits.length}` };
    },
    mark: () => void (answers = []),
    stop: () => ((stopped = true), done),
  };
}

type Outcome = ReturnType<ReturnType<typeof pollHealth>["health"]> & { what: string; jobMs: number | null; outcome: string; load: number };

async function importWhilePolling(server: WranglerDev, key: string, f: (typeof FILES)[number]): Promise<Outcome> {
  const [file, auth, poller, t0] = [ensureFile(f), { authorization: `Bearer ${key}` }, pollHealth(server.url), performance.now()];
  const outcome = (text: string, jobMs: number | null = null) => ({ ...poller.health(), what: f.what, jobMs, outcome: text, load: os.loadavg()[0]! });
  try {
    const response = await fetch(`${server.url}/api/v1/products/import?filename=${f.name}`, {
      ...{ method: "POST", duplex: "half", body: Readable.toWeb(createReadStream(file)) },
      headers: { ...auth, "content-type": f.name.endsWith(".csv") ? "text/csv" : "application/x-ndjson", "content-length": String(statSync(file).size) },
    } as RequestInit);
    // The job is followed at its Location: a Worker busy with it at once may not finish sending the body.
    await response.body?.cancel().catch(() => undefined);
    if (response.status !== 202) return outcome(`HTTP ${response.status}`);
    poller.mark(); // from the 202 on: the upload streaming into local R2 is not what is measured
    let job = { status: "no status answered", duration_ms: null as number | null, processed_rows: 0, rejected_rows: 0, skipped_rows: 0 };
    while (job.status !== "completed" && job.status !== "failed") {
      if (performance.now() - t0 > timeoutMs) return outcome(`not done after ${args["timeout-s"]} s: ${job.status}`);
      await sleep(250);
      const poll = await fetch(new URL(response.headers.get("location")!, server.url), { headers: auth, signal: AbortSignal.timeout(timeoutMs) }).catch(() => null);
      if (poll?.ok) job = await poll.json();
    }
    return outcome(`${job.status}; ${job.processed_rows} rows: ${job.rejected_rows} rejected, ${job.skipped_rows} skipped`, job.duration_ms);
  } finally {
    await poller.stop();
  }
}

async function measure(tree: string, label: string): Promise<Outcome[]> {
  const state = path.join(dir, `state-${label}`);
  rmSync(state, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], tree);
  process.env.KEY_CLI_PERSIST_TO = state;
  const { key } = await createKey("bench", scopes, "bench:health", "local");
  const server = await WranglerDev.start({ cwd: tree, persistTo: state, log: path.join(dir, `wrangler-dev-${label}.log`) });
  try {
    const quiet = pollHealth(server.url);
    await sleep(10_000);
    const outcomes: Outcome[] = [{ ...quiet.health(), what: "none: /health alone for 10 s", jobMs: null, outcome: "", load: os.loadavg()[0]! }];
    await quiet.stop();
    for (const f of FILES) {
      outcomes.push(await importWhilePolling(server, key, f));
      console.log(`${label}: ${JSON.stringify(outcomes.at(-1))}`);
      if (outcomes.at(-1)!.jobMs === null) break;
    }
    return outcomes;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const table = ["| tree (commit) | import | slowest /health ms | answers > 200 ms | job ms | job | load avg |", "| --- | --- | ---: | ---: | ---: | --- | ---: |"];
  for (const [i, tree] of trees.entries()) {
    for (const o of await measure(tree, `tree-${i + 1}`)) {
      table.push(`| tree ${i + 1} (${machine(tree).commit}) | ${o.what} | ${int(o.healthMs)} | ${o.over200} | ${int(o.jobMs)} | ${o.outcome} | ${o.load.toFixed(1)} |`);
    }
  }
  console.log(table.join("\n"));
  if (!args.results) return;
  const command = `npm run bench:health${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const treeList = `Trees: ${trees.map((t, i) => `tree ${i + 1} = ${t} (${machine(t).commit})`).join(", ")}`;
  writeResults("Event loop", ["## Event loop", "", `- Date: ${new Date().toISOString()}`, `- Machine: ${machine(trees[0]).line}`, `- Command: \`${command}\``, `- ${treeList}`, "", ...table].join("\n"));
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`bench:health: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
