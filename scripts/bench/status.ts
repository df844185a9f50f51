// Status-route benchmark: `npm run bench:status [-- --sizes 1000,10000 …]`
//
// For each size (jobs of one tenant; default 1k, 10k, 100k, 1M, plus 20% other tenants' jobs as noise):
// 1. Seeds a local D1 state of its own (scripts/bench/status/seed.ts; reused when unchanged, --fresh to redo):
//    one seeded SQLite file, byte-copied into one `--persist-to` directory per worker.
// 2. Starts three `wrangler dev` on 127.0.0.1, side by side: the real worker (repo-root wrangler.toml), the real
//    worker again with `--log-level warn`, and the bench-only worker (scripts/bench/status/wrangler.toml).
// 3. Checks the real route's answer against the seeded figures, that every bench variant answers the same body
//    byte for byte, the indexes and the query plans (EXPLAIN QUERY PLAN through D1).
// 4. Measures, in interleaved rounds, each variant at each concurrency (default 1 and 32): the real route
//    GET /api/v1/products/import/status, /batch (tenant given, no key check), /two-calls (a),
//    /no-covering-index (b) and /floor (no database). Cells measured while other processes kept the CPUs busy,
//    or while src/ changed under the workers, are left out when a cleaner round exists.
// 5. Stops the workers, then times the same statements in raw SQLite (better-sqlite3; node:sqlite as a cross-check).
// Then prints the table and writes the `## Status` section of scripts/bench/RESULTS.md (other sections kept).
//
// Every wrangler started here runs in its own process group and is killed on exit, error, Ctrl-C and at the
// global time limit (--max-minutes). Every measuring loop is bounded in requests and time.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeMachine } from "./lib/machine.ts";
import { cmdline, processes } from "./lib/proc.ts";
import { writeResultsSection } from "./lib/results-md.ts";
import { killAllNow, repoRoot, tomlValue } from "./lib/wrangler-dev.ts";
import { foreignCpus, snapshot, waitForQuiet } from "./status/cpu.ts";
import { DevServer, freePort, probe } from "./lib/dev-server.ts";
import { pool, runLoad } from "./status/load.ts";
import { findEngines, timeRaw, type RawResult, type Statement } from "./status/raw.ts";
import { consoleTable, evaluateTargets, markdownSection, type Cell, type SizeResult, type Variant } from "./status/results.ts";
import { benchConfig, prepareState, type ExpectedStatus, type SeedInfo } from "./status/seed.ts";

const USAGE = `Usage: npm run bench:status -- [options]
  --sizes <n,n,…>        jobs of the measured tenant (default 1000,10000,100000,1000000; 10k/1m accepted)
  --concurrency <c,c,…>  concurrent keep-alive connections (default 1,32)
  --duration <s>         measuring time per cell (default 3); a cell also stops at --requests
  --requests <n>         most requests per cell (default 2000)
  --min-requests <n>     fewest requests per cell, even past --duration (default 20, and at least the concurrency)
  --rounds <n>           interleaved rounds per size (default 2); the quiet ones are pooled
  --warmup <s>           warm-up per cell, not counted (default 1)
  --max-cell <s>         hard limit per cell, warm-up and measuring each (default 60)
  --noise <ratio>        other tenants' jobs per job of the measured tenant (default 0.2)
  --quiet <cpus>         before a cell, wait while other processes use this many CPUs or more (default 0.5)
  --quiet-wait <s>       longest such wait per cell (default 15; 180 s in all); 0 = never wait
  --fresh                reseed even when a seeded state exists
  --state-dir <dir>      where the seeded states live (default scripts/bench/status/.data; up to ~3 GB at 1M jobs)
  --clean                delete each size's seeded state once measured (default: keep it for the next run)
  --no-write             do not write scripts/bench/RESULTS.md
  --max-minutes <m>      give up (and stop every wrangler) after this long (default 40)`;

