// Import benchmark: `npm run bench:import [-- --rows 10000,100000 --port 8788 …]`
//
// 1. Generates deterministic CSV files (10k, 100k, 1M rows, ~155 bytes/row) in scripts/bench/.data/ (reused when unchanged).
// 2. Measures the raw SQLite ceiling: the same rows upserted into `products` in one transaction (insert time only).
// 3. Starts `wrangler dev` on 127.0.0.1 with fresh state in scripts/bench/.data/state, creates an API key, uploads each
//    file (streamed), polls the job every 250 ms, sums the consumer's `import slice` log lines, samples the workerd
//    RSS every 100 ms; then re-imports the 1M-row file (else the largest) to check that unchanged rows write nothing.
// 4. Prints a table and writes the `## Import` section of scripts/bench/RESULTS.md.
// wrangler dev is always stopped (its whole process group) on exit, error, Ctrl-C or timeout.
import { createReadStream, mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { d1OnlyMemory } from "./import/d1-baseline.ts";
import { ensureCsv, type GeneratedFile } from "./import/data.ts";
import { sizeLabel } from "./import/products.ts";
import { describeRawEngine, pickRawEngine, RAW_PRAGMAS, rawSqliteUpsert, type RawEngine, type RawResult } from "./import/raw-sqlite.ts";
import { consoleTable, evaluateTargets, markdownSection, type Environment, type SizeResult } from "./import/results.ts";
import { RssSampler, type MemoryPeak } from "./import/workerd-memory.ts";
import { nodeScriptSync, portInUse, snapshotSource, WranglerDev, type NotableLine, type SourceSnapshot } from "./import/wrangler-dev.ts";
import { describeMachine } from "./lib/machine.ts";
import { writeResultsSection } from "./lib/results-md.ts";
import type { SqliteEngineName } from "./lib/sqlite-node.ts";
import { anyRunning, killAllNow, repoRoot, sleep, stopAll, tomlValue, wranglerSync } from "./lib/wrangler-dev.ts";

const USAGE = `Usage: npm run bench:import -- [options]
  --rows <n,n,…>       sizes to import (default 10000,100000,1000000; 10k/1m suffixes accepted)
  --port <port>        wrangler dev port on 127.0.0.1 (default 8788)
  --timeout-min <m>    give up on one import after this many minutes (default 15)
  --stall-min <m>      give up when a job makes no progress for this long (default 5)
  --no-reimport        skip the re-import of the 1M-row file (or of the largest, without 1M)
  --no-raw             skip the raw SQLite baseline
  --raw-runs <n>       raw SQLite runs per size, the best counts (default 3)
  --raw-engine <e>     better-sqlite3 (default, falls back to node:sqlite if it cannot load) or node:sqlite
  --one-server         one wrangler dev for all imports (default: a fresh one per import, same persisted state,
                       so each import's peak RSS is that of a fresh runtime process)
  --live-source        run wrangler dev on the working tree (default: on a copy taken at start, so edits made
                       meanwhile do not reload the Worker mid-import)
  --upload-limit-as-configured
                       keep MAX_UPLOAD_BYTES from wrangler.toml even when a file is larger (the upload then gets 413)
  --no-results         do not write scripts/bench/RESULTS.md`;

const benchDir = import.meta.dirname;
const dataDir = path.join(benchDir, ".data");
const stateDir = path.join(dataDir, "state");
const snapshotDir = path.join(dataDir, "source");
const resultsFile = path.join(benchDir, "RESULTS.md");
const migrationsDir = path.join(repoRoot, "migrations");
const POLL_MS = 250;
const SAMPLE_MS = 100;
const TENANT = "bench";

interface Options {
  rows: number[];
  port: number;
  timeoutMs: number;
  stallMs: number;
  reimport: boolean;
  raw: boolean;
  rawRuns: number;
  rawEngine: SqliteEngineName | undefined;
  raiseUploadLimit: boolean;
  results: boolean;
  oneServer: boolean;
  liveSource: boolean;
}

class UsageError extends Error {}

function parseRowCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim().replace(/_/g, ""));
  if (!m) throw new UsageError(`--rows: "${text}" is not a row count`);
  const n = Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2]!) ? 1_000 : 1_000_000);
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000) throw new UsageError(`--rows: ${text} must be a whole number from 1 to 10,000,000`);
  return n;
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`);
  return n;
}

function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        rows: { type: "string" },
        port: { type: "string" },
        "timeout-min": { type: "string" },
        "stall-min": { type: "string" },
        "no-reimport": { type: "boolean", default: false },
        "no-raw": { type: "boolean", default: false },
        "raw-engine": { type: "string" },
        "raw-runs": { type: "string" },
        "upload-limit-as-configured": { type: "boolean", default: false },
        "no-results": { type: "boolean", default: false },
        "one-server": { type: "boolean", default: false },
        "live-source": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return null;
  const rows = [...new Set((values.rows ?? "10000,100000,1000000").split(",").filter((s) => s.trim() !== "").map(parseRowCount))].sort((a, b) => a - b);
  if (rows.length === 0) throw new UsageError("--rows names no size");
  const port = positive("port", values.port, 8788);
  if (!Number.isInteger(port) || port > 65535) throw new UsageError("--port must be a port number");
  const engine = values["raw-engine"];
  if (engine !== undefined && engine !== "better-sqlite3" && engine !== "node:sqlite") throw new UsageError("--raw-engine must be better-sqlite3 or node:sqlite");
  return {
    rows,
    port,
    timeoutMs: positive("timeout-min", values["timeout-min"], 15) * 60_000,
    stallMs: positive("stall-min", values["stall-min"], 5) * 60_000,
    reimport: !values["no-reimport"],
    raw: !values["no-raw"],
    rawRuns: Math.floor(positive("raw-runs", values["raw-runs"], 3)),
    rawEngine: engine,
    raiseUploadLimit: !values["upload-limit-as-configured"],
    results: !values["no-results"],
    oneServer: values["one-server"],
    liveSource: values["live-source"],
  };
}

// ---------------------------------------------------------------------------
// Environment

function describeEnvironment(command: string, rawEngine: RawEngine | null, source: SourceSnapshot | null, oneServer: boolean): Environment {
  const machine = describeMachine();
  return {
    date: new Date().toISOString(),
    command,
    nproc: machine.cpus,
    memGiB: machine.memGiB,
    node: machine.node,
    workerd: machine.workerd,
    wrangler: machine.wrangler,
    commit: machine.commit,
    rawEngine: rawEngine ? describeRawEngine(rawEngine) : "not run",
    rawPragmas: RAW_PRAGMAS.join(", "),
    rawRuns: 0,
    importVars: "",
    source: source
      ? `a copy of the working tree taken at the start (${source.files} files, content hash ${source.hash})`
      : "the live working tree (edits during the run reload the Worker)",
    servers: oneServer ? "one wrangler dev for all imports" : "a fresh wrangler dev per import (same persisted D1/R2 state)",
  };
}

/** A numeric [vars] entry of a wrangler.toml, or null. */
function tomlVar(configDir: string, name: string): number | null {
  const m = /^"?(\d+)"?$/.exec(tomlValue(path.join(configDir, "wrangler.toml"), name) ?? "");
  return m ? Number(m[1]) : null;
}

// ---------------------------------------------------------------------------
// Cleanup: wrangler dev must never outlive the benchmark

let aborted = false;
let stopping: Promise<void> | null = null;
let exitCode = 0;

/** Stops wrangler dev (once, however many callers) and exits; the first caller's code wins. */
async function shutdown(code: number, why?: string): Promise<never> {
  if (why) console.error(why);
  if (!stopping) {
    exitCode = code;
    // Set at once: the main flow may still be running meanwhile, and must neither report nor write results.
    if (code !== 0) aborted = true;
    stopping = anyRunning() ? (console.error("Stopping wrangler dev …"), stopAll()) : Promise.resolve();
  }
  await stopping;
  process.exit(exitCode);
}

process.on("exit", () => killAllNow());
process.on("SIGINT", () => void shutdown(130, "\nInterrupted."));
process.on("SIGTERM", () => void shutdown(143, "\nTerminated."));
process.on("SIGHUP", () => void shutdown(129, "\nHung up."));
process.on("uncaughtException", (err) => void shutdown(1, aborted ? undefined : `bench:import: ${err.stack ?? err.message}`));
process.on("unhandledRejection", (err) => void shutdown(1, aborted ? undefined : `bench:import: ${(err as Error)?.stack ?? String(err)}`));

// ---------------------------------------------------------------------------
// One import

interface JobJson {
  id: string;
  status: string;
  processed_rows: number;
  created: number;
  updated: number;
  unchanged: number;
  error_count: number;
  duration_ms: number | null;
  failure_reason?: string | null;
  total_rows?: number | null;
  created_at?: string | null;
  started_at?: string | null;
  /** Rows rejected (a row may carry several errors, so error_count can be larger). */
  rejected_rows?: number;
}

const TERMINAL = new Set(["completed", "failed"]);

function emptyResult(file: GeneratedFile, raw: RawResult | undefined): SizeResult {
  return {
    rows: file.rows,
    fileBytes: file.bytes,
    wallS: null,
    uploadS: null,
    rowsPerSec: null,
    status: "not started",
    jobId: null,
    jobDurationMs: null,
    processedRows: null,
    created: null,
    updated: null,
    unchanged: null,
    errorCount: null,
    slices: null,
    d1RowsWritten: null,
    productsWritten: null,
    peakWorkerMb: null,
    peakTotalMb: null,
    peakAnonMb: null,
    peakFileMb: null,
    startWorkerMb: null,
    processingStartMb: null,
    processingPeakMb: null,
    d1OnlyGrowthMb: null,
    rawRowsPerSec: raw?.rowsPerSec ?? null,
    ratio: null,
    problem: null,
    sliceMs: [],
    queueDelayMs: null,
    maxPollMs: null,
    polls: 0,
    responseBodyMs: null,
    loadBefore: os.loadavg()[0]!,
    loadAfter: null,
    workerCpuS: null,
    busiestThreadCpuS: null,
  };
}

async function runImport(server: WranglerDev, key: string, file: GeneratedFile, raw: RawResult | undefined, opts: Options, label: string): Promise<SizeResult> {
  const result = emptyResult(file, raw);
  const base = `http://127.0.0.1:${server.port}`;
  const auth = { authorization: `Bearer ${key}` };
  const sampler = new RssSampler(server.pid, SAMPLE_MS);
  let memory: MemoryPeak | null = null;
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const elapsed = () => (performance.now() - started) / 1000;
  const reloadsBefore = server.reloads;
  const notableBefore = server.notable.length;
  try {
    process.stdout.write(`${label}: uploading ${(file.bytes / 1e6).toFixed(1)} MB … `);
    let response: Response;
    try {
      response = await fetch(`${base}/api/v1/products/import?filename=${encodeURIComponent(path.basename(file.path))}`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/csv", "content-length": String(file.bytes) },
        body: Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>,
        duplex: "half",
        signal: AbortSignal.timeout(opts.timeoutMs),
      } as RequestInit & { duplex: "half" });
    } catch (err) {
      result.status = "upload error";
      result.problem = `upload failed after ${elapsed().toFixed(1)} s: ${(err as Error).message}${(err as Error).cause ? ` (${String((err as Error).cause)})` : ""}`;
      return result;
    }
    result.uploadS = elapsed();
    const text = await response.text();
    result.responseBodyMs = (elapsed() - result.uploadS) * 1000;
    if (response.status !== 202) {
      result.status = `HTTP ${response.status}`;
      result.problem = `upload answered ${response.status} after ${result.uploadS.toFixed(1)} s: ${text.slice(0, 600)}`;
      console.log(`HTTP ${response.status}`);
      return result;
    }
    // The processing phase's memory is measured from here: the runtime's local R2 keeps memory after storing a
    // large upload (a direct put of the request body does the same), which the Worker's processing does not cause.
    sampler.mark();
    let job = JSON.parse(text) as JobJson;
    result.jobId = job.id;
    console.log(`202 in ${result.uploadS.toFixed(2)} s, job ${job.id}`);

    let lastProgress = performance.now();
    let lastRows = -1;
    let lastStatus = job.status;
    let lastReport = performance.now();
    let failures = 0;
    while (!TERMINAL.has(job.status)) {
      if (performance.now() > deadline) {
        result.status = `timeout (${job.status})`;
        result.problem = `no terminal status after ${(opts.timeoutMs / 60_000).toFixed(1)} min: status ${job.status}, processed_rows ${job.processed_rows}`;
        break;
      }
      if (performance.now() - lastProgress > opts.stallMs) {
        result.status = `stalled (${job.status})`;
        result.problem = `no progress for ${(opts.stallMs / 60_000).toFixed(1)} min: status ${job.status}, processed_rows ${job.processed_rows}`;
        break;
      }
      if (aborted) {
        result.status = "interrupted";
        break;
      }
      if (server.hasExited) {
        result.status = "wrangler dev ended";
        result.problem = `wrangler dev ended (${server.exitDescription}) during the import; see ${server.logFile}`;
        break;
      }
      await sleep(POLL_MS);
      try {
        const pollStart = performance.now();
        const poll = await fetch(`${base}/api/v1/products/import/${encodeURIComponent(job.id)}`, { headers: auth, signal: AbortSignal.timeout(30_000) });
        const body = await poll.text();
        if (poll.status !== 200) throw new Error(`HTTP ${poll.status}: ${body.slice(0, 300)}`);
        job = JSON.parse(body) as JobJson;
        failures = 0;
        result.polls++;
        result.maxPollMs = Math.max(result.maxPollMs ?? 0, performance.now() - pollStart);
      } catch (err) {
        if (++failures >= 20) {
          result.status = "poll error";
          result.problem = `20 polls in a row failed, the last with: ${(err as Error).message}`;
          break;
        }
        continue;
      }
      if (job.processed_rows !== lastRows || job.status !== lastStatus) {
        lastRows = job.processed_rows;
        lastStatus = job.status;
        lastProgress = performance.now();
      }
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        console.log(`  ${elapsed().toFixed(0).padStart(4)} s  ${job.status.padEnd(10)} ${job.processed_rows.toLocaleString("en-US").padStart(11)} rows`);
      }
    }
    const wall = elapsed();
    if (TERMINAL.has(job.status)) {
      result.status = job.status;
      result.wallS = wall;
      result.rowsPerSec = job.status === "completed" ? file.rows / wall : null;
      if (result.rowsPerSec !== null && result.rawRowsPerSec !== null) result.ratio = result.rowsPerSec / result.rawRowsPerSec;
      if (job.status === "failed") result.problem = `job failed: ${job.failure_reason ?? "(no failure_reason)"}`;
    }
    result.jobDurationMs = job.duration_ms;
    result.processedRows = job.processed_rows;
    result.created = job.created;
    result.updated = job.updated;
    result.unchanged = job.unchanged;
    result.errorCount = job.error_count;
    if (job.created_at && job.started_at) result.queueDelayMs = Date.parse(job.started_at) - Date.parse(job.created_at);

    // The last slice's log line may trail the job update a little.
    const logWait = performance.now() + 3000;
    while (performance.now() < logWait && (server.slices.get(job.id)?.rows ?? 0) < job.processed_rows) await sleep(100);
    const slices = server.slices.get(job.id);
    if (slices) {
      result.slices = slices.slices;
      result.productsWritten = slices.productsWritten;
      result.d1RowsWritten = slices.d1RowsWritten;
      result.sliceMs = [...slices.sliceMs];
    }

    const checks: string[] = [];
    if (job.status === "completed") {
      if (job.processed_rows !== file.rows) checks.push(`processed_rows ${job.processed_rows} ≠ ${file.rows} rows in the file`);
      if (job.error_count !== 0) checks.push(`${job.error_count} row errors (see GET ${jobPathOf(job.id)}/errors)`);
      if (!slices) checks.push("no `import slice` log line for this job in the wrangler dev output");
      else if (slices.rows !== job.processed_rows) checks.push(`slice log lines sum to ${slices.rows} rows, the job says ${job.processed_rows}`);
      const rejected = job.rejected_rows ?? job.error_count;
      if (job.created + job.updated + job.unchanged + rejected !== job.processed_rows) {
        checks.push(`created ${job.created} + updated ${job.updated} + unchanged ${job.unchanged} + rejected ${rejected} ≠ processed_rows ${job.processed_rows}`);
      }
      if (slices && slices.productsWritten !== job.created + job.updated) {
        checks.push(`products_written ${slices.productsWritten} ≠ created + updated ${job.created + job.updated}`);
      }
    }
    if (result.responseBodyMs !== null && result.responseBodyMs > 1000) {
      checks.push(`the 202 response's body arrived ${(result.responseBodyMs / 1000).toFixed(1)} s after its headers`);
    }
    if (result.maxPollMs !== null && result.maxPollMs > 2000) {
      checks.push(`job status polls took up to ${(result.maxPollMs / 1000).toFixed(1)} s during the import`);
    }
    if (server.reloads > reloadsBefore) checks.push(`wrangler dev reloaded the Worker ${server.reloads - reloadsBefore} time(s) during this import (source files changed)`);
    const newNotable = server.notable.length - notableBefore;
    if (newNotable > 0) checks.push(`${newNotable} error/warning line(s) in the wrangler dev output during this import (see Notes)`);
    if (checks.length > 0) result.problem = [result.problem, ...checks].filter(Boolean).join("; ");
    return result;
  } finally {
    result.loadAfter = os.loadavg()[0]!;
    memory = sampler.stop();
    if (memory.samples > 0) {
      result.peakWorkerMb = memory.workerMb;
      result.peakTotalMb = memory.totalMb;
      result.peakAnonMb = memory.workerAnonMb;
      result.peakFileMb = memory.workerFileMb;
      result.startWorkerMb = memory.startWorkerMb;
      result.processingStartMb = memory.markWorkerMb;
      result.processingPeakMb = memory.peakAfterMarkWorkerMb;
      result.workerCpuS = memory.workerCpuS;
      result.busiestThreadCpuS = memory.workerBusiestThreadCpuS;
    }
    if (!aborted) console.log(
      `${label}: ${result.status}` +
        (result.wallS !== null ? `, wall ${result.wallS.toFixed(2)} s, ${Math.round(result.rowsPerSec ?? 0).toLocaleString("en-US")} rows/s` : "") +
        `, peak worker RSS ${result.peakWorkerMb?.toFixed(0) ?? "?"} MB (was ${result.startWorkerMb?.toFixed(0) ?? "?"} MB before)` +
        (result.problem ? `\n  ! ${result.problem}` : ""),
    );
  }
}

