// Import benchmark: `npm run bench:import [-- --rows 10k,100k,1m,6.5m]` (README "Benchmarks").
// 1. CSV files of the rows of data.ts in .data/, reused while unchanged.
// 2. Raw SQLite: the same rows upserted into the same schema in one transaction, insert time only, best of --raw-runs.
// 3. Per file a fresh `wrangler dev` (same persisted D1/R2 state) on a copy of the Worker's sources taken at the
//    start, so that edits made meanwhile cannot reload it: upload, poll the job, sum the consumer's `import slice`
//    log lines, sample the runtime's RSS. Then the 1M-row file (else the largest) again: it must write no product.
// 4. Memory baseline: local D1 grows its page cache with the pages an import touches, inside the Worker's own
//    runtime process; so the same writes are made by D1 alone (the bench Worker's /fill, no file) in a runtime of
//    their own, and flatness is judged on what processing adds beyond that.
// 5. The table and targets; the `## Import` section of RESULTS.md.
import { createHash } from "node:crypto";
import { cpSync, createReadStream, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { scopes } from "../../src/auth/keys.ts";
import { STORED_COLUMNS, storedFields } from "../../src/imports/sources/rows.ts";
import { createKey } from "../lib/keys.ts";
import { api, completeSession, openSession, sendParts } from "../lib/upload-client.ts";
import { changedCells, CSV_HEADER, csvLine, stockFeedLine, productOf, sizeLabel } from "./data.ts";
import { cmdline, count, dataDir, descendants, fixed, int, machine, migrationStatements, procStat, repoRoot, rssMb, runSqlite, sleep, sqliteEngines, tomlValue, workerConfig, wrangler, WranglerDev, writeResults } from "./lib.ts";

const TARGET_ROWS_PER_SEC = 50_000;
const TARGET_RAW_RATIO = 0.3;
/** "Flat": beyond D1's own growth, 1M rows may add this much more than 100k: two read windows, far below a file. */
const FLAT_SLACK_MB = 16;
const GENERATOR = 3; // bump when data.ts changes the rows, so older files are not reused
const stateDir = path.join(dataDir, "state");
const sourceDir = path.join(dataDir, "source");

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000,100000,1000000" },
    "raw-runs": { type: "string", default: "3" },
    "timeout-min": { type: "string", default: "15" },
    "no-raw": { type: "boolean", default: false },
    "no-reimport": { type: "boolean", default: false },
    "no-feed": { type: "boolean", default: false },
    "no-session": { type: "boolean", default: false },
    "no-sync": { type: "boolean", default: false },
    "no-results": { type: "boolean", default: false },
    "no-update": { type: "boolean", default: false },
    // Imports keep no revert data (KEEP_REVERT_DATA=false): the same run, to compare with one that keeps it.
    "no-revert-data": { type: "boolean", default: false },
  },
});
const sizes = [...new Set(args.rows.split(",").filter(Boolean).map(count))].sort((a, b) => a - b);
const rawRuns = Number(args["raw-runs"]);
const timeoutMs = Number(args["timeout-min"]) * 60_000;
const command = `npm run bench:import${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;

// ---- files, raw SQLite, the Worker's sources

/** Writes line(i) for i = 1…rows (null: none), 10,000 lines per write (a file of millions of lines is larger than a string may be). */
function writeLines(file: string, first: string[], rows: number, line: (i: number) => string | null): void {
  const fd = openSync(file, "w");
  for (let from = 1; from <= rows; from += 10_000) {
    const lines = from === 1 ? [...first] : [];
    for (let i = from; i < Math.min(from + 10_000, rows + 1); i++) {
      const text = line(i);
      if (text !== null) lines.push(text);
    }
    writeSync(fd, `${lines.join("\n")}\n`);
  }
  closeSync(fd);
}

/** The replace-mode file of the daily full sync leaves out every LEFT_OUT-th row of the catalog: 1 % of its SKUs. */
const LEFT_OUT = 100;

/** A bench file (reused while unchanged): the catalog, its stock feed, the catalog without 1 % of its rows, or the catalog gzipped. */
function ensureCsv(rows: number, kind: "products" | "stock" | "sync" | "gzip" | "update" = "products"): { file: string; bytes: number } {
  const file = path.join(dataDir, kind === "gzip" ? `products-${rows}.csv.gz` : `${kind}-${rows}.csv`);
  const meta = () => JSON.stringify({ GENERATOR, bytes: statSync(file).size });
  if (existsSync(file) && existsSync(`${file}.json`) && readFileSync(`${file}.json`, "utf8") === meta()) return { file, bytes: statSync(file).size };
  if (kind === "stock") writeLines(file, ["sku,stock"], rows, (i) => stockFeedLine(rows, i));
  else if (kind === "sync") writeLines(file, [CSV_HEADER], rows, (i) => (i % LEFT_OUT === 0 ? null : csvLine(rows, i)));
  else if (kind === "update") writeLines(file, [CSV_HEADER], rows, (i) => csvLine(rows, i, changedCells(rows, i)));
  else if (kind === "gzip") writeFileSync(file, gzipSync(readFileSync(ensureCsv(rows).file)));
  else writeLines(file, [CSV_HEADER], rows, (i) => csvLine(rows, i));
  writeFileSync(`${file}.json`, meta());
  return { file, bytes: statSync(file).size };
}

const PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL"];
const UPSERT = `INSERT INTO products (tenant_id, sku_key, ${STORED_COLUMNS.join(", ")}, created_at, updated_at) VALUES (${Array(STORED_COLUMNS.length + 4).fill("?").join(", ")})
  ON CONFLICT (tenant_id, sku_key) DO UPDATE SET ${STORED_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}, updated_at = excluded.updated_at`;

/** Rows/s of the best of `runs` upserts of the file's rows, as the consumer stores them, into a fresh database (rows built before the timing). */
function rawRate(engine: Parameters<typeof runSqlite>[0], rows: number, runs: number): number {
  const dir = path.join(dataDir, "raw");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const paramsFile = path.join(dir, "params.ndjson");
  const now = Date.now();
  writeLines(paramsFile, [], rows, (i) => {
    const product = productOf(rows, i);
    return JSON.stringify(["ten_bench", product.skuKey, ...storedFields({ ok: true, line: i, product, json: null }, "USD"), now, now]);
  });
  let best = 0;
  for (let run = 0; run < runs; run++) {
    const db = path.join(dir, `raw-${run}.sqlite`);
    const out = runSqlite<{ insertMs: number; count: number }>(engine, { task: "upsert", db, setup: [...PRAGMAS.map((p) => `PRAGMA ${p}`), ...migrationStatements()], upsert: UPSERT, paramsFile });
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });
    if (out.count !== rows) throw new Error(`raw SQLite: ${out.count} products after upserting ${rows} rows`);
    best = Math.max(best, rows / (out.insertMs / 1000));
  }
  rmSync(dir, { recursive: true, force: true });
  return best;
}

/** Copies what the Worker is built from; wrangler dev run from the copy builds the tree as it was at the start. */
function snapshotSource(): string {
  rmSync(sourceDir, { recursive: true, force: true });
  const hash = createHash("sha256");
  let files = 0;
  for (const entry of ["src", "migrations", "wrangler.toml", "tsconfig.json", "package.json", ".dev.vars", "public", "scripts/docs-assets.mjs"]) {
    if (!existsSync(path.join(repoRoot, entry))) continue;
    cpSync(path.join(repoRoot, entry), path.join(sourceDir, entry), { recursive: true });
    const list = statSync(path.join(sourceDir, entry)).isDirectory() ? readdirSync(path.join(sourceDir, entry), { recursive: true, encoding: "utf8" }).sort().map((f) => path.join(entry, f)) : [entry];
    for (const f of list.filter((f) => statSync(path.join(sourceDir, f)).isFile())) files++, hash.update(`${f}\0`).update(readFileSync(path.join(sourceDir, f)));
  }
  // wrangler's [build] command (scripts/docs-assets.mjs) copies a bundle from the copy's node_modules.
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(sourceDir, "node_modules"), "dir");
  return `a copy of the working tree taken at the start (${files} files, content hash ${hash.digest("hex").slice(0, 12)})`;
}

// ---- the runtime's memory and CPU

/** Samples, every 100 ms, the workerd processes below a wrangler dev; the one started with an inspector runs the Worker. */
class Sampler {
  private readonly wranglerPid: number;
  private procs: number[] = [];
  private worker = -1;
  private scanned = 0;
  private readonly cpu0: number;
  private readonly timer: NodeJS.Timeout;
  startMb = -1;
  peakMb = 0;
  totalMb = 0;
  markMb: number | null = null;
  markPeakMb: number | null = null;

  constructor(wranglerPid: number) {
    this.wranglerPid = wranglerPid;
    this.sample();
    this.cpu0 = procStat(this.worker)?.cpuS ?? 0;
    this.timer = setInterval(() => this.sample(), 100);
  }

  private sample(): void {
    if (Date.now() - this.scanned > 1000 || this.procs.length === 0) {
      this.scanned = Date.now();
      this.procs = descendants(this.wranglerPid).filter((p) => p.comm === "workerd").map((p) => p.pid);
      this.worker = this.procs.find((pid) => cmdline(pid).includes("--inspector-addr")) ?? this.worker;
    }
    const worker = rssMb(this.worker);
    if (worker === null) return;
    if (this.startMb < 0) this.startMb = worker;
    this.peakMb = Math.max(this.peakMb, worker);
    this.totalMb = Math.max(this.totalMb, this.procs.reduce((a, pid) => a + (rssMb(pid) ?? 0), 0));
    if (this.markPeakMb !== null) this.markPeakMb = Math.max(this.markPeakMb, worker);
  }

  /** From now on a second peak: what the work after this point adds to the memory already held. */
  mark(): void {
    this.markMb = this.markPeakMb = rssMb(this.worker);
  }

  /** CPU seconds the Worker's process used since the start. */
  stop(): number | null {
    clearInterval(this.timer);
    this.sample();
    const cpu = procStat(this.worker)?.cpuS;
    return cpu === undefined ? null : cpu - this.cpu0;
  }
}

// ---- one import

type Job = { id: string; status: string; processed_rows: number; duration_ms: number | null; created: number; updated: number; unchanged: number; error_count: number; archived?: number; keeps_revert_data?: boolean };

/** How a run sends its file: a direct upload (with these query options), or an upload session of the file as it is (gzipped). */
type Sending = { via: "upload"; query?: Record<string, string> } | { via: "session" };
const newResult = (csv: { rows: number; bytes: number }, raw: number | null) => ({
  ...{ rows: csv.rows, bytes: csv.bytes, raw, status: "not started", problems: [] as string[], job: null as Job | null, sliceMs: [] as number[], load: [os.loadavg()[0]!, 0] as [number, number] },
  ...{ polls: 0, maxPollMs: 0, wallS: null as number | null, uploadS: null as number | null, queueMs: null as number | null, inflateMs: null as number | null, replaceMs: null as number | null },
  ...{ productsWritten: null as number | null, d1RowsWritten: null as number | null, mem: null as Sampler | null, cpuS: null as number | null, d1OnlyMb: null as number | null },
});
type Result = ReturnType<typeof newResult>;

const rate = (r: Result | undefined) => (r?.status === "completed" && r.wallS ? r.rows / r.wallS : null);
const ratio = (r: Result | undefined) => (rate(r) !== null && r?.raw ? rate(r)! / r.raw : null);
const growth = (r: Result | undefined) => (r?.mem?.markPeakMb != null && r.mem.markMb != null ? r.mem.markPeakMb - r.mem.markMb : null);
const workerShare = (r: Result | undefined) => (growth(r) === null || r?.d1OnlyMb == null ? null : growth(r)! - r.d1OnlyMb);

/** Sends the file and answers the job's creation: the upload's response, or (a session) its completion's job. */
async function send(server: WranglerDev, key: string, csv: { file: string; bytes: number }, sending: Sending): Promise<{ status: number; text: string }> {
  if (sending.via === "session") {
    const call = api({ url: server.url, key });
    const session = await openSession(call, { size: csv.bytes, filename: path.basename(csv.file), contentType: "text/csv", gzip: true });
    const handle = await open(csv.file);
    try {
      const readPart = async (start: number, end: number) => {
        const bytes = new Uint8Array(end - start);
        await handle.read(bytes, 0, bytes.length, start);
        return bytes;
      };
      await sendParts(call, session, readPart, { concurrency: 4, sent: () => undefined });
    } finally {
      await handle.close();
    }
    return { status: 202, text: JSON.stringify(await completeSession(call, session, {})) };
  }
  const query = new URLSearchParams({ filename: path.basename(csv.file), ...sending.query });
  const response = await fetch(`${server.url}/api/v1/products/import?${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "text/csv", "content-length": String(csv.bytes) },
    body: Readable.toWeb(createReadStream(csv.file)) as ReadableStream<Uint8Array>,
    duplex: "half",
    signal: AbortSignal.timeout(timeoutMs),
  } as RequestInit);
  return { status: response.status, text: await response.text() };
}