function fail(message: string): never {
  console.error(`bench:status: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) fail(`not a count: "${text}"`);
  const n = Number(m[1]) * (m[2]?.toLowerCase() === "k" ? 1e3 : m[2]?.toLowerCase() === "m" ? 1e6 : 1);
  if (!Number.isSafeInteger(n) || n <= 0) fail(`not a positive integer: "${text}"`);
  return n;
}

function parsePositive(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got "${text}"`);
  return n;
}

let parsed: ReturnType<typeof parseArgs<{ options: Record<string, { type: "string" | "boolean" }>; allowPositionals: false }>>;
try {
  parsed = parseArgs({
    options: {
      sizes: { type: "string" },
      concurrency: { type: "string" },
      duration: { type: "string" },
      requests: { type: "string" },
      "min-requests": { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      "max-cell": { type: "string" },
      noise: { type: "string" },
      quiet: { type: "string" },
      "quiet-wait": { type: "string" },
      fresh: { type: "boolean" },
      "state-dir": { type: "string" },
      clean: { type: "boolean" },
      "no-write": { type: "boolean" },
      "max-minutes": { type: "string" },
      help: { type: "boolean" },
    },
    allowPositionals: false,
  });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
const opt = parsed.values as Record<string, string | boolean | undefined>;
const str = (name: string) => (typeof opt[name] === "string" ? (opt[name] as string) : undefined);
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const sizes = [...new Set((str("sizes") ?? "1000,10000,100000,1000000").split(",").filter(Boolean).map(parseCount))].sort((a, b) => a - b);
const concurrencies = [...new Set((str("concurrency") ?? "1,32").split(",").filter(Boolean).map(parseCount))].sort((a, b) => a - b);
if (concurrencies.some((c) => c > 256)) fail("--concurrency is at most 256");
const durationMs = parsePositive(str("duration"), 3, "duration") * 1000;
const maxRequests = parseCount(str("requests") ?? "2000");
const minRequests = parseCount(str("min-requests") ?? "20");
const rounds = parseCount(str("rounds") ?? "2");
const warmupMs = parsePositive(str("warmup"), 1, "warmup") * 1000;
const maxCellMs = parsePositive(str("max-cell"), 60, "max-cell") * 1000;
const noiseRatio = str("noise") === undefined ? 0.2 : Number(str("noise"));
if (!Number.isFinite(noiseRatio) || noiseRatio < 0 || noiseRatio > 10) fail("--noise must be between 0 and 10");
const quietCpus = parsePositive(str("quiet"), 0.5, "quiet");
const quietWaitMs = str("quiet-wait") === "0" ? 0 : parsePositive(str("quiet-wait"), 15, "quiet-wait") * 1000;
let quietBudgetMs = 180_000;
let sourceChanges = 0;
const stateRoot = path.resolve(str("state-dir") ?? path.join(repoRoot, "scripts", "bench", "status", ".data"));
const maxMinutes = parsePositive(str("max-minutes"), 40, "max-minutes");
const resultsFile = path.join(repoRoot, "scripts", "bench", "RESULTS.md");
const REQUEST_TIMEOUT_MS = 120_000;
const STATUS_PATH = "/api/v1/products/import/status";

// ---- always stop what we started -------------------------------------------------------------------------
process.on("exit", () => killAllNow());
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`\nbench:status: ${signal}, stopping wrangler`);
    killAllNow();
    process.exit(130);
  });
}
process.on("uncaughtException", (err) => {
  console.error("bench:status: uncaught", err);
  killAllNow();
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  console.error("bench:status: unhandled rejection", err);
  killAllNow();
  process.exit(1);
});
setTimeout(() => {
  console.error(`bench:status: over the ${maxMinutes}-minute limit, giving up`);
  killAllNow();
  process.exit(3);
}, maxMinutes * 60_000).unref();

