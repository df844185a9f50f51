// The status benchmark's figures: targets, the console table, and the `## Status` section of RESULTS.md
// (replaced in place; every other section, e.g. `## Import`, is kept as it is).
import type { LoadResult } from "./load.ts";
import type { RawResult } from "./raw.ts";

export const VARIANTS = ["route", "route-quiet-log", "batch", "two-calls", "no-covering-index", "floor"] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABEL: Record<Variant, string> = {
  route: "real route (`GET /api/v1/products/import/status`: key check + aggregate + recent 5, one batch)",
  "route-quiet-log": "real route, wrangler dev `--log-level warn` (its request log line not printed)",
  batch: "batch, tenant given (aggregate + recent 5, one batch, no key check)",
  "two-calls": "(a) two calls (aggregate, then recent 5: two awaited D1 calls)",
  "no-covering-index": "(b) no covering index (the batch on a copy without `import_jobs_tenant_summary`)",
  floor: "no database (runtime floor)",
};

/**
 * One measured cell: the CPUs other processes used meanwhile, the time waited for a quieter moment, whether the
 * measured worker reloaded meanwhile, and (for a reported figure) which rounds it is made of.
 */
export type Cell = LoadResult & { otherCpus: number; waitedMs: number; reloaded: boolean; rounds: string };

export interface SizeResult {
  jobs: number;
  noiseJobs: number;
  dbMB: number;
  seedSeconds: number | null;
  reused: boolean;
  cells: Partial<Record<Variant, Record<number, Cell>>>;
  /** Every round of every cell ("variant@concurrency"), without the latency samples. */
  rounds: Record<string, Omit<Cell, "samples">[]>;
  /** Raw SQLite per engine: groups direct, route (on DB) and nocov (on DB_NOCOV). */
  raw: RawResult[];
  /** EXPLAIN QUERY PLAN by workerd's SQLite (through D1), per database and statement. */
  plans: { DB?: Record<string, string[]>; DB_NOCOV?: Record<string, string[]> };
  indexes: { DB?: string[]; DB_NOCOV?: string[] };
  problems: string[];
  notes: string[];
}

export interface Environment {
  date: string;
  machine: string;
  command: string;
  rawEngines: string;
  settings: string;
}

export interface Target {
  text: string;
  met: boolean | null;
  detail: string;
}

const fmt = (n: number | undefined | null, digits = 1) =>
  n === undefined || n === null || Number.isNaN(n) ? "–" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fmtInt = (n: number) => n.toLocaleString("en-US");

export function rawPair(size: SizeResult, group = "direct"): { ms: number; label: string } | null {
  const raw = size.raw[0];
  const g = raw?.groups[group];
  return raw && g ? { ms: g.medianMs, label: `${raw.label}, SQLite ${raw.sqlite}` } : null;
}

export function evaluateTargets(sizes: SizeResult[], concurrencies: number[]): Target[] {
  const at = (jobs: number) => sizes.find((s) => s.jobs === jobs);
  const cHigh = Math.max(...concurrencies);
  const targets: Target[] = [];

  const s10k = at(10_000);
  const p50at10k = s10k?.cells.route?.[1]?.p50;
  targets.push({
    text: "p50 ≤ 15 ms at 10k jobs (real route, c=1)",
    met: p50at10k === undefined ? null : p50at10k <= 15,
    detail: p50at10k === undefined ? "10k jobs not run" : `p50 ${fmt(p50at10k)} ms${s10k?.cells.route?.[cHigh] ? ` (c=${cHigh}: ${fmt(s10k.cells.route[cHigh]?.p50)} ms)` : ""}`,
  });

  const s100k = at(100_000);
  const route100k = s100k?.cells.route?.[1]?.p50;
  const floor100k = s100k?.cells.floor?.[1]?.p50;
  const raw100k = s100k ? rawPair(s100k) : null;
  if (route100k === undefined || floor100k === undefined || !raw100k) {
    targets.push({ text: "p50 at 100k jobs ≤ 1.5 × (raw SQLite + no-database floor)", met: null, detail: "100k jobs not run (or a figure is missing)" });
  } else {
    const bound = 1.5 * (raw100k.ms + floor100k);
    targets.push({
      text: "p50 at 100k jobs ≤ 1.5 × (raw SQLite + no-database floor)",
      met: route100k <= bound,
      detail:
        `route p50 ${fmt(route100k)} ms vs 1.5 × (${fmt(raw100k.ms, 2)} ms raw + ${fmt(floor100k, 2)} ms floor) = ${fmt(bound)} ms ` +
        `(ratio ${fmt(route100k / (raw100k.ms + floor100k), 2)}×)`,
    });
  }

  const rows = sizes.filter((s) => s.cells.batch?.[cHigh] && s.cells["two-calls"]?.[cHigh]);
  if (rows.length === 0) {
    targets.push({ text: `single batch faster than two calls at c=${cHigh}`, met: null, detail: "not measured" });
  } else {
    const parts = rows.map((s) => {
      const b = s.cells.batch?.[cHigh] as LoadResult;
      const t = s.cells["two-calls"]?.[cHigh] as LoadResult;
      const r = s.cells.route?.[cHigh];
      const faster = b.p50 < t.p50 && b.rps > t.rps;
      return {
        faster,
        text:
          `${fmtInt(s.jobs)}: batch ${fmt(b.p50)} ms / ${fmt(b.rps, 0)} req/s vs two calls ${fmt(t.p50)} ms / ${fmt(t.rps, 0)} req/s ${faster ? "✔" : "✘"}` +
          (r ? ` (real route ${fmt(r.p50)} ms / ${fmt(r.rps, 0)} req/s ${r.p50 < t.p50 && r.rps > t.rps ? "✔" : "✘"})` : ""),
      };
    });
    targets.push({
      text: `single batch faster than two calls at c=${cHigh} (lower p50 and more req/s, at every size)`,
      met: parts.every((p) => p.faster),
      detail: parts.map((p) => p.text).join("; "),
    });
  }
  return targets;
}