async function runImport(server: WranglerDev, key: string, csv: { file: string; bytes: number; rows: number }, raw: number | null, label: string, sending: Sending = { via: "upload" }): Promise<Result> {
  const r = newResult(csv, raw);
  const auth = { authorization: `Bearer ${key}` };
  const sampler = (r.mem = new Sampler(server.pid));
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  try {
    process.stdout.write(`${label}: uploading ${(csv.bytes / 1e6).toFixed(1)} MB … `);
    const response = await send(server, key, csv, sending);
    r.uploadS = elapsed();
    const text = response.text;
    if (response.status !== 202) {
      r.status = `HTTP ${response.status}`;
      r.problems.push(`upload answered ${response.status}: ${text.slice(0, 600)}`);
      return r;
    }
    // Processing is measured from here: the local R2 keeps memory after storing an upload, which processing does not cause.
    sampler.mark();
    let job = JSON.parse(text) as Job & { failure_reason?: string; created_at?: string; started_at?: string; rejected_rows?: number };
    console.log(`202 in ${r.uploadS.toFixed(2)} s, job ${job.id}`);
    let progress = [performance.now(), -1];
    while (job.status !== "completed" && job.status !== "failed") {
      if (elapsed() * 1000 > timeoutMs || performance.now() - progress[0]! > 300_000 || server.exited) {
        r.status = server.exited ? `wrangler dev ended (${server.exited})` : `timeout or stalled (${job.status}, ${job.processed_rows} rows)`;
        return r;
      }
      await sleep(250);
      const p0 = performance.now();
      const poll = await fetch(`${server.url}/api/v1/products/import/${job.id}`, { headers: auth, signal: AbortSignal.timeout(30_000) }).catch(() => null);
      if (!poll?.ok) continue;
      job = await poll.json();
      r.polls++;
      r.maxPollMs = Math.max(r.maxPollMs, performance.now() - p0);
      if (job.processed_rows !== progress[1]) progress = [performance.now(), job.processed_rows];
    }
    r.wallS = elapsed();
    r.status = job.status;
    r.job = job;
    if (job.status === "failed") r.problems.push(`job failed: ${job.failure_reason}`);
    if (job.created_at && job.started_at) r.queueMs = Date.parse(job.started_at) - Date.parse(job.created_at);
    // The sums of the consumer's slice log lines; the last line may trail the job update a little.
    const slices: { rows: number; products_written: number; d1_rows_written: number; ms: number }[] = [];
    // A compressed file's inflate, and a replace-mode import's count and archive after its last row, log their own lines.
    const inflateMs: number[] = [];
    const replaceMs: number[] = [];
    const sum = (k: "rows" | "products_written" | "d1_rows_written") => slices.reduce((a, s) => a + s[k], 0);
    for (let wait = 0; wait < 30 && sum("rows") < job.processed_rows; wait++) {
      for (const line of server.lines()) {
        let entry: ((typeof slices)[number] & { job_id: string; phase?: string }) | null = null;
        try {
          if (line.includes('"import slice"')) entry = JSON.parse(line.slice(line.indexOf("{")));
          if (line.includes('"inflate slice"')) {
            const inflate = JSON.parse(line.slice(line.indexOf("{"))) as { job_id: string; ms: number };
            if (inflate.job_id === job.id) inflateMs.push(inflate.ms);
          }
        } catch {
          r.problems.push(`an \`import slice\` line did not parse: ${line.slice(0, 200)}`);
        }
        if (entry?.job_id === job.id) {
          if (entry.phase === undefined) slices.push(entry);
          else replaceMs.push(entry.ms);
        }
      }
      if (sum("rows") < job.processed_rows) await sleep(100);
    }
    [r.sliceMs, r.productsWritten, r.d1RowsWritten] = [slices.map((s) => s.ms), sum("products_written"), sum("d1_rows_written")];
    if (inflateMs.length > 0) r.inflateMs = inflateMs.reduce((a, b) => a + b, 0);
    if (replaceMs.length > 0) r.replaceMs = replaceMs.reduce((a, b) => a + b, 0);
    const rejected = job.rejected_rows ?? job.error_count;
    if (job.status === "completed") {
      if (job.processed_rows !== csv.rows) r.problems.push(`processed_rows ${job.processed_rows} ≠ ${csv.rows} rows in the file`);
      if (job.error_count !== 0) r.problems.push(`${job.error_count} row errors`);
      if (sum("rows") !== job.processed_rows) r.problems.push(`the slice log lines sum to ${sum("rows")} rows`);
      if (job.created + job.updated + job.unchanged + rejected !== job.processed_rows) r.problems.push("created + updated + unchanged + rejected ≠ processed_rows");
      if (r.productsWritten !== job.created + job.updated) r.problems.push(`products_written ${r.productsWritten} ≠ created + updated ${job.created + job.updated}`);
    }
    return r;
  } catch (err) {
    r.status = "error";
    r.problems.push(`${(err as Error).message} after ${elapsed().toFixed(1)} s`);
    return r;
  } finally {
    r.cpuS = sampler.stop();
    r.load[1] = os.loadavg()[0]!;
    server.lines();
    if (server.reloads) r.problems.push(`wrangler dev reloaded the Worker ${server.reloads} time(s) (source files changed)`);
    if (server.notable.length) r.problems.push(`${server.notable.length} error/warning line(s) in ${path.relative(repoRoot, server.log)}, first: \`${server.notable[0]}\``);
    console.log(`${label}: ${r.status}${r.wallS ? `, ${r.wallS.toFixed(2)} s, ${int(rate(r))} rows/s` : ""}, workerd CPU ${fixed(r.cpuS, 1)} s, peak runtime RSS ${int(sampler.peakMb)} MB${r.problems.map((p) => `\n  ! ${p}`).join("")}`);
  }
}

