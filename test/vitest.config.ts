import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "../scripts/docs-assets.mjs";

const root = path.resolve(import.meta.dirname, "..");

/**
 * The standardwebhooks package (the tests' independent signature check) ships a source map without its sources, which
 * Vite warns about on every run; loaded without the map's comment, it is the same code and the output stays quiet.
 */
const standardWebhooksWithoutSourceMap = {
  name: "standardwebhooks-without-source-map",
  enforce: "pre" as const,
  load(id: string) {
    const file = id.split("?")[0]!;
    if (!/[\\/]node_modules[\\/]standardwebhooks[\\/]dist[\\/].*\.js$/.test(file)) return null;
    return readFileSync(file, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
  },
};

export default defineConfig(async () => {
  // The same migration files that `wrangler d1 migrations apply` uses.
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  // The static assets wrangler.toml names must exist before the Workers runtime starts (wrangler's [build] does this for dev).
  copyDocsAssets();
  return {
    test: {
      // The summary and the failures; a line per passing test buries them.
      reporters: ["dot"],
      // Structured request/slice log lines are asserted where they matter; elsewhere they drown the report.
      onConsoleLog: (log: string) => !/^\{"msg":"(request|import slice|inflate slice|sweep|feed fetch)"/.test(log.trim()),
      projects: [
        {
          plugins: [
            standardWebhooksWithoutSourceMap,
            cloudflareTest({
              // The runtime's own request-level logs ("Network connection lost" when a test cuts an upload short) are
              // not test output; the Worker's console and failures still reach the report.
              verbose: false,
              wrangler: { configPath: path.join(root, "wrangler.toml") },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  // Outbound requests (webhooks, feeds) reach the test's own server at http://localhost only.
                  ALLOW_LOCALHOST_URLS: "true",
                  // A fixed test key: sealed secrets in tests are sealed with it, never with a deployed one.
                  ENCRYPTION_KEY: "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            root,
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
            setupFiles: ["test/apply-migrations.ts"],
            globalSetup: ["test/outbound-server.ts"],
            // The heaviest tests (megabyte files, every split of a file) take a second or two alone; on a shared
            // two-core machine running other suites they can take several times that, past vitest's default 5 s.
            testTimeout: 30_000,
          },
        },
        {
          // Node-side tooling (key CLI, OpenAPI validation with a real validator that needs eval).
          test: { name: "node", root, environment: "node", include: ["test/node/**/*.test.ts"] },
        },
      ],
    },
  };
});
