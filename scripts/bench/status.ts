// Status-route benchmark: `npm run bench:status [-- --sizes 1000,10000]` (README "Benchmarks").
// Per size (jobs of one tenant, plus other tenants' jobs): a seeded local D1 state (status-seed.ts); two
// `wrangler dev` side by side: the real worker and the bench Worker. The real route's answer is checked against the
// seed, the bench Worker's batch must answer the same body, the query plans must use the indexes. Then, in interleaved
// rounds, each variant at each concurrency (the real route; the same batch without the key check; the old aggregate
// over the jobs, kept as the baseline; the route's no-database floor, the same request without a key; one local D1
// round trip; the bare runtime floor); a cell measured while other processes kept the CPUs
// busy or src/ changed is left out when a cleaner round exists. Last, with no wrangler running, the same statements in
// raw SQLite. The table and targets; the `## Status` section of RESULTS.md.
import { readdirSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cmdline, count, dataDir, type Engine, fixed, int, machine, machineBusyS, processes, repoRoot, runSqlite, sleep, sqliteEngines, tomlValue, workerConfig, WranglerDev, writeResults } from "./lib.ts";
import { NOISE_RATIO, prepareState, type Seed } from "./status-seed.ts";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000,1000000" },
    concurrency: { type: "string", default: "1,32" },
    duration: { type: "string", default: "3" },
    requests: { type: "string", default: "2000" },
    rounds: { type: "string", default: "2" },
    fresh: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    "max-minutes": { type: "string", default: "40" },
  },
});
const list = (s: string) => [...new Set(s.split(",").filter(Boolean).map(count))].sort((a, b) => a - b);
const sizes = list(args.sizes);
const concurrencies = list(args.concurrency);
const [durationMs, maxRequests, rounds] = [count(args.duration) * 1000, count(args.requests), count(args.rounds)];
const [WARMUP_MS, MIN_REQUESTS, MAX_CELL_MS] = [1000, 20, 60_000];
/** Other processes' CPUs above which a cell waits (at most QUIET_WAIT_MS, 180 s in all) and counts as disturbed. */
const QUIET_CPUS = 0.5;
const QUIET_WAIT_MS = 15_000;
let quietBudgetMs = 180_000;
/** A warm-up at concurrency c costs a wave of c requests; when c × the c=1 p50 passes this, the c=1 cell before warmed enough. */
const LONG_WAVE_MS = 10_000;
const STATUS_PATH = "/api/v1/products/import/status";
const stateRoot = path.join(dataDir, "status");
const started = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}`);
setTimeout(() => (console.error(`bench:status: over the ${args["max-minutes"]}-minute limit`), process.exit(3)), Number(args["max-minutes"]) * 60_000).unref();

const VARIANTS = {
  route: "real route (`GET /api/v1/products/import/status`: key check + counters + rollups + recent 5, one batch)",
  batch: "batch, tenant given (counters + rollups + recent 5, one batch, no key check)",
  aggregate: "baseline: the old aggregate (grouped COUNT/SUM over the tenant's jobs + recent 5, one batch, tenant given)",
  nodb: "the route's no-database floor: the real route without a key (the same Worker and middleware, 401 before any database call)",
  one: "one D1 call doing no work (SELECT 1) in the bench Worker: local D1's round trip",
  floor: "bare runtime floor: the bench Worker answering a constant (no database, no assets router, no middleware)",
};
type Variant = keyof typeof VARIANTS;

type Cell = { c: number; samples: number[]; seconds: number; failures: string[]; otherCpus: number; disturbed: boolean; rounds: string };
type Raw = { engine: Engine; groups: Record<string, { medianMs: number; p10Ms: number; p90Ms: number; each: Record<string, number>; rows: Record<string, number> }> };
type SizeResult = { jobs: number; seed: Seed | null; cells: Partial<Record<Variant, Record<number, Cell>>>; raw: Raw[]; plans: Record<string, string[]>; problems: string[]; notes: string[] };

// ---- measuring

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const p50 = (c: Cell | undefined) => (c ? pct(c.samples, 0.5) : undefined);
const rps = (c: Cell | undefined) => (c ? c.samples.length / c.seconds : undefined);

/** The headers of each request of a cell. */
type Headers = () => Record<string, string>;

/** The tenant's keys in turn, each request the next: within each key's request budget however fast the route is. */
function keysInTurn(keys: string[]): Headers {
  let next = 0;
  return () => ({ authorization: `Bearer ${keys[next++ % keys.length]}` });
}

/** Closed loop: `c` keep-alive connections, each sending its next GET when the previous body has arrived. */
async function load(url: URL, headers: Headers, c: number, ms: number, status = 200): Promise<Omit<Cell, "otherCpus" | "disturbed" | "rounds">> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const [samples, failures, t0]: [number[], string[], number] = [[], [], performance.now()];
  let [issued, end] = [0, t0];
  const get = () =>
    new Promise<string | null>((resolve) => {
      const req = http.get(url, { headers: headers(), agent }, (res) => res.resume().on("end", () => resolve(res.statusCode === status ? null : `HTTP ${res.statusCode}`)));
      req.setTimeout(120_000, () => req.destroy(new Error("no answer in 120 s"))).on("error", (e) => resolve(String(e)));
    });
  const more = () => issued < Math.max(maxRequests, c) && performance.now() - t0 < MAX_CELL_MS && (performance.now() - t0 < ms || issued < Math.max(MIN_REQUESTS, c));
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (more() && failures.length < 3) {
        issued++;
        const s = performance.now();
        const failure = await get();
        end = Math.max(end, performance.now());
        if (failure) failures.push(failure);
        else samples.push(performance.now() - s);
      }
    }),
  );
  agent.destroy();
  return { c, samples: samples.sort((a, b) => a - b), seconds: (end - t0) / 1000, failures };
}

/** Busy CPU seconds of the machine, and of this process and the measured worker's process group. */
function cpuSnapshot(pgid: number) {
  const ours = processes().reduce((a, p) => (p.pgrp === pgid ? a + p.cpuS : a), 0) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  return { at: performance.now(), machine: machineBusyS(), ours };
}
const otherCpus = (a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>) => Math.max(0, (b.machine - a.machine - (b.ours - a.ours)) / ((b.at - a.at) / 1000));

/** Newest mtime and count of src/ files: every worker reloads when one changes, and one at --log-level warn does not say so. */
function sourceStamp(): string {
  const files = readdirSync(path.join(repoRoot, "src"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return `${files.length}:${Math.max(...files.map((e) => statSync(path.join(e.parentPath, e.name), { throwIfNoEntry: false })?.mtimeMs ?? 0))}`;
}

async function cell(server: WranglerDev, url: URL, headers: Headers, c: number, warm: boolean, status: number): Promise<Cell> {
  for (let waited = 0; waited < Math.min(QUIET_WAIT_MS, quietBudgetMs); waited += 500) {
    const a = cpuSnapshot(server.pid);
    await sleep(500);
    if (otherCpus(a, cpuSnapshot(server.pid)) < QUIET_CPUS) break;
    if (waited > 0) quietBudgetMs -= 500;
  }
  if (warm) await load(url, headers, c, WARMUP_MS, status);
  server.lines();
  const [before, stamp, reloads] = [cpuSnapshot(server.pid), sourceStamp(), server.reloads];
  const r = await load(url, headers, c, durationMs, status);
  const other = otherCpus(before, cpuSnapshot(server.pid));
  server.lines();
  return { ...r, otherCpus: other, disturbed: other >= QUIET_CPUS || server.reloads > reloads || sourceStamp() !== stamp, rounds: "" };
}

/** A figure pools the rounds measured quietly; without any, it is the least disturbed round alone. */
function chooseRounds(cells: Cell[]): Cell {
  const clean = cells.filter((x) => !x.disturbed);
  const chosen = clean.length ? clean : [[...cells].sort((a, b) => a.otherCpus - b.otherCpus)[0]!];
  return {
    c: cells[0]!.c,
    samples: chosen.flatMap((x) => x.samples).sort((a, b) => a - b),
    seconds: chosen.reduce((a, x) => a + x.seconds, 0),
    failures: chosen.flatMap((x) => x.failures),
    otherCpus: Math.max(...chosen.map((x) => x.otherCpus)),
    disturbed: !clean.length,
    rounds: chosen.length === cells.length ? "all" : `${chosen.length} of ${cells.length}${clean.length ? "" : ", least disturbed"}`,
  };
}

async function measureSize(jobs: number, engines: Engine[]): Promise<SizeResult> {
  const result: SizeResult = { jobs, seed: null, cells: {}, raw: [], plans: {}, problems: [], notes: [] };
  log(`${int(jobs)} jobs: seeding`);
  const state = path.join(stateRoot, `jobs-${jobs}`);
  const seed = (result.seed = await prepareState(state, jobs, args.fresh));
  result.notes.push(`database ${int(seed.dbBytes / 2 ** 20)} MB, ${seed.reused ? "seeded state reused" : "seeded"}`);
  const others = processes().filter((p) => p.pid !== process.pid && /workerd serve|wrangler.* dev|vitest/.test(cmdline(p.pid))).length;
  if (others) result.notes.push(`${others} other workerd/wrangler/vitest process(es) at the start`);
  const logFile = (name: string) => path.join(stateRoot, `${name}-${jobs}.log`);
  const servers = await Promise.all([
    WranglerDev.start({ persistTo: seed.dirs.real, log: logFile("real") }),
    WranglerDev.start({ persistTo: seed.dirs.bench, log: logFile("bench"), config: workerConfig }),
  ]);
  const [real, bench] = servers;
  let statements: Record<string, { name: string; sql: string; params: unknown[] }[]> | null = null;
  try {
    const auth = { authorization: `Bearer ${seed.keys[0]}` };
    const q = `tenant=${encodeURIComponent(seed.tenantId)}&hash=${seed.keyHash}`;
    const get = async (server: WranglerDev, p: string, headers = {}) => {
      const r = await fetch(`${server.url}${p}`, { headers, signal: AbortSignal.timeout(120_000) });
      if (!r.ok) throw new Error(`${p} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
      return r.text();
    };
    // Correctness first: the seeded figures, identical bodies, the indexes and the plans.
    const body = await get(real, STATUS_PATH, auth);
    const got = JSON.parse(body) as Record<string, unknown> & { last_jobs: { id: string }[] };
    const wrong = Object.entries(seed.expected).filter(([k, v]) => JSON.stringify(k === "last_ids" ? got.last_jobs.map((j) => j.id) : got[k]) !== JSON.stringify(v));
    if (wrong.length) result.problems.push(`status answer differs from the seed in ${wrong.map(([k]) => k).join(", ")}`);
    statements = JSON.parse(await get(bench, `/sql?${q}`));
    result.plans = JSON.parse(await get(bench, `/plan?${q}`));
    // The route's statements: no scan of the jobs, no sort; the counters read through their primary key, nothing of import_jobs.
    const badPlans = Object.entries(result.plans).filter(([k, steps]) => !k.startsWith("aggregate.") && steps.some((s) => /SCAN import_jobs|TEMP B-TREE/.test(s)));
    if (result.plans["route.counters"]?.some((s) => /import_jobs\b/.test(s))) badPlans.push(["route.counters", ["reads import_jobs"]]);
    if (badPlans.length) result.problems.push(`query plan not as the route expects: ${badPlans.map(([k, s]) => `${k}: ${s.join(" → ")}`).join("; ")}`);
    const none: Headers = () => ({});
    const endpoints: [Variant, WranglerDev, string, Headers][] = [
      ["route", real, STATUS_PATH, keysInTurn(seed.keys)],
      ["batch", bench, `/batch?${q}`, none],
      ["aggregate", bench, `/aggregate?${q}`, none],
      ["nodb", real, STATUS_PATH, none],
      ["one", bench, "/one", none],
      ["floor", bench, "/floor", none],
    ];
    // The same answer but for the queued job's age, which moves with the clock.
    const ageless = (text: string) => text.replace(/"oldest_queued_age_ms":(\d+|null)/, "");
    if (ageless(await get(bench, `/batch?${q}`)) !== ageless(body)) result.problems.push("batch answers another body than the real route");

    // Interleaved rounds, the order reversed every other round.
    const runs = new Map<string, Cell[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of concurrencies) {
        for (const [variant, server, p, headers] of round % 2 ? [...endpoints].reverse() : endpoints) {
          const c1 = p50(runs.get(`${variant}@1`)?.at(-1));
          const warm = !(c > 1 && c1 !== undefined && c1 * c > LONG_WAVE_MS);
          const r = await cell(server, new URL(p, server.url), headers, c, warm, variant === "nodb" ? 401 : 200);
          runs.set(`${variant}@${c}`, [...(runs.get(`${variant}@${c}`) ?? []), r]);
          console.log(
            `    round ${round + 1} ${variant.padEnd(18)} c=${String(c).padEnd(3)} p50 ${fixed(p50(r), 2).padStart(9)} ms  p99 ${fixed(pct(r.samples, 0.99), 2).padStart(9)} ms  ` +
              `${fixed(rps(r), 0).padStart(6)} req/s  other load ${r.otherCpus.toFixed(2)}${r.disturbed ? " (disturbed)" : ""}${warm ? "" : " (no warm-up: long wave)"}`,
          );
          if (r.failures.length) result.problems.push(`${variant} c=${c}: failed requests (${r.failures[0]})`);
        }
      }
    }
    for (const [variant] of endpoints) result.cells[variant] = Object.fromEntries(concurrencies.map((c) => [c, chooseRounds(runs.get(`${variant}@${c}`)!)]));
    for (const [name, s] of [["real worker", real], ["bench worker", bench]] as const) {
      if (s.reloads) result.notes.push(`${name} printed ${s.reloads} reload(s) (other engineers edit src/)`);
      for (const line of s.notable.slice(0, 3)) result.notes.push(`${name} log: \`${line.trim().slice(0, 200)}\``);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  for (const engine of statements ? engines : []) {
    const onDb = runSqlite<Raw>(engine, { task: "time", file: seed.dbFile, groups: statements! });
    result.raw.push({ engine, groups: onDb.groups });
    if (onDb.groups.direct?.rows.recent !== Math.min(5, jobs)) result.problems.push(`raw SQLite (${engine.label}) found ${onDb.groups.direct?.rows.recent} recent jobs`);
    log(`  raw ${engine.label}: counters + rollups + recent ${fixed(onDb.groups.direct?.medianMs, 2)} ms, old aggregate + recent ${fixed(onDb.groups.aggregate?.medianMs, 2)} ms`);
  }
  for (const p of result.problems) log(`  ⚠ ${p}`);
  return result;
}

