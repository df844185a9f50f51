// Burst benchmark (issue 16 point 3): `npm run bench:burst [-- --uploads 1000 --rows 100 --tree DIR,DIR --rounds 3 --results]`.
// One tenant uploads N files of R rows at once (at most --concurrency in flight) while polling the status summary,
// until every job has finished or --timeout-min has passed. Then it checks that nothing was lost (every job
// completed, processed rows sum to N × R, every SKU holds the stock of the last upload that has it) and reports
// wall time, job latency, status polls and queue invocations per job. Each --tree is a checkout whose Worker is
// measured (a `git worktree` at another commit); several run interleaved, round by round, each in a fresh state.
// The benchmark itself (this file, the keys, the checks) is the one of the checkout it is run from.
import { existsSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { scopes } from "../../src/auth/keys.ts";
import { createKey } from "../lib/keys.ts";
import { CSV_HEADER, csvLine, productCells } from "./data.ts";
import { count, dataDir, descendants, fixed, int, machine, machineBusyS, repoRoot, sleep, tomlValue, wrangler, WranglerDev, writeResults } from "./lib.ts";

const POLL_MS = 250;
const option = (value: string) => ({ type: "string", default: value }) as const;
const numbers = { uploads: option("1000"), rows: option("100"), overlap: option("10"), concurrency: option("32"), rounds: option("1"), "timeout-min": option("15") };
const { values: args } = parseArgs({ options: { ...numbers, tree: option(repoRoot), results: { type: "boolean", default: false } } });
const [uploads, rows, overlap, concurrency, rounds] = [args.uploads, args.rows, args.overlap, args.concurrency, args.rounds].map(count) as [number, number, number, number, number];
const trees = args.tree.split(",").map((t) => path.resolve(t));
const command = `npm run bench:burst${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
if (overlap >= rows) throw new Error(`--overlap ${overlap} must be below --rows ${rows}`);

// File j: its own SKUs B<j>-<r>, then `overlap` SKUs S<c>-<r> that every file j ≡ c (mod `apart`) shares; stock j.
// Sharing files are `apart` uploads apart, so one's 202 has come before the other's upload starts: the last wins.
const apart = 2 * concurrency;
const skuOf = (j: number, r: number) => (r < rows - overlap ? `B${j}-${r}` : `S${j % apart}-${r}`);
const files = Array.from({ length: uploads }, (_, j) =>
  [CSV_HEADER, ...Array.from({ length: rows }, (_, r) => csvLine(rows, r + 1, { ...productCells(rows, r + 1), sku: skuOf(j, r), stock: String(j) }))].join("\n"),
);

type Job = { status: string; processed_rows: number; error_count: number; queued_at: string | null; finished_at: string | null };
const newRun = (tree: string, label: string) => ({
  ...{ tree, commit: machine(tree).commit, label, problems: [] as string[], load: [os.loadavg()[0]!, 0], otherCpus: NaN, cpuS: NaN, wallS: NaN, acceptS: NaN },
  ...{ accepted: 0, completed: 0, uploadMs: [] as number[], latencies: [] as number[], polls: [[], []] as [number[], number[]], pollErrors: 0, invocations: 0, messages: 0, slices: 0 },
});
type Run = ReturnType<typeof newRun>;
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN);
const cpuOf = (pid: number) => descendants(pid).reduce((a, p) => a + p.cpuS, 0);

async function burst(tree: string, label: string): Promise<Run> {
  const [dir, state] = [path.join(dataDir, "burst"), path.join(dataDir, "burst", "state")];
  rmSync(state, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], tree);
  process.env.KEY_CLI_PERSIST_TO = state; // before wrangler dev opens the database: never two writers at once
  const auth = { authorization: `Bearer ${(await createKey("burst", scopes, "bench:burst", "local")).key}` };
  // At a log level above "log", wrangler drops the queue's batch lines and the consumer's slice lines.
  const server = await WranglerDev.start({ cwd: tree, persistTo: state, args: ["--log-level", "log"], log: path.join(dir, `wrangler-dev-${label}.log`) });
  const r = newRun(tree, label);
  const [busy0, ours0, self0] = [machineBusyS(), cpuOf(server.pid), process.cpuUsage()];
  const [started, accepted]: [number[], number[]] = [[], []];
  let [summary, uploading, done] = [{ completed: 0, failed: 0 }, true, false];
  const t0 = Date.now();
  const deadline = t0 + Number(args["timeout-min"]) * 60_000;
  try {
    const poller = (async () => {
      while (!done) {
        const p0 = performance.now();
        const res = await fetch(`${server.url}/api/v1/products/import/status`, { headers: auth, signal: AbortSignal.timeout(30_000) }).catch(() => null);
        if (res?.ok) summary = await res.json(), r.polls[uploading ? 0 : 1].push(performance.now() - p0);
        else r.pollErrors++, await res?.body?.cancel();
        await sleep(POLL_MS - (performance.now() - p0));
      }
    })();
    let next = 0;
    const uploader = async () => {
      for (let j = next++; j < uploads && Date.now() < deadline; j = next++) {
        started[j] = Date.now();
        const init = { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: files[j], signal: AbortSignal.timeout(120_000) };
        const res = await fetch(`${server.url}/api/v1/products/import?filename=burst-${j}.csv`, init).catch((e: Error) => e);
        const text = res instanceof Error ? res.message : await res.text();
        if (!(res instanceof Error) && res.status === 202) accepted[j] = Date.now(), r.uploadMs.push(accepted[j]! - started[j]!);
        else r.problems.push(`upload ${j}: ${res instanceof Error ? "" : res.status} ${text.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, uploader));
    uploading = false;
    r.accepted = accepted.filter(Boolean).length;
    r.acceptS = (Math.max(...accepted.filter(Boolean)) - t0) / 1000;
    console.log(`${label}: ${r.accepted}/${uploads} uploads accepted in ${fixed(r.acceptS, 1)} s; waiting for the jobs …`);
    while (summary.completed + summary.failed < r.accepted && Date.now() < deadline && !server.exited) await sleep(POLL_MS);
    done = true;
    await poller;

    const jobs: Job[] = [];
    for (let cursor: string | null = ""; cursor !== null; ) {
      const res = await fetch(`${server.url}/api/v1/products/import?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { headers: auth });
      const page = (await res.json()) as { data: Job[]; next_cursor: string | null };
      [cursor, jobs.length] = [page.next_cursor, jobs.push(...page.data)];
    }
    const time = (iso: string | null) => (iso ? Date.parse(iso) : NaN);
    const finished = jobs.filter((j) => j.finished_at);
    r.wallS = (Math.max(...finished.map((j) => time(j.finished_at))) - t0) / 1000;
    r.latencies = finished.map((j) => time(j.finished_at) - time(j.queued_at));
    r.completed = jobs.filter((j) => j.status === "completed").length;
    const processed = jobs.reduce((a, j) => a + j.processed_rows, 0);
    if (r.completed < uploads) r.problems.push(`${uploads - r.completed} of ${uploads} jobs not completed (${jobs.filter((j) => j.status === "failed").length} failed)`);
    if (processed !== uploads * rows) r.problems.push(`processed rows sum to ${int(processed)}, not ${int(uploads * rows)}`);
    const errors = jobs.reduce((a, j) => a + j.error_count, 0);
    if (errors) r.problems.push(`${errors} row errors`);

    // The queue's batch lines (one per invocation: "QUEUE <name> acked/total (ms)") may trail the last job a little.
    await sleep(1000);
    const queue = tomlValue(path.join(tree, "wrangler.toml"), "IMPORT_QUEUE_NAME") ?? "product-imports";
    let [retried, dead] = [0, 0];
    for (const line of server.lines()) {
      const q = / QUEUE (\S+) (\d+)\/(\d+)/.exec(line);
      if (q?.[1] === queue) r.invocations++, r.messages += Number(q[3]), retried += Number(q[3]) - Number(q[2]);
      else if (q) dead += Number(q[3]);
      else if (line.includes('"import slice"')) r.slices++;
    }
    if (retried || dead) r.problems.push(`${retried} message deliveries failed (retried), ${dead} dead-lettered`);
    if (!r.invocations) r.problems.push(`no "QUEUE ${queue}" batch lines in ${path.relative(repoRoot, server.log)}: invocations not counted`);
    if (server.reloads) r.problems.push(`wrangler dev reloaded the Worker ${server.reloads} time(s) (source files changed)`);
    if (server.notable.length) r.problems.push(`${server.notable.length} error/warning line(s) in ${path.relative(repoRoot, server.log)}, first: \`${server.notable[0]}\``);
    const self = process.cpuUsage(self0);
    r.cpuS = cpuOf(server.pid) - ours0;
    r.otherCpus = (machineBusyS() - busy0 - r.cpuS - (self.user + self.system) / 1e6) / ((Date.now() - t0) / 1000);
    r.load[1] = os.loadavg()[0]!;
    await server.stop();
    checkProducts(tree, state, started, accepted, r.problems);
  } catch (err) {
    r.problems.push(`error: ${(err as Error).message.slice(0, 300)}`);
  } finally {
    done = true;
    await server.stop();
  }
  return r;
}

