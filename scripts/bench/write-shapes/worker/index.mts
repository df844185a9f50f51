// Bench-only Worker for `npm run bench:write-shapes` (scripts/bench/write-shapes.ts); never deployed.
//
// Writes the benchmark's products (scripts/bench/import/products.ts) into the local D1 in chunks, one awaited
// batch per chunk as the queue consumer does, in one of several statement shapes, so that the shapes can be
// compared on the same rows, database and runtime:
//
//   POST /run?shape=<shape>&rows=<n>&chunk=<rows per batch>&tenant=<id>&pass=insert|update|same
//     import-batch  the consumer's whole commit (src/imports/write.ts commitChunk): top rowid noted, jsonb_each
//                   upsert and the guarded job update, one batch per chunk
//     jsonb_each    the upsert alone, the chunk's rows as one JSON parameter expanded with jsonb_each
//     json_each     the same with json_each (each row's array comes back as JSON text and is parsed again)
//     values        multi-row VALUES: 7 rows × 14 parameters per statement (D1 allows 100), many per batch
//     row           one statement per row, a chunk's worth per batch
//   pass: insert (new tenant), update (every price changed), same (identical rows: nothing to write)
//
//   POST /fill?rows=<n>&chunk=<rows per batch>&tenant=<id>
//     the consumer's commit for n new rows, each chunk's rows made just before its batch, so that the isolate
//     holds one chunk at a time: the import benchmark's baseline for what local D1 alone adds to the runtime's
//     memory (its SQLite page cache grows with the pages an import touches), without a file being read
//
// Answers { ms, statements, products_written }: ms from the first batch sent to the last one answered (rows are
// built before), products_written from D1's own change counts.
import { database } from "../../../../src/db/client.ts";
import { insertJob } from "../../../../src/db/queries/jobs.ts";
import type { ProductInput } from "../../../../src/catalog/product.ts";
import { rowJson, STORED_COLUMNS, storedFields, type ValidRow } from "../../../../src/imports/rows.ts";
import { type Chunk, commitChunk, rowsJson, UPSERT_SQL, upsertSql } from "../../../../src/imports/write.ts";
import { benchProduct } from "../../import/products.ts";

interface BenchEnv {
  DB: D1Database;
}

const SHAPES = ["import-batch", "jsonb_each", "json_each", "values", "row"] as const;
type Shape = (typeof SHAPES)[number];
type Pass = "insert" | "update" | "same";

/** Parameters per row in the VALUES shapes: the tenant and timestamp are shared (?1, ?2), the rest is per row. */
const PER_ROW = 1 + STORED_COLUMNS.length;
const VALUES_ROWS = Math.floor((100 - 2) / PER_ROW);

function productOf(rows: number, i: number, pass: Pass): ValidRow {
  const p = benchProduct(rows, i);
  const product: ProductInput = {
    sku: p.sku,
    skuKey: p.sku.toLowerCase(),
    name: p.name,
    description: p.description === "" ? null : p.description,
    priceMinor: p.priceCents + (pass === "insert" ? 0 : 1),
    currency: p.currency,
    stock: p.stock,
    status: "active",
    brand: p.brand,
    category: p.category,
    barcode: p.barcode === "" ? null : p.barcode,
    imageUrl: p.imageUrl,
    tags: p.tags,
  };
  return { ok: true, line: i + 1, product, json: null };
}

/** `count` rows of `(?1, ?k, …, ?2, ?2)` numbered from parameter 3. */
function valuesSql(count: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < count; r++) {
    const first = 3 + r * PER_ROW;
    const own = Array.from({ length: PER_ROW }, (_, k) => `?${first + k}`);
    tuples.push(`(?1, ${own.join(", ")}, ?2, ?2)`);
  }
  return upsertSql(`VALUES ${tuples.join(", ")}`);
}

function valuesStatements(db: D1Database, tenant: string, now: number, rows: ValidRow[], perStatement: number): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement);
    const params = part.flatMap((row) => [row.product.skuKey, ...storedFields(row)]);
    statements.push(db.prepare(valuesSql(part.length)).bind(tenant, now, ...params));
  }
  return statements;
}

