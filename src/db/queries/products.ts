import { and, asc, eq, gt, gte, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { products } from "../schema.ts";

export type ProductRow = typeof products.$inferSelect;

export interface ProductListFilter {
  limit: number;
  afterSkuKey?: string;
  status?: ProductRow["status"];
  updatedSince?: number;
}

/** One page ordered by the case-insensitive sku, plus one row to tell whether another page follows. */
export function listProducts(db: Db, tenantId: string, filter: ProductListFilter): Promise<ProductRow[]> {
  const conditions: SQL[] = [eq(products.tenantId, tenantId)];
  if (filter.afterSkuKey !== undefined) conditions.push(gt(products.skuKey, filter.afterSkuKey));
  if (filter.status) conditions.push(eq(products.status, filter.status));
  if (filter.updatedSince !== undefined) conditions.push(gte(products.updatedAt, filter.updatedSince));
  return db
    .select()
    .from(products)
    .where(and(...conditions))
    .orderBy(asc(products.skuKey))
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