const mark = (t: Target) => (t.met === null ? "⚪ not measured" : t.met ? "✅ met" : "❌ not met");

export function consoleTable(sizes: SizeResult[], concurrencies: number[]): string {
  const head = ["jobs", "variant", ...concurrencies.flatMap((c) => [`c=${c} p50`, `c=${c} p99`, `c=${c} rps`]), "other"];
  const rows: string[][] = [head];
  for (const s of sizes) {
    for (const v of VARIANTS) {
      const cells = s.cells[v];
      if (!cells) continue;
      const other = Math.max(...Object.values(cells).map((c) => c.otherCpus));
      rows.push([fmtInt(s.jobs), v, ...concurrencies.flatMap((c) => [fmt(cells[c]?.p50, 2), fmt(cells[c]?.p99, 2), fmt(cells[c]?.rps, 0)]), fmt(other, 2)]);
    }
    for (const r of s.raw) {
      const d = r.groups.direct;
      const n = r.groups.nocov;
      rows.push([fmtInt(s.jobs), `raw ${r.engine}`, `pair ${fmt(d?.medianMs, 2)}`, `nocov ${fmt(n?.medianMs, 2)}`, `route3 ${fmt(r.groups.route?.medianMs, 2)}`]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")).join("\n");
}

function planText(plan: Record<string, string[]> | undefined, key: string): string {
  const steps = plan?.[key];
  return steps ? steps.map((s) => `\`${s}\``).join(" → ") : "–";
}

export function markdownSection(env: Environment, sizes: SizeResult[], concurrencies: number[], targets: Target[], notes: string[]): string {
  const md: string[] = ["## Status", ""];
  md.push(`- Date: ${env.date}`, `- Machine: ${env.machine}`, `- Command: \`${env.command}\``, `- Raw SQLite: ${env.rawEngines}`, `- Settings: ${env.settings}`, "");

  md.push(
    "Latency in ms (request sent → body received), throughput in requests/s, closed loop on keep-alive connections. " +
      "Other load: the most CPUs that processes other than this benchmark's used during any cell of the row (other engineers' " +
      "tests and benchmarks share the machine; 0 is quiet) in the rounds the figures are made of; in brackets when not all rounds are.",
    "",
  );
  const head = ["jobs (+ other tenants')", "variant", ...concurrencies.flatMap((c) => [`c=${c} p50`, `c=${c} p99`, `c=${c} req/s`]), "other load"];
  md.push(`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`);
  for (const s of sizes) {
    const label = `${fmtInt(s.jobs)} (+ ${fmtInt(s.noiseJobs)})`;
    for (const v of VARIANTS) {
      const cells = s.cells[v];
      if (!cells) continue;
      const figures = concurrencies.flatMap((c) => {
        const r = cells[c];
        return r ? [fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.rps, 0)] : ["–", "–", "–"];
      });
      const list = Object.values(cells);
      const other = Math.max(...list.map((c) => c.otherCpus));
      const partial = list.filter((c) => c.rounds !== "all").map((c) => `c=${c.concurrency}: ${c.rounds}`);
      md.push(`| ${label} | ${VARIANT_LABEL[v]} | ${figures.join(" | ")} | ${fmt(other, 2)}${partial.length ? ` (${partial.join("; ")})` : ""} |`);
    }
    const raw = s.raw[0];
    if (raw) {
      const d = raw.groups.direct;
      const blank = [...concurrencies.flatMap(() => ["", "", ""]).slice(1), ""];
      md.push(`| ${label} | raw SQLite, the same two statements (${raw.label}): median ms, no HTTP/Worker/D1 | ${fmt(d?.medianMs, 2)} | ${blank.join(" | ")} |`);
    }
    if (s.problems.length) md.push(`| ${label} | ⚠ ${s.problems.join("; ").replace(/\|/g, "\\|")} | ${concurrencies.flatMap(() => ["", "", ""]).join(" | ")} | |`);
  }
  md.push("");

  md.push("Raw SQLite, median of repeated runs in ms (p10–p90), on the benchmark's own database file after the workers stopped:", "");
  const rawHead = ["jobs", "engine", "aggregate + recent 5", "aggregate", "recent 5", "the route's 3 statements (key + key-subquery forms)", "aggregate + recent 5 without covering index"];
  md.push(`| ${rawHead.join(" | ")} |`, `| ${rawHead.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`);
  for (const s of sizes) {
    for (const r of s.raw) {
      const d = r.groups.direct;
      const range = (g: typeof d) => (g ? `${fmt(g.medianMs, 2)} (${fmt(g.p10Ms, 2)}–${fmt(g.p90Ms, 2)})` : "–");
      md.push(
        `| ${fmtInt(s.jobs)} | ${r.label}, SQLite ${r.sqlite}, Node ${r.node} | ${range(d)} | ${fmt(d?.perStatementMedianMs.aggregate, 2)} | ${fmt(d?.perStatementMedianMs.recent, 2)} | ${range(r.groups.route)} | ${range(r.groups.nocov)} |`,
      );
    }
  }
  md.push("");

  md.push("Targets:", "");
  for (const t of targets) md.push(`- ${mark(t)}: ${t.text} — ${t.detail}`);
  md.push("");

  const withPlans = sizes.filter((s) => s.plans.DB);
  const last = withPlans.at(-1);
  if (last) {
    md.push(`Query plans (EXPLAIN QUERY PLAN through D1, i.e. workerd's SQLite, at ${fmtInt(last.jobs)} jobs; no ANALYZE, as migrations leave it):`, "");
    md.push(`- route aggregate: ${planText(last.plans.DB, "route.aggregate")}`);
    md.push(`- route recent: ${planText(last.plans.DB, "route.recent")}`);
    md.push(`- route key: ${planText(last.plans.DB, "route.key")}`);
    md.push(`- aggregate without the covering index: ${planText(last.plans.DB_NOCOV, "direct.aggregate")}`);
    const differing = withPlans.filter((s) => JSON.stringify(s.plans) !== JSON.stringify(last.plans)).map((s) => fmtInt(s.jobs));
    md.push(differing.length ? `- ⚠ plans differ at: ${differing.join(", ")} jobs (see the console output)` : `- the same plans at every size run`);
    md.push("");
  }

  md.push("How it was measured:", "");
  md.push(
    "- Each size has its own local D1 state: migrations applied by `wrangler d1 migrations apply`, then the SQLite file filled directly " +
      "(one tenant's jobs: ~80% completed, 10% failed, 4% processing, 3% queued, 3% pending, realistic error counts and times, " +
      "created_at increasing over 29 days with ~3% ties; other tenants' jobs interleaved as noise). No ANALYZE.",
    "- Real route: `wrangler dev` of the repo's wrangler.toml, `GET /api/v1/products/import/status` with a Bearer key (scope imports:read). " +
      "Every answer is checked once against the seeded figures; every variant's body must equal the real route's byte for byte.",
    "- Variants (a), (b), batch and floor: the bench-only Worker `scripts/bench/status/worker/index.mts` (its own wrangler.toml; DB a byte copy of the same seeded file) " +
      "running the route's query builders and response building. (b) reads DB_NOCOV, a byte copy of the seeded database with " +
      "`import_jobs_tenant_summary` dropped — the planner then chooses on its own, as it would without that index (no `INDEXED BY`/`NOT INDEXED` hints, " +
      "which force a plan rather than show the one SQLite picks).",
    "- The three workers (real; real with `--log-level warn`; bench) run at the same time, each with its own `--persist-to` directory " +
      "holding a byte copy of the one seeded SQLite file (no file is shared between processes); one is measured while the others idle. " +
      "Cells are interleaved in rounds (the variant order reversed every other round). All stop before the raw SQLite timing.",
  );
  md.push("");
  if (notes.length) {
    md.push("Notes:", "");
    for (const n of notes) md.push(`- ${n}`);
    md.push("");
  }
  return md.join("\n");
}
