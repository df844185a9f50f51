// Dry runs: every row is validated and counted (created, updated, unchanged, errors) and no product is written.
// Nothing is upserted, so SQL cannot say what each row did: each chunk is first compared with the catalog (one
// query), its rows are classified here, and then the chunk is committed like an import's without the upsert (its
// errors and the job's checkpoint and counters, guarded the same way). Two round trips per chunk, one after the
// other: dry runs are rare, and this keeps them out of the import's commit.
import { hash53 } from "../hash.ts";
import { addResult, type ChunkCommits, type CommitStats } from "./pipeline.ts";
import { STORED_COLUMNS, type StoredFields, storedFields, type ValidRow } from "./rows.ts";
import { type Chunk, type ChunkContext, commitCounts, fieldOfRow, type RowCounts, rowsJson, SKU_KEY_OF_ROW, statement } from "./write.ts";

/** How the first row of each SKU of a chunk compares with the catalog: n(ew), s(ame) or c(hanged). */
type Comparison = Map<string, string>;

// Compares the first row of each SKU in a chunk with the catalog, in SQL, and answers one letter per row:
// n(ew), s(ame) or c(hanged). One short string crosses over instead of every stored column of every row.
const COMPARE = statement(
  ["tenantId", "rows"],
  (p) => `SELECT group_concat(CASE
    WHEN p.sku_key IS NULL THEN 'n'
    WHEN (${STORED_COLUMNS.map((c) => `p.${c}`).join(", ")}) IS (${STORED_COLUMNS.map(fieldOfRow).join(", ")}) THEN 's'
    ELSE 'c' END, '' ORDER BY j.key) AS states
  FROM jsonb_each(${p.rows}) AS j LEFT JOIN products AS p ON p.tenant_id = ${p.tenantId} AND p.sku_key = ${SKU_KEY_OF_ROW}`,
);

export class DryRunCommits implements ChunkCommits {
  lostRace = false;
  readonly stats: CommitStats = { rows: 0, productsWritten: 0, rowsWritten: 0, dbWaitMs: 0 };
  /**
   * What the earlier chunks of this invocation would have written (a digest of the stored values by SKU key). A
   * dry run writes no product, so without it a SKU repeated in a later chunk would be classified against the
   * catalog as if the earlier row had not been there.
   */
  private readonly wouldHaveWritten = new Map<string, number>();

  /** `next`: the context of the next chunk's batch, as for an import's CommitPipeline. */
  constructor(
    private readonly db: D1Database,
    private next: ChunkContext,
  ) {}

  async add(chunk: Chunk): Promise<void> {
    if (this.lostRace) return;
    const started = Date.now();
    const valid = chunk.rows.filter((row): row is ValidRow => row.ok);
    const { counts, writes } = classify(valid, await this.compare(valid), this.wouldHaveWritten);
    const result = await commitCounts(this.db, this.next, chunk, counts);
    this.stats.dbWaitMs += Date.now() - started;
    addResult(this.stats, result);
    if (!result.applied) {
      this.lostRace = true;
      return;
    }
    for (const [key, fields] of writes) this.wouldHaveWritten.set(key, digest(fields));
    this.next = { ...this.next, from: chunk.end, storedErrors: result.storedErrors };
  }

  async drain(): Promise<void> {}

  async abandon(): Promise<void> {}

  /** How the first row of each SKU compares with the catalog. */
  private async compare(rows: ValidRow[]): Promise<Comparison> {
    const first = new Map<string, ValidRow>();
    for (const row of rows) if (!first.has(row.product.skuKey)) first.set(row.product.skuKey, row);
    const comparison: Comparison = new Map();
    if (first.size === 0) return comparison;
    const states = await COMPARE.bind(this.db, { tenantId: this.next.tenantId, rows: rowsJson(first.values()) }).first<string>("states");
    let i = 0;
    for (const key of first.keys()) comparison.set(key, states?.[i++] ?? "n");
    return comparison;
  }
}

/** Classifies each valid row against the catalog (and earlier rows): a later row for the same SKU wins. */
function classify(rows: ValidRow[], comparison: Comparison, wouldHaveWritten: ReadonlyMap<string, number>): { counts: RowCounts; writes: Map<string, StoredFields> } {
  const counts = { created: 0, updated: 0, unchanged: 0 };
  const latest = new Map<string, StoredFields>();
  /** The stored values each SKU would end with, for the SKUs the chunk would write. */
  const writes = new Map<string, StoredFields>();
  for (const row of rows) {
    const next = storedFields(row);
    const key = row.product.skuKey;
    const before = latest.get(key);
    const earlier = wouldHaveWritten.get(key);
    let changed: boolean;
    if (before) {
      changed = !sameProduct(before, next);
      if (changed) counts.updated++;
    } else if (earlier !== undefined) {
      // An earlier chunk "wrote" this SKU; the catalog still holds the old one.
      changed = earlier !== digest(next);
      if (changed) counts.updated++;
    } else {
      const state = comparison.get(key);
      changed = state !== "s";
      if (state === "n") counts.created++;
      else if (changed) counts.updated++;
    }
    if (!changed) counts.unchanged++;
    latest.set(key, next);
    if (changed) writes.set(key, next);
  }
  return { counts, writes };
}

function sameProduct(a: StoredFields, b: StoredFields): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A product's stored values as one number: a dry run remembers these instead of whole rows. */
function digest(p: StoredFields): number {
  return hash53(JSON.stringify(p));
}