/** Every accepted file's own SKUs hold its stock, and a shared SKU the stock of the file of its group accepted last. */
function checkProducts(tree: string, state: string, started: number[], accepted: number[], problems: string[]): void {
  const sql = "SELECT count(*) AS n FROM products; SELECT sku, stock FROM products WHERE sku LIKE 'S%' OR stock <> CAST(substr(sku, 2, instr(sku, '-') - 2) AS INTEGER)";
  const [total, odd] = JSON.parse(wrangler(["d1", "execute", "DB", "--local", "--persist-to", state, "--json", "--command", sql], tree)) as [{ results: [{ n: number }] }, { results: { sku: string; stock: number }[] }];
  const n = total.results[0].n;
  const stock = new Map(odd.results.map((p) => [p.sku, p.stock]));
  const members = Array.from({ length: Math.min(apart, uploads) }, (_, c) => Array.from({ length: uploads }, (_, j) => j).filter((j) => j % apart === c && accepted[j]));
  const own = accepted.filter(Boolean).length * (rows - overlap);
  const expected = own + members.filter((m) => m.length).length * overlap;
  let [stale, unordered] = [odd.results.filter((p) => p.sku.startsWith("B")).length, 0];
  for (const group of members.filter((m) => m.length)) {
    const last = group.at(-1)!;
    if (group.some((j) => j !== last && accepted[j]! >= started[last]!)) unordered++;
    else for (let r = rows - overlap; r < rows; r++) stale += stock.get(skuOf(last, r)) === last ? 0 : 1;
  }
  if (n !== expected) problems.push(`${int(n)} products, not ${int(expected)}`);
  if (stale) problems.push(`${stale} products do not hold the stock of the last accepted upload that has them`);
  if (unordered) problems.push(`${unordered} groups of files sharing SKUs were uploaded at the same time, so their last was not checked`);
}