/** Peak RSS growth of a runtime of the bench Worker while local D1 alone makes the same writes as an import of `rows`. */
async function d1OnlyGrowth(rows: number, chunk: number): Promise<number> {
  const state = path.join(dataDir, "d1-baseline-state");
  rmSync(state, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "-c", workerConfig]);
  const server = await WranglerDev.start({ config: workerConfig, persistTo: state, log: path.join(dataDir, "d1-baseline.log") });
  try {
    const sampler = new Sampler(server.pid);
    sampler.mark();
    const response = await fetch(`${server.url}/fill?rows=${rows}&chunk=${chunk}`, { method: "POST", signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    sampler.stop();
    if (!response.ok || (JSON.parse(body) as { products_written: number }).products_written !== rows) throw new Error(`D1 baseline: ${response.status} ${body.slice(0, 500)}`);
    return sampler.markPeakMb! - sampler.markMb!;
  } finally {
    await server.stop();
  }
}

// ---- report

/** The daily full sync (replace mode) may take this much of the upsert re-import's wall time. */
const TARGET_SYNC_RATIO = 1.5;
const wallRatio = (a: Result | null, b: Result | null) => (a?.status === "completed" && b?.status === "completed" && a.wallS && b.wallS ? a.wallS / b.wallS : null);

function targets(results: Result[], again: Result | null, sync: Result | null): [boolean | null, string, string][] {
  const m1 = results.find((r) => r.rows === 1_000_000);
  const k100 = results.find((r) => r.rows === 100_000);
  const [a, b] = [workerShare(k100), workerShare(m1)];
  const signed = (n: number) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(0)}`;
  // An unfinished re-import proves nothing about the rows it did not reach; rows it wrote still count.
  const written = again?.productsWritten ?? null;
  return [
    [rate(m1) === null ? null : rate(m1)! >= TARGET_ROWS_PER_SEC, `≥ ${int(TARGET_ROWS_PER_SEC)} rows/s end to end for 1M rows`, m1 ? `${int(rate(m1))} rows/s` : "1M rows not run"],
    [ratio(m1) === null ? null : ratio(m1)! >= TARGET_RAW_RATIO, `≥ ${TARGET_RAW_RATIO} of raw SQLite (1M rows)`, m1 ? `${fixed(ratio(m1), 3)} of raw` : "1M rows not run"],
    [
      a === null || b === null ? null : b <= a + FLAT_SLACK_MB,
      `peak runtime memory flat from 100k to 1M rows (what processing adds to the runtime's RSS beyond local D1 alone, 1M ≤ 100k + ${FLAT_SLACK_MB} MB)`,
      a === null || b === null
        ? "needs 100k and 1M rows, each with its D1 baseline"
        : `${signed(a)} MB → ${signed(b)} MB (processing +${int(growth(k100))} → +${int(growth(m1))} MB, D1 alone +${int(k100!.d1OnlyMb)} → +${int(m1!.d1OnlyMb)} MB; ` +
          `whole-run peaks incl. the upload ${int(k100!.mem?.peakMb)} → ${int(m1!.mem?.peakMb)} MB)`,
    ],
    [written === null || (written === 0 && again?.status !== "completed") ? null : written === 0, "re-import writes 0 product rows", again ? `${int(again.productsWritten)} product rows written, ${int(again.job?.unchanged)} unchanged (${int(again.rows)} rows; ${again.status})` : "not run"],
    [
      wallRatio(sync, again) === null ? null : wallRatio(sync, again)! <= TARGET_SYNC_RATIO,
      `the daily full sync (replace mode, 1 % of the SKUs left out) takes ≤ ${TARGET_SYNC_RATIO}× the upsert re-import's wall time`,
      sync ? `${fixed(wallRatio(sync, again), 2)}× (${fixed(sync.wallS, 2)} s vs ${fixed(again?.wallS ?? null, 2)} s; ${sync.status})` : "not run",
    ],
  ];
}

