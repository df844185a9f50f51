// Raw SQLite timing for the status benchmark, run as a child process by raw.ts:
//   node raw-sqlite.mjs --probe <engine>      prints {"ok":true,...} when the engine loads in this Node
//   node raw-sqlite.mjs < job.json            times the statements, prints one JSON line
// Plain JavaScript on purpose: the better-sqlite3 build in node_modules may only load in another Node
// (its native ABI), and that Node may be too old to strip TypeScript types.
// engine: "better-sqlite3" (from the repo's node_modules) or "node:sqlite" (built into Node >= 22.5).
import { createRequire } from "node:module";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dirname, "..", "..", "..");

async function open(engine, file) {
  if (engine === "better-sqlite3") {
    const Database = createRequire(path.join(repoRoot, "package.json"))("better-sqlite3");
    const version = createRequire(path.join(repoRoot, "package.json"))("better-sqlite3/package.json").version;
    const db = file === ":memory:" ? new Database(":memory:") : new Database(file, { fileMustExist: true });
    return { db, label: `better-sqlite3 ${version}`, close: () => db.close() };
  }
  if (engine === "node:sqlite") {
    process.removeAllListeners("warning");
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(file);
    return { db, label: "node:sqlite", close: () => db.close() };
  }
  throw new Error(`unknown engine ${engine}`);
}

function sortNum(a) {
  return [...a].sort((x, y) => x - y);
}
function pct(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function probe(engine) {
  const { db, label, close } = await open(engine, ":memory:");
  const sqlite = db.prepare("select sqlite_version() as v").get().v;
  close();
  return { ok: true, engine, label, sqlite, node: process.version, execPath: process.execPath };
}

async function time(job) {
  const { db, label, close } = await open(job.engine, job.file);
  try {
    // Read only: nothing here may change the benchmark's database.
    db.exec("PRAGMA query_only = 1");
    const sqlite = db.prepare("select sqlite_version() as v").get().v;
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
  return time(JSON.parse(input));
}

main().then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err).replace(/\s+/g, " ").slice(0, 400) })}\n`);
    process.exitCode = 1;
  },
);