const log = (s: string) => console.log(s);
const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s`;

// ---- preflight --------------------------------------------------------------------------------------------
const rootConfig = path.join(repoRoot, "wrangler.toml");
for (const key of ["compatibility_date", "compatibility_flags", "database_name", "database_id"]) {
  const a = tomlValue(rootConfig, key);
  const b = tomlValue(benchConfig, key);
  if (a !== b) fail(`scripts/bench/status/wrangler.toml has ${key} = ${b}, the real wrangler.toml ${a}: make them equal`);
}

function otherProcesses(): string[] {
  const found: string[] = [];
  for (const { pid } of processes()) {
    if (pid === process.pid) continue;
    const cmd = cmdline(pid);
    if (/workerd serve|wrangler(-dist\/cli)?\.js dev|vitest/.test(cmd)) found.push(cmd.includes("workerd") ? "workerd" : cmd.includes("vitest") ? "vitest" : "wrangler dev");
  }
  return found;
}

function describeOthers(list: string[]): string {
  if (list.length === 0) return "none";
  const counts = new Map<string, number>();
  for (const p of list) counts.set(p, (counts.get(p) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${v} ${k}`).join(", ");
}

function machine(): string {
  const m = describeMachine(["src", "migrations", "wrangler.toml"]);
  return (
    `${m.cpus} CPUs (nproc; ${m.cpuModel}), ${m.memGiB.toFixed(1)} GiB memory, Node ${m.node}, ${m.workerd}, ` +
    `wrangler ${m.wrangler}, commit ${m.commit}; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`
  );
}

// ---- measuring ------------------------------------------------------------------------------------------
/**
 * Newest modification time and count of the files under src/: every worker here bundles from src/ and reloads
 * when a file there changes (other engineers edit it while the benchmark runs). Seen directly, because a worker
 * run with --log-level warn does not print its reloads.
 */
function sourceStamp(): string {
  let newest = 0;
  let count = 0;
  for (const entry of readdirSync(path.join(repoRoot, "src"), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
      count++;
    } catch {
      count--; // removed meanwhile: the stamp changes either way
    }
  }
  return `${newest}:${count}`;
}

/** A warm-up at concurrency c costs a whole wave of c requests; past this, a cell that follows a warm c=1 cell skips it. */
const LONG_WAVE_MS = 10_000;

async function cell(server: DevServer, urlPath: string, headers: Record<string, string>, concurrency: number, skipWarmup = false): Promise<Cell> {
  const base = { port: server.port, path: urlPath, headers, concurrency, timeoutMs: REQUEST_TIMEOUT_MS, maxMs: maxCellMs };
  let waitedMs = 0;
  if (quietWaitMs > 0 && quietBudgetMs > 0) {
    const q = await waitForQuiet([server.pid], quietCpus, Math.min(quietWaitMs, quietBudgetMs));
    waitedMs = q.waitedMs > 600 ? q.waitedMs : 0; // one 0.5 s sample is always taken
    quietBudgetMs -= waitedMs;
  }
  if (!skipWarmup) await runLoad({ ...base, durationMs: warmupMs, maxRequests: 100_000, minRequests: concurrency });
  const before = snapshot([server.pid]);
  server.scanLog();
  const stamp = sourceStamp();
  const r = await runLoad({ ...base, durationMs, maxRequests: Math.max(maxRequests, concurrency), minRequests: Math.max(minRequests, concurrency) });
  const otherCpus = foreignCpus(before, snapshot([server.pid]));
  // A reload can lag the edit by a moment: a change seen right after the cell counts too.
  const reloaded = server.scanLog().reloads > 0 || sourceStamp() !== stamp;
  if (reloaded) sourceChanges++;
  return { ...r, otherCpus, waitedMs, reloaded, rounds: "" };
}

/**
 * The rounds a reported figure is made of: those measured quietly (other processes below the --quiet threshold,
 * and the measured worker not reloading meanwhile), pooled; without any, the least disturbed round alone.
 */
