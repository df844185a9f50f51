// Vitest global setup: the HTTP server that webhook deliveries and feed fetches reach in tests, on loopback only
// (127.0.0.1 and ::1, one port, so that http://localhost:<port> reaches it however the runtime resolves the name).
// Each test scripts the responses for its own path prefix and reads back what the server received
// (test/outbound-helpers.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Binary bodies (gzip) as base64. */
  bodyBase64?: string;
  /** Sent as the Location header, with status 302 unless another 3xx is given. */
  redirectTo?: string;
  /** Wait this long before the status and headers. */
  delayMs?: number;
  /** Send the headers and the first half of the body, then wait this long before the rest. */
  stallBodyMs?: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    outboundPort: number;
  }
}

const scripts = new Map<string, { responses: ScriptedResponse[]; served: number }>();
const received = new Map<string, ReceivedRequest[]>();

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const body = await readBody(req);
  const control = /^\/__(script|requests)\/([\w-]+)$/.exec(url.pathname);
  if (control) {
    const id = control[2]!;
    if (control[1] === "script") {
      scripts.set(id, { responses: JSON.parse(body.toString("utf8")) as ScriptedResponse[], served: 0 });
      received.set(id, []);
      res.writeHead(204).end();
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received.get(id) ?? []));
    }
    return;
  }
  const scripted = /^\/s\/([\w-]+)(\/.*)?$/.exec(url.pathname);
  const script = scripted ? scripts.get(scripted[1]!) : undefined;
  if (!scripted || !script || script.responses.length === 0) {
    res.writeHead(404).end("nothing scripted here");
    return;
  }
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
  received.get(scripted[1]!)!.push({ method: req.method ?? "GET", path: url.pathname + url.search, headers, body: body.toString("utf8") });
  const r = script.responses[Math.min(script.served++, script.responses.length - 1)]!;
  if (r.delayMs) await sleep(r.delayMs);
  const payload = r.bodyBase64 !== undefined ? Buffer.from(r.bodyBase64, "base64") : Buffer.from(r.body ?? "", "utf8");
  const outHeaders: Record<string, string> = { ...r.headers };
  if (r.redirectTo) outHeaders.location = r.redirectTo;
  const status = r.status ?? (r.redirectTo ? 302 : 200);
  if (r.stallBodyMs) {
    res.writeHead(status, outHeaders);
    const half = Math.floor(payload.length / 2);
    res.write(payload.subarray(0, half));
    await sleep(r.stallBodyMs);
    if (!res.destroyed) res.end(payload.subarray(half));
    return;
  }
  res.writeHead(status, { ...outHeaders, "content-length": String(payload.length) }).end(payload);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serve = (req: IncomingMessage, res: ServerResponse) =>
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  const v4 = createServer(serve);
  const port = await listen(v4, 0, "127.0.0.1");
  const servers = [v4];
  // ::1 as well where the machine has IPv6 loopback; without it localhost resolves to 127.0.0.1 anyway.
  const v6 = createServer(serve);
  await listen(v6, port, "::1").then(
    () => servers.push(v6),
    () => undefined,
  );
  project.provide("outboundPort", port);
  return async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  };
}