const HEAD = ["rows", "file MB", "wall s", "rows/s", "job duration_ms", "D1 rows written", "products written", "peak runtime RSS MB", "raw SQLite rows/s", "ratio"];
const cells = (r: Result) => [int(r.rows), fixed(r.bytes / 1e6, 1), fixed(r.wallS, 2), int(rate(r)), int(r.job?.duration_ms), int(r.d1RowsWritten), int(r.productsWritten)].concat(
  r.mem ? `${int(r.mem.peakMb)} (before ${int(r.mem.startMb)}; all workerd ${int(r.mem.totalMb)})` : "–",
  int(r.raw),
  fixed(ratio(r), 3),
);

function detail(r: Result, what: string): string {
  const cpu = r.cpuS !== null && r.wallS ? `Worker workerd CPU ${r.cpuS.toFixed(1)} s (${((r.cpuS / r.wallS) * 100).toFixed(0)} % of one core over the wall time)` : null;
  return [
    `**${int(r.rows)} rows${what}**: ${r.status}`,
    r.uploadS !== null && `upload ${r.uploadS.toFixed(2)} s (${(r.bytes / 1e6 / r.uploadS).toFixed(0)} MB/s as sent) to the job's creation`,
    r.inflateMs !== null && `inflate ${int(r.inflateMs)} ms`,
    r.replaceMs !== null && `counting and archiving what the file did not mention ${int(r.replaceMs)} ms`,
    r.queueMs !== null && `created → started ${int(r.queueMs)} ms`,
    r.sliceMs.length > 0 && `${r.sliceMs.length} slice(s) of ${r.sliceMs.map(int).join(" / ")} ms`,
    cpu,
    r.polls > 0 && `slowest of ${r.polls} status polls ${int(r.maxPollMs)} ms`,
    r.mem && `RSS ${int(r.mem.startMb)} → ${int(r.mem.peakMb)} MB; while processing ${int(r.mem.markMb)} → ${int(r.mem.markPeakMb)} MB (+${int(growth(r))}${r.d1OnlyMb === null ? "" : `; local D1 alone, the same writes: +${int(r.d1OnlyMb)}`})`,
    `load average ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)}`,
  ].filter(Boolean).join("; ");
}