// ---- report

function targets(results: SizeResult[]): [boolean | null, string, string][] {
  const measured = results.filter((s) => p50(s.cells.route?.[1]) !== undefined);
  const [small, large] = [measured[0], measured.at(-1)];
  const at = (s: SizeResult | undefined, v: Variant) => p50(s?.cells[v]?.[1]);
  const [routeSmall, routeLarge, nodbLarge, floorLarge, oneLarge] = [at(small, "route"), at(large, "route"), at(large, "nodb"), at(large, "floor"), at(large, "one")];
  const two = small !== undefined && large !== undefined && small !== large;
  const baseline = measured.map((s) => `${int(s.jobs)}: route ${fixed(at(s, "route"), 1)} ms, old aggregate ${fixed(at(s, "aggregate"), 1)} ms`);
  const ratio = (a: number | undefined, b: number | undefined, what: string) =>
    a !== undefined && b !== undefined ? `${fixed(a, 2)} ms vs ${what} ${fixed(b, 2)} ms (ratio ${fixed(a / b, 2)}×)` : "not measured";
  return [
    [
      two ? routeLarge! <= 1.5 * routeSmall! : null,
      `p50 at ${int(large?.jobs)} jobs ≤ 1.5 × p50 at ${int(small?.jobs)} jobs (real route, c=1)`,
      two ? ratio(routeLarge, routeSmall, `${int(small?.jobs)} jobs`) : "fewer than two sizes measured",
    ],
    [
      routeLarge !== undefined && nodbLarge !== undefined ? routeLarge <= 2 * nodbLarge : null,
      `p50 at ${int(large?.jobs)} jobs ≤ 2 × the route's no-database floor (the same request without a key, c=1)`,
      ratio(routeLarge, nodbLarge, "no-database floor"),
    ],
    [
      null,
      "for comparison, the bare runtime floor (a Worker without assets or middleware answering a constant) and one local D1 round trip",
      `${ratio(routeLarge, floorLarge, "bare floor")}; one D1 call doing no work ${fixed(oneLarge, 2)} ms`,
    ],
    [null, "for comparison, the old aggregate (baseline) at c=1", baseline.join("; ") || "not measured"],
  ];
}