function chooseRounds(list: Cell[]): Cell {
  const clean = list.filter((l) => l.otherCpus < quietCpus && !l.reloaded);
  const chosen = clean.length
    ? clean
    : [[...list].sort((a, b) => Number(a.reloaded) - Number(b.reloaded) || a.otherCpus - b.otherCpus)[0] as Cell];
  return {
    ...pool(chosen),
    otherCpus: Math.max(...chosen.map((l) => l.otherCpus)),
    waitedMs: list.reduce((a, l) => a + l.waitedMs, 0),
    reloaded: chosen.some((l) => l.reloaded),
    rounds: `${chosen.length === list.length ? "all" : `${chosen.length} of ${list.length}`}${clean.length ? "" : ", least disturbed"}`,
  };
}

function show(variant: Variant, r: Cell, round: string): string {
  const f = (n: number) => n.toFixed(2);
  return (
    `    ${round ? `${round} ` : ""}${variant.padEnd(18)} c=${String(r.concurrency).padEnd(3)} p50 ${f(r.p50).padStart(9)} ms  p99 ${f(r.p99).padStart(9)} ms  ` +
    `${r.rps.toFixed(0).padStart(6)} req/s  (${r.requests} requests in ${r.seconds.toFixed(1)} s; other load ${r.otherCpus.toFixed(2)} CPUs` +
    `${r.waitedMs ? `, waited ${(r.waitedMs / 1000).toFixed(1)} s for quiet` : ""}${r.reloaded ? "; the worker RELOADED" : ""}` +
    `${r.failures ? `; ${r.failures} FAILED: ${r.firstFailure}` : ""})`
  );
}

type StatusBody = Omit<ExpectedStatus, "last_ids"> & { last_jobs: { id: string }[] };

function checkAgainstSeed(body: string, seed: SeedInfo): string | null {
  const got = JSON.parse(body) as StatusBody;
  const e = seed.expected;
  const want = { total: e.total, pending: e.pending, queued: e.queued, processing: e.processing, completed: e.completed, failed: e.failed, errors: e.errors, avg_duration_ms: e.avg_duration_ms, last_ids: e.last_ids };
  const have = { ...got, last_ids: got.last_jobs.map((j) => j.id) } as Record<string, unknown>;
  const wrong = Object.entries(want).filter(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v));
  return wrong.length ? `status answer differs from the seed: ${wrong.map(([k, v]) => `${k} ${JSON.stringify(have[k])} ≠ ${JSON.stringify(v)}`).join(", ")}` : null;
}

type Endpoint = { variant: Variant; server: DevServer; path: string; headers: Record<string, string> };

async function startServers(jobs: number, seed: SeedInfo): Promise<{ real: DevServer; realQuiet: DevServer; bench: DevServer }> {
  const logDir = stateRoot;
  const make = async (name: string, persistTo: string, file: string, extra: { config?: string; extraArgs?: string[] }) =>
    new DevServer({ name, port: await freePort(), inspectorPort: await freePort(), persistTo, logFile: path.join(logDir, `${file}-${jobs}.log`), ...extra });
  const real = await make("real worker", seed.dirs.real, "wrangler-real", {});
  const realQuiet = await make("real worker --log-level warn", seed.dirs.realQuiet, "wrangler-real-quiet", { extraArgs: ["--log-level", "warn"] });
  const bench = await make("bench worker", seed.dirs.bench, "wrangler-bench", { config: benchConfig });
  log(`[${since()}]   wrangler dev: real worker on 127.0.0.1:${real.port}, real worker --log-level warn on :${realQuiet.port}, bench worker on :${bench.port}`);
  return { real, realQuiet, bench };
}

