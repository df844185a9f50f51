import type { Hono } from "hono";
import { z } from "zod";
import { formatMinor } from "../catalog/money.ts";
import { productResponseSchema, productStatuses } from "../catalog/product.ts";
import { database } from "../db/client.ts";
import { getProduct, listProducts, type ProductRow } from "../db/queries/products.ts";
import type { AppEnv } from "../http/context.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { problems } from "../http/problem.ts";
import { route } from "../http/route.ts";

const listQuery = z.object({
  limit: limitParam(1, 200, 50),
  cursor: cursorParam(z.tuple([z.string()])),
  status: z
    .enum(productStatuses, { error: `must be one of ${productStatuses.join(", ")}` })
    .optional()
    .describe("Only products with this status."),
  updated_since: z
    .iso.datetime({ offset: true, error: "must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z" })
    .transform((text) => Date.parse(text))
    .optional()
    .describe("Only products updated at or after this instant (ISO 8601)."),
});

const skuParams = z.object({ sku: z.string().min(1).max(64).describe("The product's SKU (case-insensitive).") });

const productPageSchema = z
  .object({ data: z.array(productResponseSchema), next_cursor: z.string().nullable() })
  .meta({ id: "ProductPage" });

const iso = (ms: number) => new Date(ms).toISOString();

export function toProductJson(row: ProductRow): z.output<typeof productResponseSchema> {
  return {
    sku: row.sku,
    name: row.name,
    description: row.description,
    price: formatMinor(row.priceMinor, row.currency),
    currency: row.currency,
    stock: row.stock,
    status: row.status,
    brand: row.brand,
    category: row.category,
    barcode: row.barcode,
    image_url: row.imageUrl,
    tags: JSON.parse(row.tags) as string[],
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

export function registerProductRoutes(app: Hono<AppEnv>): void {
  route(
    app,
    {
      method: "get",
      path: "/api/v1/products",
      operationId: "listProducts",
      summary: "List products, ordered by SKU",
      description:
        "Keyset pagination: follow `next_cursor` until it is null. Pages never skip or repeat a product, even while products change.",
      tag: "Products",
      scope: "products:read",
      query: listQuery,
      responses: { 200: { description: "A page of products.", content: { "application/json": productPageSchema } } },
    },
    async (c, { query }) => {
      const rows = await listProducts(database(c.var.db), c.var.caller.tenantId, {
        limit: query.limit,
        afterSkuKey: query.cursor?.[0],
        status: query.status,
        updatedSince: query.updated_since,
      });
      const { page, next } = nextCursor(rows, query.limit, (row) => [row.skuKey]);
      return c.json({ data: page.map(toProductJson), next_cursor: next });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/api/v1/products/{sku}",
      operationId: "getProduct",
      summary: "Get one product by SKU",
      tag: "Products",
      scope: "products:read",
      params: skuParams,
      responses: {
        200: { description: "The product.", content: { "application/json": productResponseSchema } },
        404: { description: "No product with this SKU.", content: { "application/problem+json": null } },
      },
    },
    async (c, { params }) => {
      const row = await getProduct(database(c.var.db), c.var.caller.tenantId, params.sku);
      if (!row) throw problems.notFound(`No product with SKU "${params.sku}".`);
      return c.json(toProductJson(row));
    },
  );
}
