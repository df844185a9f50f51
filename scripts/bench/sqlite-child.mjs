// Raw SQLite for the benchmarks, run by lib.ts as a child process; prints one JSON line ({"ok":false,"error"} on failure).
//   node sqlite-child.mjs --probe <engine>    whether the engine loads in this Node
//   node sqlite-child.mjs < job.json          { task: "upsert", engine, db, setup, upsert, paramsFile }: a new database,
//       `setup`, then the upsert once per line of paramsFile in one transaction; times BEGIN … COMMIT only.
//       { task: "time", engine, file, groups: { name: [{ name, sql, params }] } }: an existing database, read only;
//       each group's statements run together, repeatedly: median/p10/p90, each statement's median, rows, plan.
// Plain JavaScript: better-sqlite3's addon may only load in an older Node than the benchmark's, one that cannot
// strip TypeScript types.
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";

const requireFromRepo = createRequire(path.resolve(import.meta.dirname, "..", "..", "package.json"));

async function open(engine, file) {
  if (engine === "better-sqlite3") {
    const Database = requireFromRepo("better-sqlite3");
    return { db: new Database(file), label: `better-sqlite3 ${requireFromRepo("better-sqlite3/package.json").version}` };
  }
  process.removeAllListeners("warning"); // node:sqlite's ExperimentalWarning on Node 22
  const { DatabaseSync } = await import("node:sqlite");
  return { db: new DatabaseSync(file), label: "node:sqlite" };
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

async function upsert(job) {
  const { db } = await open(job.engine, job.db);
  for (const sql of job.setup) db.exec(sql);
  const statement = db.prepare(job.upsert);
  let [ns, batch] = [0n, []];
  const timed = (fn) => {
    const t = process.hrtime.bigint();
    fn();
    ns += process.hrtime.bigint() - t;
  };
  const flush = () => {
    timed(() => batch.forEach((p) => statement.run(...p)));
    batch = [];
  };
  timed(() => db.exec("BEGIN"));
  // A batch at a time (a file of millions of rows is larger than a string may be); parsing is not timed.
  for await (const line of createInterface({ input: createReadStream(job.paramsFile) })) {
    if (line) batch.push(JSON.parse(line));
    if (batch.length >= 10_000) flush();
  }
  flush();
  timed(() => db.exec("COMMIT"));
  const count = db.prepare("SELECT count(*) AS n FROM products").get().n;
  db.close();
  return { ok: true, insertMs: Number(ns) / 1e6, count };
}

async function time(job) {
  const { db } = await open(job.engine, job.file);
  db.exec("PRAGMA query_only = 1");
  const groups = {};
  for (const [name, statements] of Object.entries(job.groups)) {
    const prepared = statements.map((s) => ({ ...s, stmt: db.prepare(s.sql) }));
    const rows = Object.fromEntries(prepared.map((p) => [p.name, p.stmt.all(...p.params).length]));
    for (let i = 0; i < 2; i++) prepared.forEach((p) => p.stmt.all(...p.params));
    const [totals, each, started] = [[], Object.fromEntries(prepared.map((p) => [p.name, []])), performance.now()];
    // At least 5 runs, at most 1000, 2 s unless fewer than 5 took longer; never past 30 s.
    while (totals.length < 1000 && (totals.length < 5 || performance.now() - started < 2000) && performance.now() - started < 30_000) {
      const t0 = performance.now();
      for (const p of prepared) {
        const t = performance.now();
        p.stmt.all(...p.params);
        each[p.name].push(performance.now() - t);
      }
      totals.push(performance.now() - t0);
    }
    totals.sort((a, b) => a - b);
    groups[name] = {
      medianMs: pct(totals, 0.5),
      p10Ms: pct(totals, 0.1),
      p90Ms: pct(totals, 0.9),
      each: Object.fromEntries(Object.entries(each).map(([k, v]) => [k, pct(v.sort((a, b) => a - b), 0.5)])),
      rows,
    };
  }
  db.close();
  return { ok: true, groups };
}

async function main() {
  if (process.argv[2] === "--probe") {
    const { db, label } = await open(process.argv[3], ":memory:");
    return { ok: true, engine: process.argv[3], label, sqlite: db.prepare("select sqlite_version() as v").get().v, nodeVersion: process.version };
  }
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input);
  return job.task === "upsert" ? upsert(job) : time(job);
}

main().then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err) => process.stdout.write(`${JSON.stringify({ ok: false, error: String(err?.message ?? err).replace(/\s+/g, " ").slice(0, 400) })}\n`),
);
