// Dry runs: every row is validated and counted (created, updated, unchanged, errors) and no product is written.
// Nothing is upserted, so SQL cannot say what each row did: each chunk's rows are settled against the catalog as an
// import's are (catalog-lookup.ts), compared with the catalog (one query), classified here, and then the chunk is
// committed like an import's without the upsert (its errors and the job's checkpoint and counters, guarded the same
// way). Up to three round trips per chunk, one after the other: dry runs are rare, and this keeps them out of the
// import's commit.
import { settleAgainstCatalog } from "./catalog-lookup.ts";
import { addResult, type ChunkCommits, type CommitStats } from "./pipeline.ts";
import { KEEP_ALL, keepMask, rowJsonWithMask, STORED_COLUMNS, type StoredFields, storedFields, type ValidRow } from "../sources/rows.ts";
import { type Chunk, type ChunkContext, commitCounts, fieldOfRow, KEEP_MASK_OF_ROW, type RowCounts, SKU_KEY_OF_ROW, statement } from "./write.ts";

// Compares each row with the catalog on the columns its mask does not name, in SQL, and answers one letter per
// row: n(ew), s(ame) or c(hanged). One short string crosses over instead of every stored column of every row.
const COMPARE = statement(["tenantId", "rows"], (p) => {
  const compared = (value: (c: (typeof STORED_COLUMNS)[number], i: number) => string) =>
    STORED_COLUMNS.map((c, i) => `CASE WHEN ${KEEP_MASK_OF_ROW} & ${1 << i} THEN NULL ELSE ${value(c, i)} END`).join(", ");
  return `SELECT group_concat(CASE
    WHEN p.sku_key IS NULL THEN 'n'
    WHEN (${compared((c) => `p.${c}`)}) IS (${compared(fieldOfRow)}) THEN 's'
    ELSE 'c' END, '' ORDER BY j.key) AS states
  FROM jsonb_each(${p.rows}) AS j LEFT JOIN products AS p ON p.tenant_id = ${p.tenantId} AND p.sku_key = ${SKU_KEY_OF_ROW}`;
});

const CURRENCY = STORED_COLUMNS.indexOf("currency");
const ALL = KEEP_ALL | 1;

/** A product as the rows so far would leave it: the columns known (a mask) and their values. */
interface Written {
  known: number;
  values: StoredFields;
  /** A row of this invocation changed or created it (else it is as the catalog has it). */
  changed: boolean;
}

export class DryRunCommits implements ChunkCommits {
  lostRace = false;
  readonly stats: CommitStats = { rows: 0, productsWritten: 0, rowsWritten: 0, dbWaitMs: 0 };
  /**
   * What the earlier chunks of this invocation would have written, by SKU key. A dry run writes no product, so without
   * it a SKU repeated in a later chunk would be compared with the catalog as if the earlier row had not been there.
   */
  private readonly written = new Map<string, Written>();

  /** `next`: the context of the next chunk's batch, as for an import's CommitPipeline. */
  constructor(
    private readonly db: D1Database,
    private next: ChunkContext,
  ) {}

  async add(chunk: Chunk): Promise<void> {
    if (this.lostRace) return;
    const started = Date.now();
    const { tenantId, currency } = this.next;
    await settleAgainstCatalog(this.db, tenantId, currency, chunk.rows, (key) => {
      const w = this.written.get(key);
      return w && w.known & (1 << CURRENCY) ? (w.values[CURRENCY] as string) : undefined;
    });
    const valid = chunk.rows.filter((row): row is ValidRow => row.ok);
    const { counts, state } = this.classify(valid, await this.compare(valid));
    const result = await commitCounts(this.db, this.next, chunk, counts);
    this.stats.dbWaitMs += Date.now() - started;
    addResult(this.stats, result);
    if (!result.applied) {
      this.lostRace = true;
      return;
    }
    for (const [key, w] of state) if (w.changed) this.written.set(key, w);
    this.next = { ...this.next, from: chunk.end, storedErrors: result.storedErrors };
  }

  async drain(): Promise<void> {}

  async abandon(): Promise<void> {}

  /**
   * How each row compares with the catalog on the columns it gives that no earlier row gave (those compare with
   * the earlier row's value instead): one letter per row.
   */
  private async compare(rows: ValidRow[]): Promise<string> {
    if (rows.length === 0) return "";
    const known = new Map<string, number>();
    const parts: string[] = [];
    for (const row of rows) {
      const key = row.product.skuKey;
      const before = known.get(key) ?? this.written.get(key)?.known ?? 0;
      const mask = keepMask(row.product);
      parts.push(rowJsonWithMask(row, this.next.currency, mask | before));
      known.set(key, before | (ALL & ~mask));
    }
    const states = await COMPARE.bind(this.db, { tenantId: this.next.tenantId, rows: `[${parts.join(",")}]` }).first<string>("states");
    return states ?? "";
  }

  /** Classifies each valid row against the catalog (and earlier rows): a later row for the same SKU wins. */
  private classify(rows: ValidRow[], states: string): { counts: RowCounts; state: Map<string, Written> } {
    const counts = { created: 0, updated: 0, unchanged: 0 };
    const state = new Map<string, Written>();
    rows.forEach((row, i) => {
      const key = row.product.skuKey;
      const fields = storedFields(row, this.next.currency);
      const given = ALL & ~keepMask(row.product);
      const before = state.get(key) ?? this.written.get(key);
      if (!before && states[i] === "n") {
        counts.created++;
        state.set(key, { known: ALL, values: fields, changed: true });
        return;
      }
      // The catalog's letter covers the columns `before` does not know; those it knows compare here.
      let changed = before?.known !== ALL && states[i] === "c";
      const values = (before ? [...before.values] : [...fields]) as unknown[];
      for (let c = 0; c < fields.length; c++) {
        if (!(given & (1 << c))) continue;
        if (before && before.known & (1 << c) && before.values[c] !== fields[c]) changed = true;
        values[c] = fields[c];
      }
      if (changed) counts.updated++;
      else counts.unchanged++;
      state.set(key, { known: (before?.known ?? 0) | given, values: values as unknown as StoredFields, changed: changed || (before?.changed ?? false) });
    });
    return { counts, state };
  }
}
