// Starts the write-shape bench Worker (./worker/) under `wrangler dev` on a fresh local D1 with the real
// migrations: used by bench:write-shapes and by bench:import's D1 memory baseline.
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { DevServer, freePort } from "../lib/dev-server.ts";
import { wranglerSync } from "../lib/wrangler-dev.ts";

const config = path.join(import.meta.dirname, "wrangler.toml");

/** Ready to answer; the caller stops it (server.stop() or stopAll()). */
export async function startWriteShapesWorker(name: string, stateDir: string): Promise<DevServer> {
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir, "-c", config]);
  const server = new DevServer({ name, port: await freePort(), inspectorPort: await freePort(), persistTo: stateDir, logFile: path.join(stateDir, "wrangler-dev.log"), config });
  try {
    await server.waitReady("/health");
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