async function measureSize(jobs: number, engines: ReturnType<typeof findEngines>["engines"]): Promise<SizeResult> {
  const result: SizeResult = { jobs, noiseJobs: 0, dbMB: 0, seedSeconds: null, reused: false, cells: {}, rounds: {}, raw: [], plans: {}, indexes: {}, problems: [], notes: [] };
  const state = path.join(stateRoot, `jobs-${jobs}`);
  log(`\n[${since()}] ${jobs.toLocaleString("en-US")} jobs: seeding`);
  const seed = await prepareState(state, { jobs, noiseRatio, noiseTenants: 20 }, { fresh: opt.fresh === true, log });
  result.noiseJobs = seed.noiseJobs;
  result.dbMB = seed.dbBytes / 2 ** 20;
  result.reused = seed.reused;
  result.seedSeconds = seed.reused ? null : seed.seedSeconds;
  if (!seed.reused) log(`  seeded ${jobs} + ${seed.noiseJobs} noise jobs in ${seed.seedSeconds.toFixed(1)} s (${result.dbMB.toFixed(0)} MB)`);
  const auth = { authorization: `Bearer ${seed.key}` };
  const tenant = encodeURIComponent(seed.tenantId);
  let statements: { direct: Statement[]; route: Statement[] } | null = null;

  const others = otherProcesses();
  if (others.length) result.notes.push(`other processes at the start: ${describeOthers(others)}`);
  const servers = await startServers(jobs, seed);
  try {
    const { real, realQuiet, bench } = servers;
    await Promise.all([real.waitReady("/health"), realQuiet.waitReady("/health"), bench.waitReady("/floor")]);

    // -- correctness first: the seeded figures, identical bodies, the indexes and the plans
    const first = await probe(real.port, STATUS_PATH, auth, REQUEST_TIMEOUT_MS);
    if (first.status !== 200) throw new Error(`the status route answered ${first.status}: ${first.body.slice(0, 500)}`);
    const mismatch = checkAgainstSeed(first.body, seed);
    if (mismatch) result.problems.push(mismatch);
    const json = async <T>(p: string): Promise<T> => {
      const r = await probe(bench.port, p, {}, REQUEST_TIMEOUT_MS);
      if (r.status !== 200) throw new Error(`bench worker ${p} answered ${r.status}: ${r.body.slice(0, 500)}`);
      return JSON.parse(r.body) as T;
    };
    statements = await json<{ direct: Statement[]; route: Statement[] }>(`/sql?tenant=${tenant}&hash=${seed.keyHash}`);
    const plan = await json<Record<string, string[]>>(`/plan?tenant=${tenant}&hash=${seed.keyHash}`);
    result.plans = { DB: plan, DB_NOCOV: await json(`/plan?tenant=${tenant}&hash=${seed.keyHash}&db=DB_NOCOV`) };
    const indexes = { DB: await json<string[]>("/indexes"), DB_NOCOV: await json<string[]>("/indexes?db=DB_NOCOV") };
    result.indexes = indexes;
    if (!indexes.DB.includes("import_jobs_tenant_summary") || indexes.DB_NOCOV.includes("import_jobs_tenant_summary")) {
      result.problems.push(`unexpected indexes: DB ${indexes.DB.join(",")}; DB_NOCOV ${indexes.DB_NOCOV.join(",")}`);
    }
    const planProblems = Object.entries(plan)
      .filter(([, steps]) => steps.some((s) => /SCAN import_jobs|TEMP B-TREE/.test(s)))
      .map(([k, steps]) => `${k}: ${steps.join(" → ")}`);
    if (!plan["route.aggregate"]?.some((s) => s.includes("COVERING INDEX import_jobs_tenant_summary"))) planProblems.push("route aggregate does not use the covering index");
    if (planProblems.length) result.problems.push(`query plan not as the route expects: ${planProblems.join("; ")}`);

    const endpoints: Endpoint[] = [
      { variant: "route", server: real, path: STATUS_PATH, headers: auth },
      { variant: "route-quiet-log", server: realQuiet, path: STATUS_PATH, headers: auth },
      { variant: "batch", server: bench, path: `/batch?tenant=${tenant}`, headers: {} },
      { variant: "two-calls", server: bench, path: `/two-calls?tenant=${tenant}`, headers: {} },
      { variant: "no-covering-index", server: bench, path: `/no-covering-index?tenant=${tenant}`, headers: {} },
      { variant: "floor", server: bench, path: "/floor", headers: {} },
    ];
    for (const e of endpoints) {
      if (e.variant === "route" || e.variant === "floor") continue;
      const r = await probe(e.server.port, e.path, e.headers, REQUEST_TIMEOUT_MS);
      if (r.status !== 200) result.problems.push(`${e.variant} answered ${r.status}: ${r.body.slice(0, 200)}`);
      else if (r.body !== first.body) result.problems.push(`${e.variant} answers a different body than the real route`);
    }

    // -- interleaved rounds: every variant once per round and concurrency, the order reversed every other round
    const runs = new Map<string, Cell[]>();
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? endpoints : [...endpoints].reverse();
      for (const c of concurrencies) {
        for (const e of order) {
          // The slowest cells (a wave of c requests takes > 10 s, judged by this round's c=1 p50) skip the warm-up:
          // code and caches are warm from the c=1 cell just before, only the extra connections are new.
          const c1 = runs.get(`${e.variant}@1`)?.at(-1)?.p50;
          const skipWarmup = c > 1 && c1 !== undefined && c1 * c > LONG_WAVE_MS;
          const r = await cell(e.server, e.path, e.headers, c, skipWarmup);
          const k = `${e.variant}@${c}`;
          runs.set(k, [...(runs.get(k) ?? []), r]);
          log(show(e.variant, r, rounds > 1 ? `round ${round + 1}/${rounds}` : "") + (skipWarmup ? " [no warm-up: long wave]" : ""));
          if (r.failures) result.problems.push(`${e.variant} c=${c}: ${r.failures} failed requests (${r.firstFailure})`);
        }
      }
    }
    for (const e of endpoints) {
      const cells: Record<number, Cell> = {};
      for (const c of concurrencies) {
        const list = runs.get(`${e.variant}@${c}`) ?? [];
        if (list.length === 0) continue;
        cells[c] = chooseRounds(list);
      }
      result.cells[e.variant] = cells;
    }
    result.rounds = Object.fromEntries([...runs].map(([k, list]) => [k, list.map(({ samples: _samples, ...rest }) => rest)]));
    for (const server of [real, realQuiet, bench]) {
      server.scanLog();
      const { reloads, errors } = server.seen;
      if (reloads) result.notes.push(`${server.name} printed ${reloads} reload(s) (a source file it watches changed; other engineers edit src/)`);
      for (const e of errors.slice(0, 3)) result.notes.push(`${server.name} log: \`${e.trim().slice(0, 200)}\``);
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }

  // -- raw SQLite, no wrangler running
  if (statements) {
    log(`[${since()}]   raw SQLite`);
    const bounds = { maxIterations: 1000, minIterations: 5, maxMs: 2000, hardMaxMs: 30_000, warmup: 2 };
    for (const engine of engines) {
      const onDb = timeRaw(engine, seed.dbFile, { direct: statements.direct, route: statements.route }, bounds);
      const onNocov = timeRaw(engine, seed.nocovFile, { nocov: statements.direct }, bounds);
      const merged: RawResult = { ...onDb, groups: { ...onDb.groups, ...onNocov.groups } };
      result.raw.push(merged);
      const g = merged.groups;
      log(
        `    ${engine.label.padEnd(24)} aggregate + recent ${g.direct?.medianMs.toFixed(2)} ms, route's 3 statements ${g.route?.medianMs.toFixed(2)} ms, ` +
          `without covering index ${g.nocov?.medianMs.toFixed(2)} ms`,
      );
      if (g.direct && (g.direct.rows.aggregate === 0 || g.direct.rows.recent !== Math.min(5, jobs))) result.problems.push(`raw SQLite rows unexpected: ${JSON.stringify(g.direct.rows)}`);
    }
  }
  for (const p of result.problems) log(`  ⚠ ${p}`);
  if (opt.clean) rmSync(state, { recursive: true, force: true });
  return result;
}