function report(results: SizeResult[], engines: Engine[], notes: string[], machineLine: string): void {
  const t = targets(results).map(([met, text, why]) => `- ${met === null ? "ℹ️" : met ? "✅ met" : "❌ not met"}: ${text} — ${why}`);
  const head = ["jobs (+ other tenants')", "variant", ...concurrencies.flatMap((c) => [`c=${c} p50`, `c=${c} p99`, `c=${c} req/s`]), "other load"];
  const md = [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`];
  for (const s of results) {
    const label = `${int(s.jobs)} (+ ${int(s.seed?.noiseJobs)})`;
    for (const v of Object.keys(VARIANTS) as Variant[]) {
      const cells = s.cells[v];
      if (!cells) continue;
      const partial = Object.values(cells).filter((c) => c.rounds !== "all").map((c) => `c=${c.c}: ${c.rounds}`);
      const figures = concurrencies.flatMap((c) => [fixed(p50(cells[c]), 2), fixed(cells[c] && pct(cells[c].samples, 0.99), 2), fixed(rps(cells[c]), 0)]);
      md.push(`| ${label} | ${VARIANTS[v]} | ${figures.join(" | ")} | ${fixed(Math.max(...Object.values(cells).map((c) => c.otherCpus)), 2)}${partial.length ? ` (${partial.join("; ")})` : ""} |`);
    }
    const raw = s.raw[0];
    if (raw) md.push(`| ${label} | raw SQLite, the batch's three statements (${raw.engine.label}): median ms, no HTTP/Worker/D1 | ${fixed(raw.groups.direct?.medianMs, 2)} |${" |".repeat(concurrencies.length * 3)}`);
    if (s.problems.length) md.push(`| ${label} | ⚠ ${s.problems.join("; ").replace(/\|/g, "\\|")} |${" |".repeat(concurrencies.length * 3 + 1)}`);
  }
  console.log(`\n${md.join("\n")}\n\n${t.join("\n")}`);
  if (args["no-write"]) return;
  const range = (g: Raw["groups"][string] | undefined) => (g ? `${fixed(g.medianMs, 2)} (${fixed(g.p10Ms, 2)}–${fixed(g.p90Ms, 2)})` : "–");
  const last = results.filter((s) => s.plans["route.counters"]).at(-1);
  const plan = (key: string) => (last?.plans[key] ?? []).map((s) => `\`${s}\``).join(" → ") || "–";
  const rawHead = ["jobs", "engine", "counters + rollups + recent 5", "counters", "rollups", "recent 5", "the route's 4 statements (key + key-subquery forms)", "baseline: old aggregate + recent 5", "old aggregate"];
  const section = [
    ...["## Status", ""],
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machineLine}`,
    `- Command: \`npm run bench:status${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\``,
    `- Raw SQLite: ${engines.map((e) => `${e.label} (SQLite ${e.sqlite}, Node ${e.nodeVersion})`).join("; the second as a cross-check: ") || "none"}`,
    `- Settings: ${rounds} interleaved round(s) per size; a figure pools the rounds measured quietly (other load < ${QUIET_CPUS} CPUs, src/ unchanged and no reload meanwhile), ` +
      `else it is the least disturbed round; before each cell a wait (≤ ${QUIET_WAIT_MS / 1000} s) while other processes use ≥ ${QUIET_CPUS} CPUs; per cell ${WARMUP_MS / 1000} s warm-up, ` +
      `then ${durationMs / 1000} s or ${maxRequests} requests (whichever first; at least ${MIN_REQUESTS} and the concurrency, at most ${MAX_CELL_MS / 1000} s; a c>1 cell skips its warm-up ` +
      `when c × its c=1 p50 exceeds ${LONG_WAVE_MS / 1000} s); other tenants' jobs ${NOISE_RATIO} per job in 20 tenants; total run ${((Date.now() - started) / 60_000).toFixed(1)} min`,
    "",
    "Latency in ms (request sent → body received), throughput in requests/s, closed loop on keep-alive connections. Other load: the most CPUs that processes other than this benchmark's used during any cell of the row (other engineers' tests and benchmarks share the machine; 0 is quiet) in the rounds the figures are made of; in brackets when not all rounds are.",
    ...["", ...md, "", "Raw SQLite, median of repeated runs in ms (p10–p90), on the benchmark's own database file after the workers stopped:", ""],
    ...[`| ${rawHead.join(" | ")} |`, `| ${rawHead.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`],
    ...results.flatMap((s) =>
      s.raw.map((r) => {
        const d = r.groups.direct;
        return `| ${int(s.jobs)} | ${r.engine.label}, SQLite ${r.engine.sqlite}, Node ${r.engine.nodeVersion} | ${range(d)} | ${fixed(d?.each.counters, 2)} | ${fixed(d?.each.rollups, 2)} | ${fixed(d?.each.recent, 2)} | ${range(r.groups.route)} | ${range(r.groups.aggregate)} | ${fixed(r.groups.aggregate?.each.aggregate, 2)} |`;
      }),
    ),
    ...["", "Targets:", "", ...t, ""],
    `Query plans (EXPLAIN QUERY PLAN through D1, i.e. workerd's SQLite, at ${int(last?.jobs)} jobs; no ANALYZE, as migrations leave it):`,
    "",
    `- route key: ${plan("route.key")}`,
    `- route counters: ${plan("route.counters")}`,
    `- route rollups: ${plan("route.rollups")}`,
    `- route recent: ${plan("route.recent")}`,
    `- baseline, old aggregate: ${plan("aggregate.aggregate")}`,
    results.every((s) => JSON.stringify(s.plans) === JSON.stringify(last?.plans)) ? "- the same plans at every size run" : "- ⚠ the plans differ between sizes (see the console output)",
    ...["", "How it was measured:", ""],
    "- Each size has its own local D1 state: migrations applied by `wrangler d1 migrations apply`, then the SQLite file filled directly (one tenant's jobs: ~80% completed, 10% failed, 4% processing, 3% queued, 3% pending, realistic error counts and times, created_at increasing over 29 days with ~3% ties; other tenants' jobs interleaved as noise). No ANALYZE.",
    "- Real route: `wrangler dev` of the repo's wrangler.toml, `GET /api/v1/products/import/status` with a Bearer key (scope imports:read): the key check, the counters, the rollups (recent durations, oldest queued job) and the newest 5 jobs in one D1 batch. The answer is checked once against the seeded figures; the batch variant's body must equal the real route's byte for byte (but for oldest_queued_age_ms, which moves with the clock).",
    "- The route's no-database floor: the same request to the real worker without a key, answered 401 by the route's own middleware before any database call. It pays everything the route pays but D1: the assets router that `[assets]` puts in front of the Worker (a local hop of its own), the request context and its log line, the route's validation.",
    "- Batch, baseline, one D1 call and the bare floor: the bench Worker `scripts/bench/worker/index.mts` (DB a byte copy of the same seeded file; no assets, no middleware) running the route's query builders and response building. The baseline is the summary as it was before the counters: a grouped COUNT/SUM over the tenant's jobs (covering index `import_jobs_tenant_summary`) and the newest 5, one batch.",
    "- The two workers (real; bench) run at the same time, each on its own byte copy of the seeded file; one is measured while the other idles. Cells are interleaved in rounds (the variant order reversed every other round). Both stop before the raw SQLite timing.",
    ...["", "Notes:", "", ...notes.map((n) => `- ${n}`)],
  ];
  writeResults("Status", section.join("\n"));
  console.log("wrote the Status section of scripts/bench/RESULTS.md");
}

