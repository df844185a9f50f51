import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { JobJson } from "../src/imports/jobs/job.ts";
import { request } from "./helpers.ts";

/** The job JSON, typed from the schema that documents it. */
export type Job = JobJson;

export async function upload(key: string, body: string | Uint8Array, options: { type?: string; query?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return request(`/api/v1/products/import${options.query ? `?${options.query}` : ""}`, {
    method: "POST",
    key,
    body: bytes,
    headers: { "content-type": options.type ?? "text/csv", "content-length": String(bytes.byteLength), ...options.headers },
  });
}

export async function getJob(key: string, id: string): Promise<Job> {
  const res = await request(`/api/v1/products/import/${id}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

/** Polls the job through the API until the real queue consumer has finished it. */
export async function waitForJob(key: string, id: string, timeoutMs = 30_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(key, id);
    if (job.status === "completed" || job.status === "failed" || job.status === "canceled") return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function importFile(key: string, body: string | Uint8Array, options: Parameters<typeof upload>[2] = {}): Promise<Job> {
  const res = await upload(key, body, options);
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as Job;
  return waitForJob(key, job.id);
}

/** The job of an upload that must have been accepted (202). */
export async function accepted(res: Response): Promise<Job> {
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${await res.text()}`);
  return res.json();
}

/** One product through the API, which must exist. */
export async function product(key: string, sku: string): Promise<Record<string, unknown>> {
  const res = await request(`/api/v1/products/${encodeURIComponent(sku)}`, { key });
  expect(res.status, sku).toBe(200);
  return res.json();
}

export async function rowErrors(key: string, id: string): Promise<{ line: number; column: string | null; code: string; message: string; value: string | null; severity: "error" | "warning" }[]> {
  const res = await request(`/api/v1/products/import/${id}/errors?limit=1000`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: never[] }).data;
}

/** A request body that delivers `parts` one per pull, then ends (or, with `end: "error"`, fails as a dropped connection would). */
export function bodyStream(parts: readonly string[], end: "close" | "error" = "close"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++];
      if (part !== undefined) controller.enqueue(encoder.encode(part));
      else if (end === "error") controller.error(new Error("connection reset by peer"));
      else controller.close();
    },
  });
}

/** Uploads a streamed body; `length` is sent as Content-Length when given (and may differ from what the stream delivers). */
export function uploadStream(
  key: string,
  body: ReadableStream<Uint8Array>,
  options: { type?: string; length?: number; query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": options.type ?? "text/csv", ...options.headers };
  if (options.length !== undefined) headers["content-length"] = String(options.length);
  return request(`/api/v1/products/import${options.query ? `?${options.query}` : ""}`, {
    method: "POST",
    key,
    body,
    headers,
    duplex: "half",
  } as RequestInit & { key: string });
}

export interface JobDbRow {
  id: string;
  status: string;
  failure_reason: string | null;
  object_key: string;
  size_bytes: number;
  created_at: number;
  finished_at: number | null;
}

/** The tenant's job rows straight from D1 (not through the API), oldest first. */
export async function jobRowsOf(tenantId: string): Promise<JobDbRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT id, status, failure_reason, object_key, size_bytes, created_at, finished_at FROM import_jobs WHERE tenant_id = ? ORDER BY created_at, id",
  )
    .bind(tenantId)
    .all<JobDbRow>();
  return results;
}

/** Keys of the objects stored in R2 for the tenant (uploads are stored under `{tenantId}/`). */
export async function storedObjectKeys(tenantId: string): Promise<string[]> {
  const listed = await env.UPLOADS.list({ prefix: `${tenantId}/` });
  return listed.objects.map((o) => o.key);
}

/** Inserts a job row directly (for listing order and states the pipeline would not hold still for). */
export async function insertJobRow(
  tenantId: string,
  row: { id: string; createdAt: number; status?: string; format?: "csv" | "ndjson"; sizeBytes?: number; startedAt?: number | null; finishedAt?: number | null },
): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO import_jobs (id, tenant_id, status, format, file_name, object_key, size_bytes, dry_run, options, created_at, started_at, finished_at, heartbeat_at)
     VALUES (?, ?, ?, ?, NULL, ?, ?, 0, '{"currency":"USD","delimiter":null}', ?, ?, ?, ?)`,
  )
    .bind(
      row.id,
      tenantId,
      row.status ?? "queued",
      row.format ?? "csv",
      `${tenantId}/${row.id}`,
      row.sizeBytes ?? 10,
      row.createdAt,
      row.startedAt ?? null,
      row.finishedAt ?? null,
      row.createdAt,
    )
    .run();
}