interface Extras {
  /** The biggest file again, as it is: a re-import. */
  again: Result | null;
  /** The same re-import, gzipped and sent through an upload session. */
  gzipped: Result | null;
  /** The same file in replace mode without 1 % of its rows. */
  sync: Result | null;
  feed: Result | null;
  /** The same SKUs with every field changed. */
  update: Result | null;
}

function report(env: string[], results: Result[], { again, gzipped, sync, feed, update }: Extras, notes: string[]): void {
  const all = [...results, again, gzipped, sync, feed, update].filter((r): r is Result => r !== null);
  const plainMb = again ? again.bytes / 1e6 : null;
  const gzippedLine = gzipped
    ? `Upload session, gzipped (the ${int(gzipped.rows)}-row file, ${fixed(plainMb, 1)} MB as ${fixed(gzipped.bytes / 1e6, 1)} MB of gzip; a re-import, beside the plain one): status ${gzipped.status}, ` +
      `upload and completion ${fixed(gzipped.uploadS, 2)} s (${fixed(gzipped.uploadS ? gzipped.bytes / 1e6 / gzipped.uploadS : null, 0)} MB/s as sent, ${fixed(gzipped.uploadS && plainMb ? plainMb / gzipped.uploadS : null, 0)} MB/s of CSV; plain upload ${fixed(again?.uploadS ?? null, 2)} s), ` +
      `inflate ${fixed(gzipped.inflateMs === null ? null : gzipped.inflateMs / 1000, 2)} s, wall ${fixed(gzipped.wallS, 2)} s, **${int(rate(gzipped))} rows/s** (plain ${int(rate(again ?? undefined))} rows/s), ` +
      `peak runtime RSS ${int(gzipped.mem?.peakMb)} MB (plain ${int(again?.mem?.peakMb)} MB), while processing +${int(growth(gzipped))} MB (plain +${int(growth(again ?? undefined))} MB).`
    : "Upload session, gzipped: not run.";
  const syncLine = sync
    ? `Daily full sync (\`mode=replace\`, the same file without every ${LEFT_OUT}th row, nothing else changed): status ${sync.status}, wall ${fixed(sync.wallS, 2)} s, ${int(rate(sync))} rows/s, ` +
      `archived ${int(sync.job?.archived)} (counting and archiving ${int(sync.replaceMs)} ms), unchanged ${int(sync.job?.unchanged)}, job duration_ms ${int(sync.job?.duration_ms)}, D1 rows written ${int(sync.d1RowsWritten)}, peak runtime RSS ${int(sync.mem?.peakMb)} MB; ` +
      `**${fixed(wallRatio(sync, again), 2)}× the upsert re-import's wall time**.`
    : "Daily full sync: not run.";
  const full = results.find((r) => r.rows === feed?.rows);
  const feedLine = feed
    ? `Stock feed (\`sku,stock\`, the same ${int(feed.rows)} SKUs, every stock changed): status ${feed.status}, wall ${fixed(feed.wallS, 2)} s, **${int(rate(feed))} rows/s** ` +
      `(${fixed(rate(feed) && rate(full) ? rate(feed)! / rate(full)! : null, 2)} × the full-row file's ${int(rate(full))} rows/s), job duration_ms ${int(feed.job?.duration_ms)}, ` +
      `updated ${int(feed.job?.updated)}, products written ${int(feed.productsWritten)}, D1 rows written ${int(feed.d1RowsWritten)}, peak runtime RSS ${int(feed.mem?.peakMb)} MB.`
    : "Stock feed: not run.";
  const updateLine = update
    ? `Full-row update (the same ${int(update.rows)} SKUs, every field but SKU and currency changed; revert data ${args["no-revert-data"] ? "**not kept** (--no-revert-data)" : "**kept**"}): ` +
      `status ${update.status}, wall ${fixed(update.wallS, 2)} s, **${int(rate(update))} rows/s**, job duration_ms ${int(update.job?.duration_ms)}, ` +
      `Worker workerd CPU ${fixed(update.cpuS, 1)} s, updated ${int(update.job?.updated)}, products written ${int(update.productsWritten)}, D1 rows written ${int(update.d1RowsWritten)}, ` +
      `peak runtime RSS ${int(update.mem?.peakMb)} MB.`
    : "Full-row update: not run.";
  const table = [`| ${HEAD.join(" | ")} |`, `| ${HEAD.map((_, i) => (i ? "---:" : "---")).join(" | ")} |`, ...results.map((r) => `| ${cells(r).join(" | ")} |`)];
  const verdicts = targets(results, again, sync).map(([met, text, why]) => `- ${met === null ? "⚪ not measured" : met ? "✅ met" : "❌ not met"}: ${text} (${why})`);
  console.log(`\n${[...table, ...(again ? [`| ${cells(again).join(" | ")} | (re-import)`] : []), "", gzippedLine, "", syncLine, "", feedLine, "", updateLine, "", ...verdicts, ...notes.map((n) => `Note: ${n}`)].join("\n")}`);
  if (args["no-results"]) return;
  const md = [
    ...["## Import", "", ...env, "", ...table, ""],
    "Wall s: upload start → job seen `completed`/`failed` (polled every 250 ms). D1 rows written and products written: sums of the consumer's `import slice` log lines for the job. Peak runtime RSS: largest VmRSS of the workerd process running the Worker (sampled every 100 ms); in brackets its RSS when the upload started and the largest sum over all workerd processes of `wrangler dev`. That process also hosts the local D1, R2 and Queues simulators: the local R2 keeps memory after storing an upload, and local D1's page cache grows with the pages an import touches. So memory flatness is judged on what processing adds (peak RSS from the upload's 202 on, minus the RSS then) beyond what local D1 alone adds for the same writes in a runtime of its own (the bench Worker's /fill). Ratio: end-to-end rows/s ÷ raw SQLite rows/s.",
    ...["", "Per import:", ""],
    ...all.map((r) => `- ${detail(r, labelOf(r, { again, gzipped, sync, feed, update }))}`),
    "",
    again
      ? `Re-import of the ${int(again.rows)}-row file (same tenant, same content): status ${again.status}, wall ${fixed(again.wallS, 2)} s (${int(rate(again))} rows/s), ` +
        `job duration_ms ${int(again.job?.duration_ms)}, products written **${int(again.productsWritten)}**, D1 rows written ${int(again.d1RowsWritten)}, ` +
        `unchanged ${int(again.job?.unchanged)}, created ${int(again.job?.created)}, updated ${int(again.job?.updated)}, errors ${int(again.job?.error_count)}, peak runtime RSS ${int(again.mem?.peakMb)} MB.`
      : "Re-import: not run.",
    "",
    gzippedLine,
    "",
    syncLine,
    "",
    feedLine,
    "",
    updateLine,
    ...["", "Targets:", "", ...verdicts],
    ...(notes.length ? ["", "Notes:", "", ...notes.map((n) => `- ${n}`)] : []),
  ];
  writeResults("Import", md.join("\n"));
  console.log(`\nWrote the "## Import" section of scripts/bench/RESULTS.md.`);
}