// ---- main

for (const key of ["compatibility_date", "compatibility_flags", "database_name", "database_id"]) {
  if (tomlValue(path.join(repoRoot, "wrangler.toml"), key) !== tomlValue(workerConfig, key)) throw new Error(`scripts/bench/worker/wrangler.toml and wrangler.toml differ in ${key}`);
}
const { line } = machine();
const machineLine = `${line}; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`;
log(`bench:status: sizes ${sizes.join(", ")}; concurrency ${concurrencies.join(", ")}; ${machineLine}`);
const { engines, notes } = sqliteEngines();
const results: SizeResult[] = [];
for (const jobs of sizes) {
  try {
    results.push(await measureSize(jobs, engines));
  } catch (err) {
    console.error(`  ✘ ${jobs} jobs: ${(err as Error).stack}`);
    results.push({ jobs, seed: null, cells: {}, raw: [], plans: {}, problems: [`failed: ${(err as Error).message.split("\n")[0]}`], notes: [] });
  }
}
// wrangler dev of the bench Worker bundles into a .wrangler/ beside its config.
rmSync(path.join(path.dirname(workerConfig), ".wrangler"), { recursive: true, force: true });
notes.push(...results.flatMap((s) => s.notes.map((n) => `${int(s.jobs)} jobs: ${n}`)), `wrangler logs and seeded states: ${path.relative(repoRoot, stateRoot)}/ (git-ignored)`);
report(results, engines, notes, machineLine);
process.exit(results.some((r) => r.problems.length) ? 1 : 0);
