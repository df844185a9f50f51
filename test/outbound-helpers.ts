// Scripting the test's outbound server (test/outbound-server.ts): what it answers under /s/<id>/, and what it received.
import { inject } from "vitest";
import type { ReceivedRequest, ScriptedResponse } from "./outbound-server.ts";

export type { ReceivedRequest, ScriptedResponse };

const control = () => `http://127.0.0.1:${inject("outboundPort")}`;

/** A fresh id for one test's scripted path prefix. */
export function outboundId(): string {
  return crypto.randomUUID();
}

/** The URL a tenant would register: http://localhost, which tests (and `npm run dev`) allow. */
export function outboundUrl(id: string, path = "/"): string {
  return `http://localhost:${inject("outboundPort")}/s/${id}${path}`;
}

/** The responses to requests under /s/<id>/, in order; the last repeats. Clears what was received under it. */
export async function scriptOutbound(id: string, responses: ScriptedResponse[]): Promise<void> {
  const res = await fetch(`${control()}/__script/${id}`, { method: "POST", body: JSON.stringify(responses) });
  if (res.status !== 204) throw new Error(`scripting the outbound server failed: ${res.status}`);
}

export async function outboundRequests(id: string): Promise<ReceivedRequest[]> {
  const res = await fetch(`${control()}/__requests/${id}`);
  return (await res.json()) as ReceivedRequest[];
}
