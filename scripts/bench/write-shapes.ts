// Write-shape benchmark: `npm run bench:write-shapes [-- --rows 20000 --rounds 2]`
//
// Which statement shape writes a chunk of products fastest into D1, within D1's limits (100 bound parameters per
// statement, 2 MB per value)? A bench Worker (scripts/bench/write-shapes/worker/) writes the same generated rows
// (scripts/bench/import/products.ts) under `wrangler dev` with a local D1, one awaited batch per chunk as the queue
// consumer does, in each shape: the consumer's whole commit, the upsert alone with the rows as one JSON parameter
// (jsonb_each or json_each), multi-row VALUES, one statement per row. Each shape inserts into a new tenant, then
// updates every row, then writes the same rows again (nothing to write). Rounds interleave the shapes so the
// machine's noise spreads over all of them; the best round counts. In the same run, the raw SQLite ceiling:
// better-sqlite3 inserting the same rows into the same schema in one transaction.
// Prints a table and writes the `## Write shapes` section of scripts/bench/RESULTS.md.
import path from "node:path";
import { parseArgs } from "node:util";
import { pickRawEngine, rawSqliteUpsert } from "./import/raw-sqlite.ts";
import { describeMachine } from "./lib/machine.ts";
import { writeResultsSection } from "./lib/results-md.ts";
import type { DevServer } from "./lib/dev-server.ts";
import { repoRoot, stopAll, tomlValue } from "./lib/wrangler-dev.ts";
import { startWriteShapesWorker } from "./write-shapes/server.ts";

const SHAPES = [
  { name: "import-batch", what: "the consumer's commit: top rowid noted, jsonb_each upsert, guarded job update (what ships)" },
  { name: "jsonb_each", what: "the upsert alone, the chunk's rows as one JSON parameter expanded with jsonb_each" },
  { name: "json_each", what: "the same with json_each (each row's array is turned back into JSON text and parsed again)" },
  { name: "values", what: "multi-row VALUES, 7 rows × 14 parameters per statement, all of a chunk's statements in one batch" },
  { name: "row", what: "one single-row upsert per row, a chunk's worth in one batch" },
] as const;
const PASSES = ["insert", "update", "same"] as const;
type Pass = (typeof PASSES)[number];

const benchDir = import.meta.dirname;
const stateDir = path.join(benchDir, ".data", "write-shapes-state");
const resultsFile = path.join(benchDir, "RESULTS.md");

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "20000" },
    rounds: { type: "string", default: "2" },
    "no-results": { type: "boolean", default: false },
  },
});
const rows = Number(args.rows);
const rounds = Number(args.rounds);
if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: npm run bench:write-shapes -- [--rows <n>] [--rounds <n>] [--no-results]");
  process.exit(2);
}
const chunk = Number((tomlValue(path.join(repoRoot, "wrangler.toml"), "IMPORT_CHUNK_ROWS") ?? '"2000"').replace(/"/g, ""));

interface Run {
  ms: number;
  statements: number;
  products_written: number;
}

async function runShape(server: DevServer, shape: string, tenant: string, pass: Pass): Promise<Run> {
  const url = `http://127.0.0.1:${server.port}/run?shape=${shape}&rows=${rows}&chunk=${chunk}&tenant=${tenant}&pass=${pass}`;
  const response = await fetch(url, { method: "POST", signal: AbortSignal.timeout(600_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`${shape} ${pass}: HTTP ${response.status}: ${body.slice(0, 2000)}`);
  const run = JSON.parse(body) as Run;
  const expected = pass === "same" ? 0 : rows;
  if (run.products_written !== expected) throw new Error(`${shape} ${pass}: ${run.products_written} products written, expected ${expected}`);
  return run;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const engine = pickRawEngine();
  const raw = [1, 2, 3].map(() => rawSqliteUpsert(engine, rows, path.join(repoRoot, "migrations"))).reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  console.log(`raw SQLite (${engine.engine}) insert of ${rows} rows: ${Math.round(raw.rowsPerSec).toLocaleString("en-US")} rows/s (best of 3)`);

  const server = await startWriteShapesWorker("write-shapes worker", stateDir);
  const best = new Map<string, Map<Pass, Run>>();
  try {
    for (let round = 0; round < rounds; round++) {
      // Each round starts with a different shape, so no shape always runs first (cold) or last.
      const order = SHAPES.map((_, i) => SHAPES[(i + round) % SHAPES.length]!);
      for (const shape of order) {
        const tenant = `ws-${shape.name}-${round}`;
        const line: string[] = [];
        for (const pass of PASSES) {
          const run = await runShape(server, shape.name, tenant, pass);
          const byPass = best.get(shape.name) ?? new Map<Pass, Run>();
          const previous = byPass.get(pass);
          if (!previous || run.ms < previous.ms) byPass.set(pass, run);
          best.set(shape.name, byPass);
          line.push(`${pass} ${rate(run.ms)} rows/s`);
        }
        console.log(`round ${round + 1} ${shape.name.padEnd(12)} ${line.join(", ")}`);
      }
    }
    const scan = server.scanLog();
    if (scan.errors.length) console.log(`wrangler dev logged errors:\n${scan.errors.join("\n")}`);
  } finally {
    await stopAll();
  }

  const reference = best.get("jsonb_each")!.get("insert")!.ms;
  const table = [
    "| shape | statements per chunk | insert rows/s | update rows/s | same rows/s (no write) | insert time vs jsonb_each | insert vs raw SQLite |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...SHAPES.map((shape) => {
      const byPass = best.get(shape.name)!;
      const insert = byPass.get("insert")!;
      const perChunk = insert.statements / Math.ceil(rows / chunk);
      return `| ${shape.name} | ${perChunk.toFixed(0)} | ${rate(insert.ms)} | ${rate(byPass.get("update")!.ms)} | ${rate(byPass.get("same")!.ms)} | × ${(insert.ms / reference).toFixed(2)} | ${((rows / insert.ms) * 1000 / raw.rowsPerSec).toFixed(2)} |`;
    }),
  ];
  const section = [
    "## Write shapes",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine.cpus} CPUs, Node ${machine.node}, ${machine.workerd}, wrangler ${machine.wrangler}, commit ${machine.commit}`,
    `- Command: \`npm run bench:write-shapes -- --rows ${rows} --rounds ${rounds}\`; ${rows.toLocaleString("en-US")} rows in chunks of ${chunk} (IMPORT_CHUNK_ROWS), one awaited D1 batch per chunk, local D1 under \`wrangler dev\`; best of ${rounds} interleaved round(s)`,
    `- Raw SQLite ceiling, same rows and schema: ${engine.engine} inserting in one transaction, ${rate((rows / raw.rowsPerSec) * 1000)} rows/s (best of 3)`,
    "",
    ...table,
    "",
    "Shapes:",
    "",
    ...SHAPES.map((s) => `- **${s.name}**: ${s.what}`),
    "",
  ].join("\n");
  console.log(`\n${table.join("\n")}`);
  if (!args["no-results"]) {
    writeResultsSection(resultsFile, "Write shapes", section);
    console.log(`\nWrote the "## Write shapes" section of ${path.relative(repoRoot, resultsFile)}.`);
  }
}

function rate(ms: number): string {
  return Math.round((rows / ms) * 1000).toLocaleString("en-US");
}

main().catch(async (err: unknown) => {
  console.error(`bench:write-shapes: ${(err as Error).stack ?? String(err)}`);
  await stopAll();
  process.exit(1);
});
