import { and, asc, eq, gt, gte, sql, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { products } from "../schema.ts";

export type ProductRow = typeof products.$inferSelect;

/** The two orderings of a listing, each with the sort key of the previous page's last row. */
export type ProductOrder =
  | { by: "sku"; afterSkuKey?: string }
  | { by: "updated"; since: number; after?: readonly [updatedAt: number, skuKey: string] };

export interface ProductListFilter {
  limit: number;
  status?: ProductRow["status"];
  group?: string;
  order: ProductOrder;
}

/**
 * Where an (updated_at, sku_key) page starts. Exactly one range predicate is handed to SQLite: given both
 * `updated_at >= since` and the cursor's row value, it may seek on `since` and filter every row the walk already
 * passed. The cursor's row value is the later bound unless the client sent a later updated_since with it.
 */
function changesFrom(order: Extract<ProductOrder, { by: "updated" }>): SQL {
  const { since, after } = order;
  if (after && after[0] >= since) return sql`(${products.updatedAt}, ${products.skuKey}) > (${after[0]}, ${after[1]})`;
  return gte(products.updatedAt, since);
}

/**
 * One page plus one row to tell whether another page follows: by case-insensitive sku on the primary key, or by
 * (updated_at, sku_key) on products_tenant_updated, which holds rows in that order so no sort is needed.
 */
export function listProducts(db: Db, tenantId: string, filter: ProductListFilter) {
  const { order } = filter;
  const conditions: SQL[] = [eq(products.tenantId, tenantId)];
  if (order.by === "sku" && order.afterSkuKey !== undefined) conditions.push(gt(products.skuKey, order.afterSkuKey));
  if (order.by === "updated") conditions.push(changesFrom(order));
  if (filter.status) conditions.push(eq(products.status, filter.status));
  // By SKU, a group's products are read in order from products_tenant_group.
  if (filter.group !== undefined) conditions.push(eq(products.variantGroup, filter.group));
  return db
    .select()
    .from(products)
    .where(and(...conditions))
    .orderBy(...(order.by === "sku" ? [asc(products.skuKey)] : [asc(products.updatedAt), asc(products.skuKey)]))
    .limit(filter.limit + 1);
}

export async function getProduct(db: Db, tenantId: string, sku: string): Promise<ProductRow | null> {
  const [row] = await db
    .select()
    .from(products)
    .where(and(eq(products.tenantId, tenantId), eq(products.skuKey, sku.toLowerCase())))
    .limit(1);
  return row ?? null;
}
