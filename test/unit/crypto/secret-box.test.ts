import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/config.ts";
import { MissingEncryptionKeyError, seal, unseal } from "../../../src/crypto/secret-box.ts";

const testEnv = env as unknown as Env;

describe("secret box", () => {
  it("opens what it sealed, only for the same context, and never shows the plaintext", async () => {
    const sealed = await seal(testEnv, "s3cret password", "feed:f1");
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain("s3cret");
    expect(await seal(testEnv, "s3cret password", "feed:f1")).not.toBe(sealed);
    expect(await unseal(testEnv, sealed, "feed:f1")).toBe("s3cret password");
    await expect(unseal(testEnv, sealed, "feed:f2")).rejects.toThrow();
  });

  it("needs ENCRYPTION_KEY, and one of 32 bytes", async () => {
    await expect(seal({ ...testEnv, ENCRYPTION_KEY: undefined }, "x", "c")).rejects.toBeInstanceOf(MissingEncryptionKeyError);
    await expect(seal({ ...testEnv, ENCRYPTION_KEY: btoa("short") }, "x", "c")).rejects.toThrow(/exactly 32 bytes/);
  });
});
