// `npm run dev`: local migrations, a local API key (created once, kept in .wrangler/), then `wrangler dev`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hashKey, scopes } from "../src/auth/keys.ts";
import { createKey, keyIsActive } from "./lib/keys.ts";
import { repoRoot, runWrangler } from "./lib/wrangler.ts";

const keyFile = path.join(repoRoot, ".wrangler", "dev-api-key");
const devEnvFile = path.join(repoRoot, ".wrangler", "dev.env");

async function localKey(): Promise<string> {
  if (existsSync(keyFile)) {
    const saved = readFileSync(keyFile, "utf8").trim();
    if (saved && keyIsActive(await hashKey(saved), "local")) return saved;
  }
  const created = await createKey("dev", scopes, "npm run dev", "local");
  mkdirSync(path.dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, `${created.key}\n`, { mode: 0o600 });
  return created.key;
}

/**
 * The local values of what the deployed Worker leaves off or keeps secret, as an env file (wrangler shows its values as
 * hidden): webhooks and feeds may reach http://localhost, and a stand-in for the ENCRYPTION_KEY secret, made once so
 * that secrets sealed in earlier runs still open.
 */
function writeDevEnv(): string {
  const saved = existsSync(devEnvFile) ? /^ENCRYPTION_KEY=(.+)$/m.exec(readFileSync(devEnvFile, "utf8"))?.[1] : undefined;
  const key = saved ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  mkdirSync(path.dirname(devEnvFile), { recursive: true });
  writeFileSync(devEnvFile, `ALLOW_LOCALHOST_URLS=true\nENCRYPTION_KEY=${key}\n`, { mode: 0o600 });
  return devEnvFile;
}

const args = process.argv.slice(2);
if ((await runWrangler(["d1", "migrations", "apply", "DB", "--local"], { inherit: false })) !== 0) {
  console.error("dev: applying local D1 migrations failed");
  process.exit(1);
}
const key = await localKey();
const portFlag = args.indexOf("--port");
const port = portFlag >= 0 ? args[portFlag + 1] : (args.find((a) => a.startsWith("--port="))?.slice(7) ?? "8787");
console.log(`
Local API key for tenant "dev" (all scopes): ${key}
Try:
  curl -H "Authorization: Bearer ${key}" http://localhost:${port}/api/v1/products
`);
process.exit(await runWrangler(["dev", "--env-file", writeDevEnv(), ...args]));
