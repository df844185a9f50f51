// Raw SQLite work for the benchmarks, run as a child process by sqlite-node.ts:
//   node sqlite-child.mjs --probe <engine>   prints {"ok":true,...} when the engine loads in this Node
//   node sqlite-child.mjs < job.json         runs the job, prints one JSON line ({"ok":false,"error"} on failure)
// Plain JavaScript on purpose: better-sqlite3 is a native module built for one Node ABI, so the copy in
// node_modules may only load in another Node than the benchmark's (npm builds it for the Node that runs npm),
// and that Node may be too old to strip TypeScript types.
// engine: "better-sqlite3" (from the repo's node_modules) or "node:sqlite" (built into Node >= 22.5).
// Jobs:
//   { task: "upsert", engine, db, setup: [sql], upsert: sql, paramsFile, batch }
//       a new database: runs `setup`, then the upsert once per line of paramsFile (a JSON array of bound values
//       each) in one transaction; times BEGIN … upserts … COMMIT only. Prints { insertMs, count } (rows in products).
//   { task: "time", engine, file, groups: { name: [{ name, sql, params }] }, maxIterations, minIterations, maxMs,
//     hardMaxMs, warmup }
//       an existing database, read only: each group's statements run together, repeatedly. Prints per group the
//       median/p10/p90 of a run, each statement's median, its row count and its EXPLAIN QUERY PLAN.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import path from "node:path";

const requireFromRepo = createRequire(path.resolve(import.meta.dirname, "..", "..", "..", "package.json"));

async function open(engine, file, { create = false } = {}) {
  if (engine === "better-sqlite3") {
    const Database = requireFromRepo("better-sqlite3");
    const version = requireFromRepo("better-sqlite3/package.json").version;
    const db = file === ":memory:" || create ? new Database(file) : new Database(file, { fileMustExist: true });
    return { db, label: `better-sqlite3 ${version}`, version, close: () => db.close() };
  }
  if (engine === "node:sqlite") {
    // node:sqlite prints an ExperimentalWarning on first use in Node 22; expected here and not worth a line.
    process.removeAllListeners("warning");
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(file);
    return { db, label: "node:sqlite", version: `SQLite ${process.versions.sqlite ?? "?"}`, close: () => db.close() };
  }
  throw new Error(`unknown engine ${engine}`);
}

const sqliteVersion = (db) => db.prepare("select sqlite_version() as v").get().v;

function sortNum(a) {
  return [...a].sort((x, y) => x - y);
}
function pct(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function probe(engine) {
  const { db, label, version, close } = await open(engine, ":memory:");
  const sqlite = sqliteVersion(db);
  close();
  return { ok: true, engine, label, version, sqlite, node: process.version, execPath: process.execPath };
}

async function upsert(job) {
  const { db, close } = await open(job.engine, job.db, { create: true });
  try {
    for (const sql of job.setup) db.exec(sql);
    const statement = db.prepare(job.upsert);
    let insertNs = 0n;
    let t = process.hrtime.bigint();
    db.exec("BEGIN");
    insertNs += process.hrtime.bigint() - t;
    // Read line by line: a file of millions of rows is larger than one string may be.
    let batch = [];
    const runBatch = () => {
      t = process.hrtime.bigint();
      for (const params of batch) statement.run(...params);
      insertNs += process.hrtime.bigint() - t;
      batch = [];
    };
    for await (const line of createInterface({ input: createReadStream(job.paramsFile), crlfDelay: Infinity })) {
      // Parsing the parameters is not part of the measured work.
      if (line) batch.push(JSON.parse(line));
      if (batch.length >= job.batch) runBatch();
    }
    runBatch();
    t = process.hrtime.bigint();
    db.exec("COMMIT");
    insertNs += process.hrtime.bigint() - t;
    const count = db.prepare("SELECT count(*) AS n FROM products").get().n;
    return { ok: true, insertMs: Number(insertNs) / 1e6, count };
  } finally {
    close();
  }
}

async function time(job) {
  const { db, label, close } = await open(job.engine, job.file);
  try {
    // Read only: nothing here may change the benchmark's database.
    db.exec("PRAGMA query_only = 1");
    const sqlite = sqliteVersion(db);
    const groups = {};
    for (const [name, statements] of Object.entries(job.groups)) {
      const prepared = statements.map((s) => ({ name: s.name, stmt: db.prepare(s.sql), params: s.params }));
      const rows = {};
      for (const p of prepared) rows[p.name] = p.stmt.all(...p.params).length;
      for (let i = 0; i < job.warmup; i++) for (const p of prepared) p.stmt.all(...p.params);
      const totals = [];
      const each = Object.fromEntries(prepared.map((p) => [p.name, []]));
      const started = performance.now();
      while (totals.length < job.maxIterations && (totals.length < job.minIterations || performance.now() - started < job.maxMs)) {
        if (performance.now() - started > job.hardMaxMs) break;
        let sum = 0;
        for (const p of prepared) {
          const t0 = performance.now();
          p.stmt.all(...p.params);
          const dt = performance.now() - t0;
          each[p.name].push(dt);
          sum += dt;
        }
        totals.push(sum);
      }
      const sorted = sortNum(totals);
      groups[name] = {
        iterations: sorted.length,
        medianMs: pct(sorted, 0.5),
        p10Ms: pct(sorted, 0.1),
        p90Ms: pct(sorted, 0.9),
        perStatementMedianMs: Object.fromEntries(Object.entries(each).map(([k, v]) => [k, pct(sortNum(v), 0.5)])),
        rows,
      };
      groups[name].plan = Object.fromEntries(
        statements.map((s) => [s.name, db.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).all(...s.params).map((r) => r.detail)]),
      );
    }
    return { ok: true, engine: job.engine, label, sqlite, node: process.version, groups };
  } finally {
    close();
  }
}

async function main() {
  if (process.argv[2] === "--probe") return probe(process.argv[3]);
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input);
  if (job.task === "upsert") return upsert(job);
  if (job.task === "time") return time(job);
  throw new Error(`unknown task ${job.task}`);
}

main().then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err).replace(/\s+/g, " ").slice(0, 400) })}\n`);
    process.exitCode = 1;
  },
);
