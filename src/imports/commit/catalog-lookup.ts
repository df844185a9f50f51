// Rows whose meaning depends on what the catalog holds. A row without a name or a price can only update a product
// that exists (a new product needs both), and a price without a currency is in the product's currency (a new
// product's is the import's). One query per chunk answers both for the rows that need it: a file with name, price
// and currency columns never asks. Rows are settled in file order, against the catalog as the chunk's earlier rows
// leave it, before the chunk is committed (the chunks before it have landed by then).
//
// Products are never deleted, so a SKU found here still exists when the chunk's upsert runs: a row without a name or
// price always updates (its placeholders are never stored).
import { priceInMinorUnits } from "../../catalog/product.ts";
import { rejectedRow, type RowOutcome, type ValidRow } from "../sources/rows.ts";
import { statement } from "./write.ts";

const STORED_CURRENCIES = statement(
  ["tenantId", "keys"],
  (p) => `SELECT sku_key, currency FROM products WHERE tenant_id = ${p.tenantId} AND sku_key IN (SELECT value FROM json_each(${p.keys}))`,
);

function dependsOnCatalog(row: ValidRow): boolean {
  return row.product.name === undefined || row.product.priceMinor === undefined;
}

/**
 * Settles the chunk's rows that depend on the catalog, in place: a row for a new product without a name or price
 * becomes a row error (new_product_incomplete), and a pending price is converted in the product's currency (or
 * rejected for having more decimals than that currency has). `currency`: the import's, for new products.
 */
export async function settleAgainstCatalog(
  db: D1Database,
  tenantId: string,
  currency: string,
  rows: RowOutcome[],
  /** A dry run's products as its earlier chunks would have left them: the currency, or undefined to ask the catalog. */
  earlier: (skuKey: string) => string | undefined = () => undefined,
): Promise<void> {
  const keys = new Set<string>();
  for (const row of rows) if (row.ok && dependsOnCatalog(row)) keys.add(row.product.skuKey);
  if (keys.size === 0) return;
  const { results } = await STORED_CURRENCIES.bind(db, { tenantId, keys: JSON.stringify([...keys]) }).all<{ sku_key: string; currency: string }>();
  const stored = new Map(results.map((r) => [r.sku_key, r.currency]));
  /** Each SKU's currency as the chunk's rows so far leave it; null: no such product yet. */
  const current = new Map<string, string | null>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as RowOutcome;
    if (!row.ok) continue;
    const p = row.product;
    const before = current.has(p.skuKey) ? (current.get(p.skuKey) as string | null) : (earlier(p.skuKey) ?? stored.get(p.skuKey) ?? null);
    if (before === null) {
      const missing = [p.name === undefined ? "name" : "", p.priceMinor === undefined && !p.pendingPrice ? "price" : ""].filter(Boolean);
      if (missing.length > 0) {
        const message =
          `SKU ${JSON.stringify(p.sku)} is not in the catalog, and a new product needs a name and a price: ` +
          `this row has no ${missing.join(" and no ")}.`;
        rows[i] = { ...rejectedRow(row.line, null, "new_product_incomplete", message, p.sku), skuKey: p.skuKey, span: row.span, context: row.context };
        continue;
      }
    }
    if (p.pendingPrice) {
      const inCurrency = before ?? currency;
      const minor = priceInMinorUnits(p.pendingPrice, inCurrency);
      if (!minor.ok) {
        const { whole, fraction } = p.pendingPrice;
        rows[i] = {
          ...rejectedRow(row.line, "price", minor.code, minor.message, fraction === "" ? whole : `${whole}.${fraction}`),
          skuKey: p.skuKey,
          span: row.span,
          context: row.context,
        };
        continue;
      }
      // The price is written with the currency it was read in, so the two always go together.
      p.priceMinor = minor.minor;
      p.currency = inCurrency;
      p.pendingPrice = undefined;
      row.json = null;
    }
    current.set(p.skuKey, p.currency ?? before ?? currency);
  }
}
