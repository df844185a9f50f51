// Feeds through the API, and the cron trigger that fetches the due ones.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../src/config.ts";
import type { FeedJson } from "../src/feeds/feed.ts";
import type { feedFetchSchema } from "../src/feeds/fetch-json.ts";
import worker from "../src/index.ts";
import type { z } from "zod";

export type Feed = FeedJson;
export type FeedFetch = z.output<typeof feedFetchSchema>;

/** Vars over the test's own (FEED_FETCH_TIMEOUT_SECONDS, MAX_UPLOAD_BYTES, …), for one request or cron run. */
export type Vars = Partial<Record<keyof Env, string | undefined>>;

/** A request to the Worker, with `vars` over its environment. */
export async function feedRequest(path: string, init: RequestInit & { key: string; json?: unknown }, vars: Vars = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${init.key}`);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  return worker.fetch(new Request(`https://api.test${path}`, { ...init, headers, body }), { ...env, ...vars } as Env, createExecutionContext());
}

export async function createFeed(key: string, body: Record<string, unknown>, vars: Vars = {}): Promise<Feed> {
  const res = await feedRequest("/api/v1/feeds", { method: "POST", key, json: body }, vars);
  if (res.status !== 201) throw new Error(`creating a feed answered ${res.status}: ${await res.text()}`);
  return res.json();
}

export async function runFeed(key: string, id: string, vars: Vars = {}): Promise<FeedFetch> {
  const res = await feedRequest(`/api/v1/feeds/${id}/run`, { method: "POST", key }, vars);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

export async function feedOf(key: string, id: string): Promise<Feed> {
  const res = await feedRequest(`/api/v1/feeds/${id}`, { key });
  expect(res.status).toBe(200);
  return res.json();
}

export async function fetchesOf(key: string, id: string): Promise<FeedFetch[]> {
  const res = await feedRequest(`/api/v1/feeds/${id}/fetches?limit=100`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: FeedFetch[] }).data;
}

/** The Worker's scheduled handler, as the cron trigger calls it, run to its end. */
export async function cronRun(vars: Vars = {}): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
}
