import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashKey } from "../../src/auth/keys.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
const state = mkdtempSync(path.join(tmpdir(), "key-cli-"));
const env = { ...process.env, KEY_CLI_PERSIST_TO: state, WRANGLER_SEND_METRICS: "false" };
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");

function key(...args: string[]) {
  const run = spawnSync(process.execPath, [path.join(root, "scripts", "key.ts"), ...args], { cwd: root, env, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function query(sql: string): Record<string, unknown>[] {
  const out = execFileSync(wrangler, ["d1", "execute", "DB", "--local", "--persist-to", state, "--json", "--command", sql], { cwd: root, env, encoding: "utf8" });
  return (JSON.parse(out) as { results: Record<string, unknown>[] }[])[0]?.results ?? [];
}

describe("npm run key", { timeout: 120_000 }, () => {
  beforeAll(() => {
    execFileSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, env, stdio: "ignore" });
  }, 120_000);
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it("creates a key (tenant too), prints it last, stores only its hash; lists and revokes it", async () => {
    const created = key("create", "--tenant", "acme", "--scopes", "products:read,imports:read", "--name", "ci bot");
    expect(created.status).toBe(0);
    const lines = created.stdout.trim().split("\n");
    const plain = lines.at(-1) ?? "";
    expect(plain).toMatch(/^pik_[0-9A-Za-z]{32}$/);

    const [row] = query("SELECT k.id, k.key_hash, k.scopes, k.name, t.slug FROM api_keys k JOIN tenants t ON t.id = k.tenant_id");
    expect(row).toMatchObject({ key_hash: await hashKey(plain), scopes: "products:read imports:read", name: "ci bot", slug: "acme" });
    expect(JSON.stringify(query("SELECT * FROM api_keys"))).not.toContain(plain);

    const second = key("create", "--tenant", "acme");
    expect(second.status).toBe(0);
    expect(query("SELECT count(*) AS n FROM tenants")[0]).toEqual({ n: 1 });
    expect(query(`SELECT scopes FROM api_keys WHERE id <> '${String(row?.id)}'`)[0]).toEqual({ scopes: "products:read imports:read imports:write webhooks:manage" });

    const listed = key("list", "--tenant", "acme");
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(String(row?.id));
    expect(listed.stdout).not.toContain(plain);
    expect(listed.stdout.trim().split("\n")).toHaveLength(2);

    const hooks = key("create", "--tenant", "acme", "--scopes", "webhooks:manage", "--name", "hooks");
    expect(hooks.status).toBe(0);
    expect(query("SELECT scopes FROM api_keys WHERE name = 'hooks'")[0]).toEqual({ scopes: "webhooks:manage" });

    const revoked = key("revoke", String(row?.id));
    expect(revoked.status).toBe(0);
    expect(key("list", "--tenant", "acme").stdout).toMatch(/revoked \d{4}-/);
    const again = key("revoke", String(row?.id));
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("no active key");
  });

  for (const [label, args, message] of [
    ["no command", [], "a command is required"],
    ["an unknown command", ["rotate"], 'unknown command "rotate"'],
    ["create without --tenant", ["create"], "--tenant <slug> is required"],
    ["a bad tenant slug", ["create", "--tenant", "Bad Slug"], "--tenant must be"],
    ["an unknown scope", ["create", "--tenant", "acme", "--scopes", "products:write"], 'unknown scope(s) products:write'],
    ["an unknown flag", ["create", "--tenant", "acme", "--admin"], "Unknown option"],
    ["revoke without an id", ["revoke"], "needs a key id"],
    ["list of a missing tenant", ["list", "--tenant", "nobody"], 'no tenant "nobody"'],
  ] as const) {
    it(`fails clearly on ${label}`, () => {
      const run = key(...args);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(message);
      expect(run.stdout).not.toMatch(/pik_/);
    });
  }
});