// ---- main ----------------------------------------------------------------------------------------------
const argText = process.argv.slice(2).join(" ");
const command =
  process.env.npm_lifecycle_event === "bench:status" ? `npm run bench:status${argText ? ` -- ${argText}` : ""}` : `node scripts/bench/status.ts ${argText}`.trim();
const machineText = machine();
log(`bench:status: sizes ${sizes.join(", ")}; concurrency ${concurrencies.join(", ")}; ${machineText}`);
const { engines, notes: engineNotes } = findEngines();
if (engines.length === 0) log("  (no raw SQLite engine could be loaded)");
for (const n of engineNotes) log(`  note: ${n}`);

mkdirSync(stateRoot, { recursive: true });
const results: SizeResult[] = [];
for (const jobs of sizes) {
  try {
    results.push(await measureSize(jobs, engines));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`  ✘ ${jobs} jobs failed: ${message}`);
    results.push({ jobs, noiseJobs: Math.round(jobs * noiseRatio), dbMB: 0, seedSeconds: null, reused: false, cells: {}, rounds: {}, raw: [], plans: {}, indexes: {}, problems: [`failed: ${message.split("\n")[0]}`], notes: [] });
  }
}

// wrangler dev of the bench worker bundles into a .wrangler/ next to its config; nothing of ours runs now.
rmSync(path.join(path.dirname(benchConfig), ".wrangler"), { recursive: true, force: true });