/** A job row in `processing`: the consumer's statements are guarded by one. */
async function benchJob(env: BenchEnv, tenant: string, pass: Pass, rows: number, now: number): Promise<string> {
  const jobId = `bench-${tenant}-${pass}`;
  await insertJob(database(env.DB), {
    id: jobId,
    tenantId: tenant,
    status: "processing",
    format: "csv",
    fileName: null,
    objectKey: jobId,
    sizeBytes: rows,
    dryRun: false,
    options: "{}",
    createdAt: now,
    heartbeatAt: now,
  });
  return jobId;
}

function chunkContext(jobId: string, tenant: string, k: number) {
  return { jobId, tenantId: tenant, from: { cursorByte: k, cursorLine: k }, storedErrors: 0, maxStoredErrors: 1000 };
}

function chunkAt(rows: ValidRow[], k: number): Chunk {
  return { rows, end: { cursorByte: k + 1, cursorLine: k + 1 }, last: false };
}

async function fill(env: BenchEnv, total: number, chunkRows: number, tenant: string) {
  const jobId = await benchJob(env, tenant, "insert", total, Date.now());
  let written = 0;
  for (let start = 0, k = 0; start < total; start += chunkRows, k++) {
    const rows = Array.from({ length: Math.min(chunkRows, total - start) }, (_, i) => productOf(total, start + i + 1, "insert"));
    const result = await commitChunk(env.DB, chunkContext(jobId, tenant, k), chunkAt(rows, k), null);
    if (!result.applied) throw new Error(`chunk ${k} was not applied`);
    written += result.productsWritten;
  }
  return { products_written: written };
}

async function run(env: BenchEnv, shape: Shape, total: number, chunkRows: number, tenant: string, pass: Pass) {
  const rows = Array.from({ length: total }, (_, i) => productOf(total, i + 1, pass));
  for (const row of rows) rowJson(row);
  const now = Date.now();
  const jobId = await benchJob(env, tenant, pass, total, now);
  const json = UPSERT_SQL.replace("jsonb_each(", "json_each(");
  let statements = 0;
  let written = 0;
  const started = performance.now();
  for (let start = 0, k = 0; start < total; start += chunkRows, k++) {
    const chunk = rows.slice(start, start + chunkRows);
    if (shape === "import-batch") {
      const result = await commitChunk(env.DB, chunkContext(jobId, tenant, k), chunkAt(chunk, k), null, now);
      if (!result.applied) throw new Error(`chunk ${k} was not applied`);
      statements += 3;
      written += result.productsWritten;
      continue;
    }
    let batch: D1PreparedStatement[];
    if (shape === "jsonb_each") batch = [env.DB.prepare(UPSERT_SQL).bind(jobId, 0, tenant, now, rowsJson(chunk))];
    else if (shape === "json_each") batch = [env.DB.prepare(json).bind(jobId, 0, tenant, now, rowsJson(chunk))];
    else batch = valuesStatements(env.DB, tenant, now, chunk, shape === "values" ? VALUES_ROWS : 1);
    const results = await env.DB.batch(batch);
    statements += batch.length;
    written += results.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
  }
  const ms = performance.now() - started;
  return { ms, statements, products_written: written };
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const q = url.searchParams;
    if (url.pathname === "/fill" && request.method === "POST") {
      const rows = Number(q.get("rows"));
      const chunk = Number(q.get("chunk"));
      const tenant = q.get("tenant") ?? "";
      if (!(rows > 0) || !(chunk > 0) || tenant === "") return new Response("bad parameters", { status: 400 });
      return Response.json(await fill(env, rows, chunk, tenant));
    }
    if (url.pathname !== "/run" || request.method !== "POST") return new Response("not found", { status: 404 });
    const shape = q.get("shape") as Shape;
    const pass = q.get("pass") as Pass;
    const rows = Number(q.get("rows"));
    const chunk = Number(q.get("chunk"));
    const tenant = q.get("tenant") ?? "";
    if (!SHAPES.includes(shape) || !["insert", "update", "same"].includes(pass) || !(rows > 0) || !(chunk > 0) || tenant === "") {
      return new Response(`bad parameters; shapes: ${SHAPES.join(", ")}`, { status: 400 });
    }
    try {
      return Response.json(await run(env, shape, rows, chunk, tenant, pass));
    } catch (err) {
      return new Response(String((err as Error).stack ?? err), { status: 500 });
    }
  },
};
