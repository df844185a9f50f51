// A client generated from the served OpenAPI document (openapi-typescript types in test/generated/api.d.ts, kept
// current by test/node/openapi.test.ts) driving an import end to end with openapi-fetch: what compiles here and
// what the Worker answers are both the document's promises.
import { exports } from "cloudflare:workers";
import createClient from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { addKey, createTenant } from "../helpers.ts";
import type { components, paths } from "../generated/api.d.ts";

type Job = components["schemas"]["ImportJob"];

/** Sends the client's requests to the Worker as the network would: a body of known size travels with its Content-Length. */
async function viaNetwork(request: Request): Promise<Response> {
  if (request.body === null) return exports.default.fetch(request);
  const body = await request.arrayBuffer();
  const headers = new Headers(request.headers);
  headers.set("content-length", String(body.byteLength));
  return exports.default.fetch(new Request(request.url, { method: request.method, headers, body }));
}

function apiClient(key: string) {
  return createClient<paths>({ baseUrl: "https://api.test", fetch: viaNetwork, headers: { authorization: `Bearer ${key}` } });
}

type Client = ReturnType<typeof apiClient>;

async function finishedJob(client: Client, id: string): Promise<Job> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { data, error } = await client.GET("/api/v1/products/import/{job_id}", { params: { path: { job_id: id } } });
    if (error) throw new Error(`job ${id}: ${error.status} ${error.detail}`);
    if (data.status === "completed" || data.status === "failed") return data;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${data.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const CSV = "sku\tname\tprice\nA-1\tShirt\t19.99\nB-2\tMug\t7,50\nC-3\tCap\t5\nD-4\tHat\t-1\n";

describe("a client generated from the OpenAPI document", () => {
  it("uploads a file as it is, follows the job, reads its errors, the status summary and the products", async () => {
    const t = await createTenant();
    const client = apiClient(t.key);

    // The file is sent as it is, not JSON-encoded: openapi-fetch serialises bodies as JSON unless told otherwise.
    const upload = await client.POST("/api/v1/products/import", {
      params: { query: { filename: "catalog.tsv", currency: "EUR", delimiter: "tab", dry_run: false }, header: { "Idempotency-Key": "client-1" } },
      body: CSV,
      bodySerializer: (file) => file,
      headers: { "content-type": "text/csv" },
    });
    expect(upload.response.status).toBe(202);
    const accepted = upload.data;
    if (!accepted) throw new Error(`upload failed: ${JSON.stringify(upload.error)}`);
    expect(upload.response.headers.get("location")).toBe(accepted.links.self);
    expect(accepted.options).toEqual({ currency: "EUR", delimiter: "tab", blank_cells: "clear", on_invalid: "reject_row", charset: null, mode: "upsert", max_archive: null });

    const job = await finishedJob(client, accepted.id);
    expect(job).toMatchObject({ status: "completed", file_name: "catalog.tsv", dry_run: false, processed_rows: 4, created: 2, rejected_rows: 2 });
    // The generated type names the encodings a file is read in.
    const encoding: "utf-8" | "utf-16le" | "utf-16be" | "windows-1252" | null = job.encoding;
    expect(encoding).toBe("utf-8");
    expect(Date.parse(job.finished_at ?? "")).toBeGreaterThanOrEqual(Date.parse(job.created_at));

    // Row errors: JSON pages, then the CSV report.
    // The operation answers JSON or, for `Accept: text/csv`, the CSV report: its data is either.
    const first = await client.GET("/api/v1/products/import/{job_id}/errors", { params: { path: { job_id: job.id }, query: { limit: 1 } } });
    if (!first.data || typeof first.data === "string") throw new Error("expected a JSON page of errors");
    expect(first.data.data.map((e) => [e.line, e.column])).toEqual([[3, "price"]]);
    const cursor = first.data.next_cursor;
    if (!cursor) throw new Error("expected a second page of errors");
    const second = await client.GET("/api/v1/products/import/{job_id}/errors", { params: { path: { job_id: job.id }, query: { limit: 1, cursor } } });
    expect(second.data).toMatchObject({ data: [{ line: 5, column: "price" }], next_cursor: null });
    const report = await client.GET("/api/v1/products/import/{job_id}/errors", {
      params: { path: { job_id: job.id } },
      headers: { accept: "text/csv" },
      parseAs: "text",
    });
    expect(report.response.headers.get("content-type")).toContain("text/csv");
    expect(String(report.data).split("\r\n")[0]).toBe("line,column,code,message,value,severity");
    expect(String(report.data)).toContain("'-1");

    // The status summary, then the same summary unchanged: 304.
    const status = await client.GET("/api/v1/products/import/status", { params: { query: { limit: 1 } } });
    expect(status.data).toMatchObject({ total: 1, completed: 1, errors: 2, last_jobs: [{ id: job.id }] });
    const etag = status.response.headers.get("etag");
    if (!etag) throw new Error("expected an ETag");
    const unchanged = await client.GET("/api/v1/products/import/status", { params: { query: { limit: 1 }, header: { "If-None-Match": etag } } });
    expect(unchanged.response.status).toBe(304);
    expect(unchanged.response.headers.get("etag")).toBe(etag);

    // The products, one page at a time, each read at least as fresh as the page before.
    const skus: string[] = [];
    let next: string | undefined;
    let bookmark: string | undefined;
    do {
      const page = await client.GET("/api/v1/products", { params: { query: { limit: 1, cursor: next }, header: { "x-d1-bookmark": bookmark } } });
      if (!page.data) throw new Error(`listing failed: ${JSON.stringify(page.error)}`);
      skus.push(...page.data.data.map((p) => `${p.sku} ${p.price} ${p.currency}`));
      next = page.data.next_cursor ?? undefined;
      bookmark = page.response.headers.get("x-d1-bookmark") ?? undefined;
      expect(bookmark).toBeTruthy();
    } while (next);
    expect(skus).toEqual(["A-1 19.99 EUR", "C-3 5.00 EUR"]);
  });

  it("gets problems typed as the document's Problem, extension members included", async () => {
    const t = await createTenant();
    const client = apiClient(t.key);
    const missing = await client.GET("/api/v1/products/{sku}", { params: { path: { sku: "NOPE-1" } } });
    expect(missing.response.status).toBe(404);
    expect(missing.response.headers.get("content-type")).toBe("application/problem+json");
    expect(missing.error).toMatchObject({ type: "/problems/not-found", status: 404 });

    const readOnly = apiClient(await addKey(t.tenantId, ["products:read"]));
    const forbidden = await readOnly.GET("/api/v1/products/import", {});
    expect(forbidden.response.status).toBe(403);
    const scope: "products:read" | "imports:read" | "imports:write" | "webhooks:manage" | undefined = forbidden.error?.required_scope;
    expect(scope).toBe("imports:read");

    const invalid = await client.GET("/api/v1/products", { params: { query: { limit: 500 } } });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error?.errors).toEqual([{ location: "query", name: "limit", message: "must be an integer from 1 to 200" }]);

    const wrongType = await client.POST("/api/v1/products/import", {
      body: "{}",
      bodySerializer: (file) => file,
      headers: { "content-type": "application/json" },
    });
    expect(wrongType.response.status).toBe(415);
    expect(wrongType.error?.accepted).toEqual(["text/csv", "application/x-ndjson", "multipart/form-data"]);
  });
});
