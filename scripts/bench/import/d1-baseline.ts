// The memory baseline of the import benchmark: what local D1 alone adds to the runtime's RSS for the same writes.
//
// Under `wrangler dev` the local D1 (SQLite) runs in the Worker's own workerd process, and its page cache grows with
// the database pages an import touches: ~65 MB more for 1M new products than for 100k, whoever writes them. So the
// runtime's RSS cannot tell the Worker's memory apart by itself. The baseline writes the same rows, in the same
// chunks, through the consumer's own commit (src/imports/write.ts), from the write-shape bench Worker
// (scripts/bench/write-shapes/worker/, POST /fill) that reads no file and holds one chunk at a time; the import's
// processing growth minus this growth is what reading, parsing and validating the file added.
import { startWriteShapesWorker } from "../write-shapes/server.ts";
import { RssSampler } from "./workerd-memory.ts";

export interface D1Baseline {
  /** The runtime process's RSS before the writes and its peak during them, MiB. */
  startMb: number;
  peakMb: number;
  growthMb: number;
  seconds: number;
}

export async function d1OnlyMemory(rows: number, chunkRows: number, stateDir: string): Promise<D1Baseline> {
  const server = await startWriteShapesWorker("D1 baseline worker", stateDir);
  try {
    const sampler = new RssSampler(server.pid, 100);
    sampler.mark();
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${server.port}/fill?rows=${rows}&chunk=${chunkRows}&tenant=baseline`, {
      method: "POST",
      signal: AbortSignal.timeout(600_000),
    });
    const body = await response.text();
    const memory = sampler.stop();
    if (!response.ok) throw new Error(`D1 baseline: HTTP ${response.status}: ${body.slice(0, 1000)}`);
    const written = (JSON.parse(body) as { products_written: number }).products_written;
    if (written !== rows) throw new Error(`D1 baseline: ${written} products written, expected ${rows}`);
    const startMb = memory.markWorkerMb ?? 0;
    const peakMb = memory.peakAfterMarkWorkerMb ?? 0;
    return { startMb, peakMb, growthMb: peakMb - startMb, seconds: (performance.now() - started) / 1000 };
  } finally {
    await server.stop();
  }
}