function median(xs: number[]): number {
  const [sorted, m] = [[...xs].sort((a, b) => a - b), xs.length >> 1];
  return xs.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}
const treeName = (tree: string) => `tree ${trees.indexOf(tree) + 1}`;
const HEAD = ["round", "tree (commit)", "wall s", "uploads/s (202 p50 / max ms)", "job latency p50 / p95 / max ms", "status poll p50 / max ms while uploading; after", "queue invocations per job", "wrangler dev CPU s", "checks", "load avg", "other CPUs"];
const p50max = (xs: number[]) => `${int(pct(xs, 50))} / ${int(pct(xs, 100))}`;
const cells = (r: Run) => [
  r.label,
  `${treeName(r.tree)} (${r.commit})`,
  fixed(r.wallS, 1),
  `${fixed(r.accepted / r.acceptS, 1)} (${p50max(r.uploadMs)})`,
  [50, 95, 100].map((p) => int(pct(r.latencies, p))).join(" / "),
  `${r.polls.map((xs) => `${p50max(xs)} (${xs.length})`).join("; ")}${r.pollErrors ? `; ${r.pollErrors} failed` : ""}`,
  `${fixed(r.invocations / r.completed, 2)} (${r.messages !== r.invocations ? `${fixed(r.messages / r.completed, 2)} messages, ` : ""}${fixed(r.slices / r.completed, 2)} slices)`,
  fixed(r.cpuS, 1),
  r.problems.length === 0 ? "✅" : "❌",
  `${fixed(r.load[0], 2)} → ${fixed(r.load[1], 2)}`,
  fixed(r.otherCpus, 2),
];

