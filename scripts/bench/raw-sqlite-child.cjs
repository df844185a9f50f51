// The raw SQLite upsert run by better-sqlite3 in the Node that compiled its native addon (npm builds it for the
// Node that runs npm, which may not be the Node 22 the benchmark runs on). Plain CommonJS so any Node runs it.
// Usage: node raw-sqlite-child.cjs <job.json>; job = { db, setup: [sql], upsert: sql, paramsFile, batch }.
// The params file has one JSON array of bound values per line. Prints { insertMs, count } as JSON.
"use strict";
const fs = require("node:fs");
const Database = require("better-sqlite3");

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const db = new Database(job.db);
for (const sql of job.setup) db.exec(sql);
const upsert = db.prepare(job.upsert);
const lines = fs.readFileSync(job.paramsFile, "utf8").split("\n").filter(Boolean);
let insertNs = 0n;
let t = process.hrtime.bigint();
db.exec("BEGIN");
insertNs += process.hrtime.bigint() - t;
for (let i = 0; i < lines.length; i += job.batch) {
  // Parsing the parameters is not part of the measured work.
  const batch = lines.slice(i, i + job.batch).map((line) => JSON.parse(line));
  t = process.hrtime.bigint();
  for (const params of batch) upsert.run(...params);
  insertNs += process.hrtime.bigint() - t;
}
t = process.hrtime.bigint();
db.exec("COMMIT");
insertNs += process.hrtime.bigint() - t;
const count = db.prepare("SELECT count(*) AS n FROM products").get().n;
db.close();
process.stdout.write(JSON.stringify({ insertMs: Number(insertNs) / 1e6, count, version: require("better-sqlite3/package.json").version, node: process.version }));