const targets = evaluateTargets(results, concurrencies);
log(`\n${consoleTable(results, concurrencies)}\n`);
for (const t of targets) log(`${t.met === null ? "⚪" : t.met ? "✅" : "❌"} ${t.text}: ${t.detail}`);

const notes = [
  ...engineNotes,
  `src/ changed during ${sourceChanges} measured cell(s) (workers reload then; a worker at --log-level warn does not say so, hence the check of src/ itself): ` +
    "such a cell is left out of a figure when a round without it exists",
  ...results.flatMap((s) => [
    ...s.notes.map((n) => `${s.jobs.toLocaleString("en-US")} jobs: ${n}`),
    `${s.jobs.toLocaleString("en-US")} jobs: database ${s.dbMB.toFixed(0)} MB, ${s.reused ? "seeded state reused" : `seeded in ${s.seedSeconds?.toFixed(1)} s`}`,
  ]),
  `wrangler logs and seeded states: ${path.relative(repoRoot, stateRoot)}/ (git-ignored)`,
];
const settings =
  `${rounds} interleaved round(s) per size; a figure pools the rounds measured quietly (other load < ${quietCpus} CPUs, src/ unchanged and no reload meanwhile), ` +
  `else it is the least disturbed round; before each cell a wait (≤ ${quietWaitMs / 1000} s) while other processes use ≥ ${quietCpus} CPUs; per cell ${warmupMs / 1000} s warm-up, then ${durationMs / 1000} s or ${maxRequests} requests (whichever first; at least ${minRequests} and the concurrency, at most ${maxCellMs / 1000} s; ` +
  `a c>1 cell skips its warm-up when c × its c=1 p50 exceeds ${LONG_WAVE_MS / 1000} s); ` +
  `other tenants' jobs ${noiseRatio} per job in 20 tenants; total run ${((Date.now() - started) / 60_000).toFixed(1)} min`;
const rawEngines = engines.length ? engines.map((e) => `${e.label} (SQLite ${e.sqlite}, Node ${e.node})`).join("; the second as a cross-check: ") : "none";
const section = markdownSection({ date: new Date().toISOString(), machine: machineText, command, rawEngines, settings }, results, concurrencies, targets, notes);
const dump = path.join(stateRoot, "last-run.json");
writeFileSync(dump, `${JSON.stringify({ command, machine: machineText, results: results.map((r) => ({ ...r, cells: undefined })) }, null, 1)}\n`);
log(`every round's figures: ${path.relative(repoRoot, dump)}`);
if (opt["no-write"]) log("(--no-write: RESULTS.md left as it is)");
else {
  writeResultsSection(resultsFile, "Status", section);
  log(`wrote the Status section of ${path.relative(repoRoot, resultsFile)}`);
}
process.exit(results.some((r) => r.problems.length) ? 1 : 0);
