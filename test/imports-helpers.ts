import { expect } from "vitest";
import { request } from "./helpers.ts";

export interface Job {
  id: string;
  status: string;
  format: string;
  total_rows: number | null;
  processed_rows: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected_rows: number;
  error_count: number;
  ignored_columns: string[];
  failure_reason: string | null;
  dry_run: boolean;
  [key: string]: unknown;
}

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
    if (job.status === "completed" || job.status === "failed") return job;
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

export async function rowErrors(key: string, id: string): Promise<{ line: number; column: string | null; code: string; message: string; value: string | null }[]> {
  const res = await request(`/api/v1/products/import/${id}/errors?limit=1000`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: never[] }).data;
}
