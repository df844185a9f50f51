// Closed-loop HTTP load against 127.0.0.1: `concurrency` keep-alive connections (node:http Agent), each sending
// its next GET as soon as the previous answer's body has arrived. Latency = request sent → body end.
// Every run is bounded in requests and time: it stops issuing at maxRequests, or after durationMs once
// minRequests have been issued, and in any case at maxMs; answers still in flight are awaited (each
// bounded by timeoutMs).
import http from "node:http";

export interface LoadOptions {
  port: number;
  path: string;
  headers?: Record<string, string>;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  minRequests: number;
  maxMs: number;
  timeoutMs: number;
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  failures: number;
  firstFailure: string | null;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  rps: number;
  seconds: number;
  /** Every latency, sorted (ms); lets runs be pooled. */
  samples: number[];
}

/** Pools runs of the same endpoint and concurrency: percentiles over all samples, rate over all measuring time. */
export function pool(runs: LoadResult[]): LoadResult {
  const samples = runs.flatMap((r) => r.samples).sort((a, b) => a - b);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const failures = runs.reduce((a, r) => a + r.failures, 0);
  return summarize(runs[0]?.concurrency ?? 0, samples, seconds, failures, runs.find((r) => r.firstFailure)?.firstFailure ?? null);
}

/** The figures of sorted latencies (ms) measured over `seconds`. */
function summarize(concurrency: number, sorted: number[], seconds: number, failures: number, firstFailure: string | null): LoadResult {
  return {
    concurrency,
    requests: sorted.length,
    failures,
    firstFailure,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    max: sorted.at(-1) ?? Number.NaN,
    rps: seconds > 0 ? sorted.length / seconds : Number.NaN,
    seconds,
    samples: sorted,
  };
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function get(agent: http.Agent, options: LoadOptions): Promise<{ status: number; error: string | null }> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port: options.port, path: options.path, headers: options.headers, agent }, (res) => {
      res.on("data", () => {});
      res.on("end", () => resolve({ status: res.statusCode ?? 0, error: null }));
      res.on("error", (e) => resolve({ status: 0, error: String(e) }));
    });
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on("error", (e) => resolve({ status: 0, error: String(e) }));
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
  const latencies: number[] = [];
  let issued = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  const start = performance.now();
  let lastEnd = start;
  const mayIssue = () => {
    const elapsed = performance.now() - start;
    if (issued >= options.maxRequests || elapsed >= options.maxMs) return false;
    return elapsed < options.durationMs || issued < options.minRequests;
  };
  const loop = async () => {
    while (mayIssue()) {
      issued++;
      const t0 = performance.now();
      const r = await get(agent, options);
      const t1 = performance.now();
      lastEnd = Math.max(lastEnd, t1);
      if (r.status === 200) latencies.push(t1 - t0);
      else {
        failures++;
        firstFailure ??= r.error ?? `HTTP ${r.status}`;
        // A failing endpoint is not measured further: stop this connection's loop.
        if (failures >= 3) break;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } finally {
    agent.destroy();
  }
  const seconds = (lastEnd - start) / 1000;
  return summarize(options.concurrency, latencies.sort((a, b) => a - b), seconds, failures, firstFailure);
}
