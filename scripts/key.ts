// API key administration: `npm run key -- create|list|revoke …` (local D1 by default, --remote for the deployed one).
import { parseArgs } from "node:util";
import { parseScopes, scopes as allScopes } from "../src/auth/keys.ts";
import { createKey, listKeys, revokeKey, TENANT_SLUG } from "./lib/keys.ts";
import type { Target } from "./lib/wrangler.ts";

const USAGE = `Usage:
  npm run key -- create --tenant <slug> [--scopes ${allScopes.join(",")}] [--name <label>] [--remote]
  npm run key -- list --tenant <slug> [--remote]
  npm run key -- revoke <key-id> [--remote]`;

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        scopes: { type: "string" },
        name: { type: "string" },
        remote: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const target: Target = values.remote ? "remote" : "local";
  const [command, ...rest] = positionals;
  const tenant = () => {
    if (!values.tenant) fail("--tenant <slug> is required");
    if (!TENANT_SLUG.test(values.tenant)) fail(`--tenant must be lower-case letters, digits and dashes (got "${values.tenant}")`);
    return values.tenant;
  };

  switch (command) {
    case "create": {
      if (rest.length) fail(`unexpected argument "${rest[0]}"`);
      const slug = tenant();
      const scopes = parseScopes(values.scopes ?? allScopes.join(","));
      if (!Array.isArray(scopes)) fail(`unknown scope(s) ${scopes.unknown.join(", ")}; choose from ${allScopes.join(", ")}`);
      if (scopes.length === 0) fail("--scopes must name at least one scope");
      const name = values.name ?? "default";
      if (name.length > 100) fail("--name must be at most 100 characters");
      const created = await createKey(slug, scopes, name, target);
      console.log(`Created key ${created.id} (${created.prefix}…) for tenant "${slug}" with scopes ${scopes.join(", ")} on the ${target} database.`);
      console.log("Store it now: it is shown only once and only its hash is kept.");
      console.log(created.key);
      return;
    }
    case "list": {
      if (rest.length) fail(`unexpected argument "${rest[0]}"`);
      const slug = tenant();
      const keys = listKeys(slug, target);
      if (keys === null) fail(`no tenant "${slug}" on the ${target} database`);
      if (keys.length === 0) console.log(`Tenant "${slug}" has no keys.`);
      for (const k of keys) {
        const state = k.revoked_at === null ? "active" : `revoked ${new Date(k.revoked_at).toISOString()}`;
        console.log([k.id, `${k.prefix}…`, k.name, k.scopes.replace(/ /g, ","), new Date(k.created_at).toISOString(), state].join("\t"));
      }
      return;
    }
    case "revoke": {
      const [keyId, extra] = rest;
      if (!keyId) fail("revoke needs a key id (see `list`)");
      if (extra) fail(`unexpected argument "${extra}"`);
      if (!revokeKey(keyId, target)) fail(`no active key with id "${keyId}" on the ${target} database`);
      console.log(`Revoked ${keyId}.`);
      return;
    }
    case undefined:
      fail("a command is required: create, list or revoke");
    default:
      fail(`unknown command "${command}"; use create, list or revoke`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`key: ${(err as Error).message}`);
  if (err instanceof UsageError) console.error(USAGE);
  process.exit(err instanceof UsageError ? 2 : 1);
});