async function main(): Promise<void> {
  for (const tree of trees) if (!existsSync(path.join(tree, "wrangler.toml")) || !existsSync(path.join(tree, "node_modules"))) throw new Error(`${tree}: no wrangler.toml or node_modules (ln -s ${repoRoot}/node_modules ${tree}/node_modules)`);
  const treeList = `Trees: ${trees.map((t) => `${treeName(t)} = ${t} (${machine(t).commit})`).join(", ")}`;
  console.log(treeList);
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Interleaved, and the order reversed every other round, so that neither tree always runs on a warmer machine.
    for (const tree of round % 2 ? trees : [...trees].reverse()) {
      const run = await burst(tree, `${round}-${trees.indexOf(tree) + 1}`);
      runs.push(run);
      console.log(`${HEAD.map((h, i) => `${h}: ${cells(run)[i]}`).join("; ")}${run.problems.map((p) => `\n  ! ${p}`).join("")}`);
    }
  }
  const medians = trees.map((t) => median(runs.filter((r) => r.tree === t).map((r) => r.wallS)));
  const ratios = trees.length > 1 ? `Median wall time per tree: ${trees.map((t, i) => `${treeName(t)} ${fixed(medians[i], 1)} s (${fixed(medians[i]! / medians[0]!, 2)} ×)`).join(", ")}.` : "";
  console.log(ratios);
  process.exitCode = runs.some((r) => r.problems.length) ? 1 : 0;
  if (!args.results) return;
  const md = [
    ...["## Burst", "", `- Date: ${new Date().toISOString()}`, `- Machine: ${machine(trees[0]).line}`, `- Command: \`${command}\``],
    `- ${treeList}`,
    `- ${int(uploads)} uploads of ${rows} rows (${rows - overlap} SKUs of their own, ${overlap} shared with every ${apart}th upload; stock = the upload's number), one tenant, ${concurrency} in flight, the status summary polled every ${POLL_MS} ms; a fresh wrangler dev and state per run`,
    ...["", `| ${HEAD.join(" | ")} |`, `| ${HEAD.map((_, i) => (i > 1 ? "---:" : "---")).join(" | ")} |`, ...runs.map((r) => `| ${cells(r).join(" | ")} |`), ""],
    ...(ratios ? [ratios, ""] : []),
    "To compare a change with the commit before it, from the change's checkout: `git worktree add --detach ../before <commit> && ln -s \"$PWD/node_modules\" ../before/node_modules`, then `npm run bench:burst -- --tree ../before,. --rounds 3 --results`. The trees run interleaved (the order reversed every other round), each in a fresh wrangler dev and state; compare the median wall times. Runs of the same Worker spread widely on this shared machine (other developers' tests), so use three rounds or more and look at the load columns.",
    "",
    "Wall: the first upload sent → the last job's finished_at. Uploads/s: uploads accepted (202) per second from the first sent to the last accepted; in brackets an upload's request time. Job latency: queued_at → finished_at. Status poll: `GET /api/v1/products/import/status` sent → body read, while uploads were still being sent and after (number of polls in brackets). Wrangler dev CPU: the CPU time of its processes (the Worker, local D1, R2 and Queues) during the run: less sensitive to other load than wall time, but it grows with a longer run too (each status poll costs some). Queue invocations: wrangler dev's `QUEUE <queue> acked/total` lines (one per consumer invocation, messages that did nothing included; locally a queue delivers one batch at a time) per completed job, and the consumer's \`import slice\` lines (slices that did work) per job. Checks: every job completed, their processed rows sum to uploads × rows, the product count is right and every SKU holds the stock of the last accepted upload that has it (read from local D1 after the run); no upload refused, no failed delivery, no error or warning in wrangler dev's output. Load avg: the 1-minute load average at the start → end of a run; other CPUs: what processes other than this benchmark and its wrangler dev used on average.",
    ...(runs.some((r) => r.problems.length) ? ["", "Problems:", "", ...runs.flatMap((r) => r.problems.map((p) => `- ${r.label}: ${p}`))] : []),
  ];
  writeResults("Burst", md.join("\n"));
  console.log(`\nWrote the "## Burst" section of scripts/bench/RESULTS.md.`);
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`bench:burst: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
