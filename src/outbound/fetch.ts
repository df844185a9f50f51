// Every request the Worker sends to a URL a tenant chose goes through outboundFetch: the guard checks the URL and
// every redirect target before anything is sent to it, and the time and the bytes one response may cost are bounded.
import { checkOutboundUrl, MAX_OUTBOUND_URL_LENGTH, type OutboundPolicy } from "./url-guard.ts";

export interface OutboundLimits {
  /** Until the response's status and headers arrive: covers connecting, TLS and a server that never answers. */
  headersTimeoutMs: number;
  /** Until the whole body has been read. */
  totalTimeoutMs: number;
  /** The most body bytes read (as they arrive, after any decoding the runtime does). */
  maxBytes: number;
}

/** Redirects followed at most; each target is checked again. */
export const MAX_OUTBOUND_REDIRECTS = 3;

export type OutboundResult =
  /** response.body errors with an OutboundBodyError once it passes maxBytes or totalTimeoutMs. */
  | { kind: "response"; response: Response; url: URL; redirects: number }
  /** The URL or a redirect target was refused: nothing was sent to it. */
  | { kind: "refused"; reason: string; url: string }
  | { kind: "failed"; reason: "timeout" | "network" | "too_many_redirects"; detail: string };

export class OutboundBodyError extends Error {
  // A plain field, not a parameter property: Node's type stripping (scripts, node tests) does not take those.
  readonly reason: "too_large" | "timeout";
  constructor(reason: "too_large" | "timeout", message: string) {
    super(message);
    this.name = "OutboundBodyError";
    this.reason = reason;
  }
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  /** Replayable, so that a 307/308 redirect can send it again. */
  body?: string;
  /** Header names that must not follow a redirect to another origin (Authorization never does). */
  sensitiveHeaders?: string[];
  /** Keep a compressed body as the server sent it (Content-Encoding: gzip), undecoded: a feed stores the bytes as sent. */
  keepEncoded?: boolean;
  /** "manual": a redirect is returned as the response, not followed (a webhook endpoint must answer itself). */
  redirects?: "follow" | "manual";
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const nullBodyStatuses = new Set([101, 204, 205, 304]);

export async function outboundFetch(url: string, init: OutboundInit, policy: OutboundPolicy, limits: OutboundLimits): Promise<OutboundResult> {
  const first = checkOutboundUrl(url, policy);
  if (!first.ok) return { kind: "refused", reason: first.reason, url };
  const controller = new AbortController();
  let timedOut = false;
  const totalTimer = setTimeout(() => {
    timedOut = true;
    controller.abort(new OutboundBodyError("timeout", `no complete response within ${limits.totalTimeoutMs} ms`));
  }, limits.totalTimeoutMs);
  const done = () => clearTimeout(totalTimer);

  let target = first.url;
  let { method = "GET", body } = init;
  let headers = { ...init.headers };
  const sensitive = new Set(["authorization", ...(init.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
  for (let redirects = 0; ; redirects++) {
    let response: Response;
    const headersTimer = setTimeout(() => {
      timedOut = true;
      controller.abort(new OutboundBodyError("timeout", `no response headers within ${limits.headersTimeoutMs} ms`));
    }, limits.headersTimeoutMs);
    try {
      const encodeResponseBody = init.keepEncoded ? "manual" : "automatic";
      response = await fetch(target, { method, headers, body, redirect: "manual", signal: controller.signal, encodeResponseBody });
    } catch (err) {
      done();
      if (timedOut) return { kind: "failed", reason: "timeout", detail: (controller.signal.reason as Error).message };
      return { kind: "failed", reason: "network", detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(headersTimer);
    }
    const location = response.headers.get("location");
    if (!redirectStatuses.has(response.status) || location === null || init.redirects === "manual") {
      if (response.body === null || nullBodyStatuses.has(response.status)) {
        done();
        return { kind: "response", response, url: target, redirects };
      }
      const capped = cappedBody(response.body, limits, controller, () => timedOut, done);
      return { kind: "response", response: new Response(capped, response), url: target, redirects };
    }
    await response.body?.cancel();
    if (redirects === MAX_OUTBOUND_REDIRECTS) {
      done();
      return { kind: "failed", reason: "too_many_redirects", detail: `more than ${MAX_OUTBOUND_REDIRECTS} redirects` };
    }
    let next: string;
    try {
      next = new URL(location, target).href;
    } catch {
      done();
      return { kind: "refused", reason: "a redirect's Location is not a URL", url: location.slice(0, MAX_OUTBOUND_URL_LENGTH) };
    }
    const check = checkOutboundUrl(next, policy);
    if (!check.ok) {
      done();
      return { kind: "refused", reason: `a redirect went to a refused URL: ${check.reason}`, url: next };
    }
    if (check.url.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !sensitive.has(name.toLowerCase())));
    // As browsers do: 303, and 301/302 after a POST, go on as a GET without the body; 307 and 308 repeat the request.
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== "content-type"));
    }
    target = check.url;
  }
}

function cappedBody(
  body: ReadableStream<Uint8Array>,
  limits: OutboundLimits,
  controller: AbortController,
  timedOut: () => boolean,
  done: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(out) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        done();
        throw timedOut() ? (controller.signal.reason as OutboundBodyError) : err;
      }
      if (chunk.done) {
        done();
        out.close();
        return;
      }
      seen += chunk.value.byteLength;
      if (seen > limits.maxBytes) {
        done();
        const error = new OutboundBodyError("too_large", `the response is larger than ${limits.maxBytes} bytes`);
        controller.abort(error);
        throw error;
      }
      out.enqueue(chunk.value);
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
}