function jobPathOf(id: string): string {
  return `/api/v1/products/import/${id}`;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts = parseOptions(argv);
  if (!opts) {
    console.log(USAGE);
    return;
  }
  if (process.platform !== "linux") throw new Error("the memory sampling reads /proc: run this on Linux");
  const command = `npm run bench:import${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  // A hard ceiling for the whole run, on top of the per-import timeouts.
  const ceilingMs = 10 * 60_000 + (opts.rows.length + (opts.reimport ? 1 : 0)) * (opts.timeoutMs + 60_000) + opts.rows.reduce((a, n) => a + n, 0) / 10;
  setTimeout(() => void shutdown(124, `bench:import: the run took longer than ${(ceilingMs / 60_000).toFixed(0)} min; giving up.`), ceilingMs).unref();

  mkdirSync(dataDir, { recursive: true });

  // 1. Files
  const files: GeneratedFile[] = [];
  for (const rows of opts.rows) {
    const f = ensureCsv(dataDir, rows);
    files.push(f);
    console.log(
      `${sizeLabel(rows).padStart(5)} rows: ${path.relative(repoRoot, f.path)} ${(f.bytes / 1e6).toFixed(1)} MB (${(f.bytes / rows).toFixed(0)} B/row) ` +
        (f.reused ? "reused" : `generated in ${(f.ms / 1000).toFixed(1)} s`),
    );
  }

  // 2. Raw SQLite ceiling (before wrangler dev starts, so the two never compete for the CPUs)
  const raws = new Map<number, RawResult>();
  let engine: RawEngine | null = null;
  if (opts.raw) {
    engine = pickRawEngine(opts.rawEngine);
    if (engine.fallbackReason) console.log(`Raw SQLite: using ${engine.engine}; ${engine.fallbackReason}`);
    for (const rows of opts.rows) {
      const runs: RawResult[] = [];
      for (let run = 0; run < opts.rawRuns; run++) {
        const raw = rawSqliteUpsert(engine, rows, migrationsDir);
        if (raw.count !== rows) throw new Error(`raw SQLite baseline: ${raw.count} products after upserting ${rows} rows`);
        runs.push(raw);
      }
      // The ceiling is the best run; the others show the noise of the machine.
      const best = runs.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
      raws.set(rows, best);
      const all = runs.map((r) => Math.round(r.rowsPerSec).toLocaleString("en-US")).join(", ");
      console.log(`raw SQLite (${engine.engine}) ${sizeLabel(rows)}: best ${best.insertMs.toFixed(0)} ms, ${Math.round(best.rowsPerSec).toLocaleString("en-US")} rows/s (runs: ${all})`);
    }
  }

  // 3. Source, local state, key, wrangler dev
  if (await portInUse(opts.port)) throw new Error(`something already listens on 127.0.0.1:${opts.port}; choose another --port`);
  const source = opts.liveSource ? null : snapshotSource(snapshotDir);
  if (source) console.log(`Worker source: copy of the working tree in ${path.relative(repoRoot, source.dir)} (${source.files} files, hash ${source.hash})`);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  console.log(`Applying migrations to fresh state in ${path.relative(repoRoot, stateDir)} …`);
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { cwd: source?.dir ?? repoRoot });
  // The key is created before wrangler dev opens the database, so the two processes never write it at once.
  const keyOut = nodeScriptSync("scripts/key.ts", ["create", "--tenant", TENANT, "--name", "bench:import"], { KEY_CLI_PERSIST_TO: stateDir });
  const key = keyOut.trim().split("\n").at(-1)?.trim() ?? "";
  if (!/^pik_\S+$/.test(key)) throw new Error(`the key CLI did not print a key on its last line:\n${keyOut}`);

  const notes: string[] = [];
  const vars: Record<string, string> = {};
  const configDir = source?.dir ?? repoRoot;
  const limit = tomlVar(configDir, "MAX_UPLOAD_BYTES") ?? 104_857_600;
  const largest = Math.max(...files.map((f) => f.bytes));
  if (largest > limit) {
    if (opts.raiseUploadLimit) {
      const raised = Math.ceil((largest * 1.1) / 1_048_576) * 1_048_576;
      vars.MAX_UPLOAD_BYTES = String(raised);
      notes.push(
        `The largest file (${(largest / 1e6).toFixed(1)} MB) exceeds MAX_UPLOAD_BYTES = ${limit} from wrangler.toml, so this run started ` +
          `wrangler dev with \`--var MAX_UPLOAD_BYTES:${raised}\`; with the configured limit such a file is refused (413).`,
      );
      console.log(`Note: ${notes.at(-1)}`);
    } else {
      notes.push(`Files larger than MAX_UPLOAD_BYTES = ${limit} were uploaded with the configured limit (expect 413).`);
    }
  }

  const logFile = path.join(dataDir, "wrangler-dev.log");
  rmSync(logFile, { force: true });
  const serverCwd = source ? source.dir : repoRoot;
  const notable: { server: string; line: NotableLine }[] = [];
  const badSlices: string[] = [];
  let reloads = 0;
  let serverCount = 0;

  const startServer = async (title: string): Promise<WranglerDev> => {
    if (await portInUse(opts.port)) throw new Error(`something already listens on 127.0.0.1:${opts.port}; choose another --port`);
    serverCount++;
    const started = performance.now();
    const server = new WranglerDev({ port: opts.port, persistTo: stateDir, logFile, vars, cwd: serverCwd, title });
    await server.waitReady(180_000);
    const health = await fetch(`http://127.0.0.1:${opts.port}/health`, { signal: AbortSignal.timeout(30_000) }).catch((e: Error) => e);
    if (health instanceof Error || !health.ok) throw new Error(`GET /health failed: ${health instanceof Error ? health.message : health.status}`);
    console.log(`wrangler dev #${serverCount} ready on 127.0.0.1:${opts.port} in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${server.pid}) for ${title}.`);
    return server;
  };
  const stopServer = async (server: WranglerDev): Promise<void> => {
    reloads += server.reloads;
    for (const line of server.notable) notable.push({ server: `#${serverCount}`, line });
    badSlices.push(...server.badSliceLines);
    if (server.hasExited) notable.push({ server: `#${serverCount}`, line: { at: 0, text: `wrangler dev ended by itself (${server.exitDescription})` } });
    await server.stop();
  };

  console.log(`wrangler dev output goes to ${path.relative(repoRoot, logFile)}`);
  let shared: WranglerDev | null = opts.oneServer ? await startServer("all imports") : null;
  const importOnce = async (file: GeneratedFile, label: string): Promise<SizeResult> => {
    const server = shared ?? (await startServer(label));
    try {
      return await runImport(server, key, file, raws.get(file.rows), opts, label);
    } finally {
      if (!shared) await stopServer(server);
    }
  };

  // 4. Imports
  const results: SizeResult[] = [];
  for (const file of files) {
    const result = await importOnce(file, `${sizeLabel(file.rows)} rows`);
    results.push(result);
    if (shared?.hasExited) break;
    if (result.status === "HTTP 404" || result.status === "HTTP 405") {
      notes.push("The import route is not there (404/405): is the pipeline in src/routes/ wired into the app?");
      break;
    }
  }
  let reimport: SizeResult | null = null;
  // The target is about 1M rows; without that size, the largest file is imported again.
  const biggest = files.find((f) => f.rows === 1_000_000) ?? files.at(-1)!;
  const biggestResult = results.find((r) => r.rows === biggest.rows);
  if (opts.reimport && !shared?.hasExited && biggestResult?.status === "completed") {
    reimport = await importOnce(biggest, `${sizeLabel(biggest.rows)} rows again`);
    reimport.ratio = null;
    const checks: string[] = [];
    if (reimport.unchanged !== null && reimport.unchanged !== biggest.rows) checks.push(`unchanged ${reimport.unchanged} ≠ ${biggest.rows}`);
    if (reimport.productsWritten !== null && reimport.productsWritten !== 0) checks.push(`${reimport.productsWritten} product rows written for unchanged data`);
    if (checks.length > 0) reimport.problem = [reimport.problem, ...checks].filter(Boolean).join("; ");
  } else if (opts.reimport) {
    notes.push(`Re-import skipped: the first import of the ${sizeLabel(biggest.rows)}-row file did not complete.`);
  }

  // 5. Stop wrangler dev, then report (unless the run was interrupted: shutdown() is already on it)
  if (aborted) return;
  if (shared) {
    await stopServer(shared);
    shared = null;
  }

  // 6. Memory baseline: the same writes by local D1 alone, in a runtime of their own (see import/d1-baseline.ts)
  const chunkRows = Number(tomlVar(configDir, "IMPORT_CHUNK_ROWS") ?? 2000);
  for (const result of results) {
    if (result.status !== "completed" || aborted) continue;
    const baseline = await d1OnlyMemory(result.rows, chunkRows, path.join(dataDir, "d1-baseline-state"));
    result.d1OnlyGrowthMb = baseline.growthMb;
    console.log(
      `${sizeLabel(result.rows)} rows, D1 alone (the same writes without a file): RSS ${baseline.startMb.toFixed(0)} → ${baseline.peakMb.toFixed(0)} MB ` +
        `(+${baseline.growthMb.toFixed(0)}) in ${baseline.seconds.toFixed(1)} s`,
    );
  }
  if (aborted) return;

  if (reloads > 0) notes.push(`wrangler dev reloaded the Worker ${reloads} time(s) during the run because source files changed; figures taken across a reload are suspect.`);
  if (badSlices.length > 0) notes.push(`${badSlices.length} \`import slice\` line(s) did not parse, e.g. \`${badSlices[0]!.slice(0, 300)}\``);
  if (notable.length > 0) {
    notes.push(
      `${notable.length} error/warning line(s) in the wrangler dev output (full log: \`${path.relative(repoRoot, logFile)}\`), first ones:` +
        notable
          .slice(0, 8)
          .map((n) => `\n  - wrangler dev ${n.server} \`+${(n.line.at / 1000).toFixed(1)} s\` \`${n.line.text.slice(0, 400).replace(/`/g, "'")}\``)
          .join(""),
    );
  }

  const env = describeEnvironment(command, engine, source, opts.oneServer);
  const busiest = Math.max(...[...results, ...(reimport ? [reimport] : [])].map((r) => Math.max(r.loadBefore, r.loadAfter ?? 0)));
  // The runtime under test keeps about one CPU busy itself; more than half a CPU beyond that is someone else's.
  if (busiest > 1 + env.nproc * 0.25) {
    notes.push(
      `The machine was shared: the 1-minute load average reached ${busiest.toFixed(2)} on ${env.nproc} CPUs during the imports, ` +
        `about 1 of it this benchmark's runtime (other processes, e.g. test runs, competed for the CPUs), so the end-to-end figures are lower than on an idle machine.`,
    );
  }
  env.rawRuns = opts.rawRuns;
  env.importVars = ["IMPORT_SLICE_MS", "IMPORT_SLICE_ROWS", "IMPORT_CHUNK_ROWS"].map((n) => `${n} = ${tomlVar(configDir, n) ?? "(default)"}`).join(", ");
  const targets = evaluateTargets(results, reimport);
  console.log("");
  console.log(consoleTable(results, reimport, targets));
  for (const n of notes) console.log(`Note: ${n}`);
  if (opts.results) {
    writeResultsSection(resultsFile, "Import", markdownSection(env, results, reimport, targets, notes));
    console.log(`\nWrote the "## Import" section of ${path.relative(repoRoot, resultsFile)}.`);
  }
  const finished = results.every((r) => r.status === "completed") && (!opts.reimport || reimport?.status === "completed");
  process.exitCode = finished ? 0 : 1;
}

main().then(
  () => void shutdown(process.exitCode === undefined ? 0 : Number(process.exitCode)),
  (err: unknown) => {
    // After Ctrl-C the work in flight fails (aborted fetches …); that is not worth a stack trace.
    if (aborted) void shutdown(exitCode);
    else if (err instanceof UsageError) {
      console.error(`bench:import: ${err.message}\n${USAGE}`);
      void shutdown(2);
    } else void shutdown(1, `bench:import: ${(err as Error).stack ?? String(err)}`);
  },
);
