import type { OpenAPIHono } from "@hono/zod-openapi";
import { getTableColumns } from "drizzle-orm";
import { z } from "zod";
import { productJson, productLimits, productResponseSchema, productStatuses, skuSchema } from "../catalog/product.ts";
import { database } from "../db/client.ts";
import { getProduct, listProducts, type ProductOrder, type ProductRow } from "../db/queries/products.ts";
import { products } from "../db/schema.ts";
import type { AppEnv } from "../http/context.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { problems } from "../http/problem.ts";
import { apiRoute, problemContent } from "../http/route.ts";

// The sort key of a page's last row: the sku_key alone, or (updated_at, sku_key) when updated_since is given.
const skuCursor = z.tuple([z.string()]);
const changeCursor = z.tuple([z.number().int(), z.string()]);

const listQuery = z
  .object({
    limit: limitParam(1, 200, 50),
    cursor: cursorParam(z.union([skuCursor, changeCursor])),
    status: z
      .enum(productStatuses, { error: `must be one of ${productStatuses.join(", ")}` })
      .optional()
      .describe("Only products with this status."),
    group: z
      .string()
      .min(1)
      .max(productLimits.groupLength)
      .optional()
      .describe("Only the products of this group (the variants of one product), exactly as stored."),
    updated_since: z
      .iso.datetime({ offset: true, error: "must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z" })
      .transform((text) => Date.parse(text))
      .optional()
      .describe(
        "Only products updated at or after this instant (ISO 8601). Orders the listing by (updated_at, sku) instead of by sku; see the operation's description for incremental sync.",
      ),
  })
  .superRefine((query, ctx) => {
    // Each ordering resumes only from its own sort key; a cursor of the other one would start a page at a wrong place.
    if (!query.cursor) return;
    const byUpdate = query.updated_since !== undefined;
    if (byUpdate === (query.cursor.length === 2)) return;
    ctx.addIssue({
      code: "custom",
      path: ["cursor"],
      message: byUpdate
        ? "comes from a listing without updated_since (ordered by sku); with updated_since the listing is ordered by updated_at, so start it without a cursor"
        : "comes from a listing with updated_since (ordered by updated_at); pass updated_since again, or start the sku-ordered listing without a cursor",
    });
  });

/** The ordering a listing uses and where its page starts; the query schema has already paired cursor and ordering. */
function productOrder({ cursor, updated_since: since }: z.output<typeof listQuery>): ProductOrder {
  if (since === undefined) return { by: "sku", afterSkuKey: cursor?.length === 1 ? cursor[0] : undefined };
  return { by: "updated", since, after: cursor?.length === 2 ? cursor : undefined };
}

const skuParams = z.object({ sku: skuSchema.describe("The product's SKU (case-insensitive; printable ASCII, URL-encoded where needed).") });

const productPageSchema = z
  .object({ data: z.array(productResponseSchema), next_cursor: z.string().nullable() })
  .meta({ id: "ProductPage" });

const iso = (ms: number) => new Date(ms).toISOString();

/** Each products column's property of a row as drizzle reads it (image_url → imageUrl). */
const PROPERTY_OF: ReadonlyMap<string, keyof ProductRow> = new Map(
  Object.entries(getTableColumns(products)).map(([property, column]) => [column.name, property as keyof ProductRow]),
);

export function toProductJson(row: ProductRow): z.output<typeof productResponseSchema> {
  return {
    ...productJson((column) => row[PROPERTY_OF.get(column) as keyof ProductRow]),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

const listProductsRoute = apiRoute({
  method: "get",
  path: "/api/v1/products",
  operationId: "listProducts",
  summary: "List products, by SKU or by last change",
  description: [
    "Keyset pagination: follow `next_cursor` until it is null. A cursor works only in the ordering that returned it: sent with `updated_since` when it came from a listing with `updated_since`, without it otherwise; the other way round is a 400 naming `cursor`.",
    "",
    "Without `updated_since` the listing is ordered by SKU (case-insensitive); its pages never skip or repeat a product, even while products change.",
    "",
    "With `updated_since` the listing is ordered by `updated_at`, ties broken by SKU. This is for incremental sync:",
    "",
    "1. Pass `updated_since` (for a first, full sync an instant before any change, e.g. `1970-01-01T00:00:00Z`) and follow `next_cursor` until it is null, keeping `updated_since` unchanged.",
    "2. Remember the largest `updated_at` seen. The next sync passes it as `updated_since`; the bound is inclusive, so the products updated at exactly that instant are listed once more.",
    "",
    "Products that change during a walk: an update gives the product a new `updated_at`, later than those of the products already listed, so the product is listed on a later page of the same walk with its new values, a second time if an earlier page already had it. Apply rows in the order listed so that the later copy wins. New products likewise appear on a later page. Unlike the SKU ordering this walk can repeat a product; it skips none whose (`updated_at`, SKU) sorts after the cursor's when the next page is requested.",
    "",
    "`updated_at` is the instant the writing import stamped the product, not the instant the write became visible. When two imports for the tenant run at once, a product stamped earlier can become visible after a later-stamped one was listed; if the walk had already passed its `updated_at`, neither this walk nor a sync starting at the largest `updated_at` seen lists it. A client that must not miss such products starts the next sync a margin (say a minute) before the largest `updated_at` seen and treats repeats as no-ops.",
    "",
    "Send each response's `x-d1-bookmark` with the next page's request, so that no page is read from an older copy of the database than the page before it.",
  ].join("\n"),
  tag: "Products",
  scope: "products:read",
  request: { query: listQuery },
  responses: { 200: { description: "A page of products.", content: { "application/json": { schema: productPageSchema } } } },
});

const getProductRoute = apiRoute({
  method: "get",
  path: "/api/v1/products/{sku}",
  operationId: "getProduct",
  summary: "Get one product by SKU",
  tag: "Products",
  scope: "products:read",
  request: { params: skuParams },
  responses: {
    200: { description: "The product.", content: { "application/json": { schema: productResponseSchema } } },
    404: { description: "No product with this SKU.", content: problemContent },
  },
});

export function registerProductRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listProductsRoute, async (c) => {
    const query = c.req.valid("query");
    const order = productOrder(query);
    const rows = await listProducts(database(c.var.db), c.var.caller.tenantId, { limit: query.limit, status: query.status, group: query.group, order });
    const { page, next } = nextCursor(rows, query.limit, (row) => (order.by === "sku" ? [row.skuKey] : [row.updatedAt, row.skuKey]));
    return c.json({ data: page.map(toProductJson), next_cursor: next }, 200);
  });

  app.openapi(getProductRoute, async (c) => {
    const { sku } = c.req.valid("param");
    const row = await getProduct(database(c.var.db), c.var.caller.tenantId, sku);
    if (!row) throw problems.notFound(`No product with SKU "${sku}".`);
    return c.json(toProductJson(row), 200);
  });
}
