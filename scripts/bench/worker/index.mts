// The benchmarks' own Worker; never deployed. It calls the functions the real consumer calls, with one thing varied,
// so a benchmark can tell apart what the real path spends where:
//   GET /health                     ready
//   POST /fill?rows=&chunk=         the consumer's commit (commitChunk) of the import bench's rows, one chunk held
//                                   at a time and no file read: what local D1 alone adds to the runtime's memory
// (The status study's endpoints, /batch /aggregate /floor /one /sql /plan, are in commit eabc880.)
import { database } from "../../../src/db/client.ts";
import { insertJob } from "../../../src/db/queries/jobs.ts";
import { commitChunk } from "../../../src/imports/commit/write.ts";
import { productOf } from "../data.ts";

interface BenchEnv {
  DB: D1Database;
}

async function fill(d1: D1Database, total: number, chunkRows: number) {
  const now = Date.now();
  const jobId = `fill-${now}`;
  const tenantId = "baseline";
  await insertJob(database(d1), { id: jobId, tenantId, status: "processing", format: "csv", fileName: null, objectKey: jobId, sizeBytes: total, dryRun: false, options: "{}", createdAt: now, heartbeatAt: now });
  let written = 0;
  for (let start = 0, k = 0; start < total; start += chunkRows, k++) {
    const rows = Array.from({ length: Math.min(chunkRows, total - start) }, (_, i) => ({ ok: true as const, line: start + i + 2, product: productOf(total, start + i + 1), json: null }));
    const ctx = { jobId, tenantId, from: { byte: k, line: k }, storedErrors: 0, maxStoredErrors: 1000, currency: "USD", seq: 1, mentions: null, replace: false, slice: { startedAt: now, startByte: 0 } };
    const result = await commitChunk(d1, ctx, { rows, end: { byte: k + 1, line: k + 1 }, last: false });
    if (!result.applied) throw new Error(`chunk ${k} was not applied`);
    written += result.productsWritten;
  }
  return { products_written: written };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = (name: string) => url.searchParams.get(name) ?? "";
    try {
      switch (url.pathname) {
        case "/health":
          return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
        case "/fill":
          return Response.json(await fill(env.DB, Number(q("rows")), Number(q("chunk"))));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (err) {
      return new Response(`bench worker error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { status: 500 });
    }
  },
} satisfies ExportedHandler<BenchEnv>;