/** How a run is named beside its rows. */
function labelOf(r: Result, extras: Extras): string {
  const names: Record<keyof Extras, string> = {
    again: " (re-import)",
    gzipped: " (gzipped upload session)",
    sync: " (full sync)",
    feed: " (stock feed)",
    update: " (full-row update)",
  };
  const which = (Object.keys(names) as (keyof Extras)[]).find((k) => extras[k] === r);
  return which ? names[which] : "";
}

// ---- main

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const files = sizes.map((rows) => ({ ...ensureCsv(rows), rows }));
  for (const f of files) console.log(`${sizeLabel(f.rows)} rows: ${path.relative(repoRoot, f.file)} ${(f.bytes / 1e6).toFixed(1)} MB`);

  // Raw SQLite before any wrangler starts, so the two never compete for the CPUs.
  const raws = new Map<number, number>();
  const { engines, notes } = args["no-raw"] ? { engines: [], notes: [] } : sqliteEngines();
  const engine = engines[0];
  for (const rows of engine ? sizes : []) {
    raws.set(rows, rawRate(engine!, rows, rawRuns));
    console.log(`raw SQLite (${engine!.label}) ${sizeLabel(rows)}: ${int(raws.get(rows))} rows/s (best of ${rawRuns})`);
  }

  const source = snapshotSource();
  rmSync(stateDir, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], sourceDir);
  process.env.KEY_CLI_PERSIST_TO = stateDir; // before wrangler dev opens the database: never two writers at once
  const { key } = await createKey("bench", scopes, "bench:import", "local");
  const config = path.join(sourceDir, "wrangler.toml");
  const limit = Number(tomlValue(config, "MAX_UPLOAD_BYTES") ?? 104_857_600);
  // The full-row update's file is larger than the catalog's (its values are longer).
  const updateFile = args["no-update"] ? null : ensureCsv(files.find((f) => f.rows === 1_000_000)?.rows ?? files.at(-1)!.rows, "update");
  const largest = Math.max(...files.map((f) => f.bytes), updateFile?.bytes ?? 0);
  const vars: Record<string, string> = {};
  if (args["no-revert-data"]) vars.KEEP_REVERT_DATA = "false";
  if (largest > limit) {
    vars.MAX_UPLOAD_BYTES = String(Math.ceil((largest * 1.1) / 2 ** 20) * 2 ** 20);
    notes.push(`The largest file (${(largest / 1e6).toFixed(1)} MB) exceeds MAX_UPLOAD_BYTES = ${limit} from wrangler.toml, so this run started wrangler dev with \`--var MAX_UPLOAD_BYTES:${vars.MAX_UPLOAD_BYTES}\`; with the configured limit such a file is refused (413).`);
  }
  // A fresh runtime per import, so that each import's peak RSS is its own.
  const importOnce = async (file: (typeof files)[number], label: string, sending?: Sending) => {
    // At a log level above "log", wrangler would drop the consumer's slice lines.
    const server = await WranglerDev.start({ cwd: sourceDir, persistTo: stateDir, vars, args: ["--log-level", "log"], log: path.join(dataDir, `wrangler-dev-${label.replace(/\W+/g, "-")}.log`) });
    try {
      return await runImport(server, key, file, raws.get(file.rows) ?? null, label, sending);
    } finally {
      await server.stop();
    }
  };
  const results: Result[] = [];
  for (const f of files) results.push(await importOnce(f, `${sizeLabel(f.rows)} rows`));
  const biggest = files.find((f) => f.rows === 1_000_000) ?? files.at(-1)!;
  let again: Result | null = null;
  if (!args["no-reimport"] && results.find((r) => r.rows === biggest.rows)?.status === "completed") {
    again = await importOnce(biggest, `${sizeLabel(biggest.rows)} rows again`);
    again.raw = null;
    if (again.productsWritten !== 0 || again.job?.unchanged !== biggest.rows) again.problems.push(`re-import wrote ${again.productsWritten} products, ${again.job?.unchanged} unchanged`);
  }

  const imported = results.find((r) => r.rows === biggest.rows)?.status === "completed";
  const label = sizeLabel(biggest.rows);

  // The same re-import, sent as a client sends a file beyond MAX_UPLOAD_BYTES: gzipped, through an upload session.
  let gzipped: Result | null = null;
  if (!args["no-session"] && imported) {
    gzipped = await importOnce({ ...ensureCsv(biggest.rows, "gzip"), rows: biggest.rows }, `${label} rows gzipped, upload session`, { via: "session" });
    gzipped.raw = null;
    if (gzipped.job?.unchanged !== biggest.rows) gzipped.problems.push(`the gzipped re-import left ${gzipped.job?.unchanged} of ${biggest.rows} products unchanged`);
  }

  // The daily full sync: the catalog again in replace mode, without 1 % of its rows, which it archives.
  let sync: Result | null = null;
  if (!args["no-sync"] && imported) {
    // What it archives: the rows it leaves out, and the products of the run's other files (their SKUs differ).
    const unmentioned = Math.floor(biggest.rows / LEFT_OUT) + files.filter((f) => f !== biggest && results.find((r) => r.rows === f.rows)?.status === "completed").reduce((n, f) => n + f.rows, 0);
    sync = await importOnce({ ...ensureCsv(biggest.rows, "sync"), rows: biggest.rows - Math.floor(biggest.rows / LEFT_OUT) }, `${label} rows full sync`, { via: "upload", query: { mode: "replace" } });
    sync.raw = null;
    if (sync.job?.archived !== unmentioned) sync.problems.push(`the full sync archived ${sync.job?.archived} products, not the ${unmentioned} it did not mention`);
  }

  // An inventory feed (sku,stock) of the same SKUs: every row asks the catalog (catalog-lookup.ts) and updates.
  let feed: Result | null = null;
  if (!args["no-feed"] && imported) {
    feed = await importOnce({ ...ensureCsv(biggest.rows, "stock"), rows: biggest.rows }, `${sizeLabel(biggest.rows)} rows stock feed`);
    feed.raw = null;
    if (feed.job?.updated !== biggest.rows) feed.problems.push(`stock feed updated ${feed.job?.updated} of ${biggest.rows} products`);
  }

  // Last, as it changes every product the others start from: the full-row update (every field of every row changed),
  // whose cost is what revert data adds (one revision per product changed; compare with --no-revert-data).
  let update: Result | null = null;
  if (!args["no-update"] && imported) {
    update = await importOnce({ ...ensureCsv(biggest.rows, "update"), rows: biggest.rows }, `${label} rows full-row update`);
    update.raw = null;
    if (update.job?.updated !== biggest.rows) update.problems.push(`the full-row update updated ${update.job?.updated} of ${biggest.rows} products`);
    const keeps = update.job?.keeps_revert_data;
    if (keeps !== !args["no-revert-data"]) update.problems.push(`the update's keeps_revert_data is ${keeps}`);
  }

  const chunk = Number(tomlValue(config, "IMPORT_CHUNK_ROWS") ?? 2000);
  for (const r of results.filter((r) => r.status === "completed")) {
    r.d1OnlyMb = await d1OnlyGrowth(r.rows, chunk);
    console.log(`${sizeLabel(r.rows)} rows, local D1 alone (the same writes, no file): +${int(r.d1OnlyMb)} MB`);
  }
  rmSync(path.join(path.dirname(workerConfig), ".wrangler"), { recursive: true, force: true }); // the bench Worker's bundle
  const extras: Extras = { again, gzipped, sync, feed, update };
  for (const r of [...results, again, gzipped, sync, feed, update]) for (const p of r?.problems ?? []) notes.push(`${int(r!.rows)} rows${labelOf(r!, extras)}: ${p}`);
  const { cpus, line } = machine();
  const busiest = Math.max(...results.flatMap((r) => r.load));
  // The runtime under test keeps about one CPU busy itself; beyond that, another process competed.
  if (busiest > 1 + cpus * 0.25) notes.push(`The machine was shared: the 1-minute load average reached ${busiest.toFixed(2)} on ${cpus} CPUs during the imports, so the end-to-end figures are lower than on an idle machine.`);
  const importVars = ["IMPORT_SLICE_MS", "IMPORT_SLICE_ROWS", "IMPORT_CHUNK_ROWS"].map((n) => `${n} = ${tomlValue(config, n) ?? "(default)"}`).join(", ");
  rmSync(sourceDir, { recursive: true, force: true }); // the copy of the Worker's sources has served its runs
  const env = [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${line}`,
    `- Command: \`${command}\``,
    `- Worker built from ${source}; a fresh wrangler dev per import (same persisted D1/R2 state); ${importVars}`,
    `- Raw SQLite baseline: ${engine ? `${engine.label} under ${engine.node} (Node ${engine.nodeVersion})` : "not run"}; ${PRAGMAS.join(", ")}; one transaction, one prepared upsert, insert time only; best of ${rawRuns} run(s)`,
  ];
  report(env, results, extras, notes);
  process.exitCode = results.every((r) => r.status === "completed") && (args["no-reimport"] || again?.status === "completed") ? 0 : 1;
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`bench:import: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
