import { DrizzleQueryError } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loggedError, naming } from "../../src/log-error.ts";

const busy = new Error("D1_ERROR: database is locked: SQLITE_BUSY");

describe("loggedError", () => {
  it.each([
    ['select "id" from "api_keys" where "key_hash" = ?', "select api_keys"],
    ['insert into "import_jobs" ("id") values (?)', "insert import_jobs"],
    ['update "import_jobs" set "status" = ? from "x" where "id" = ?', "update import_jobs"],
    ['delete from "idempotency_keys" where "key" = ?', "delete idempotency_keys"],
    ["pragma optimize", "query"],
  ])("names %s by verb and table only", (query, statement) => {
    const logged = loggedError(new DrizzleQueryError(query, ["secret-param"], busy));
    expect(logged).toEqual({ error_class: "Error", error_code: "SQLITE_BUSY", statement });
    expect(JSON.stringify(logged)).not.toContain("secret-param");
  });

  it("names a failed batch by the name it was run under", async () => {
    const failed = await naming("status summary", Promise.reject(busy)).catch((err: unknown) => err);
    expect(loggedError(failed)).toEqual({ error_class: "Error", error_code: "SQLITE_BUSY", statement: "status summary" });
    expect(await naming("ok", Promise.resolve(1))).toBe(1);
  });

  it("keeps a D1 error's code and drops its message", () => {
    expect(loggedError(new Error("D1_ERROR: UNIQUE constraint failed: products.sku_key"))).toEqual({ error_class: "Error", error_code: "D1_ERROR" });
  });

  it("keeps other errors' class and cut message, and the stack only when asked", () => {
    const long = new TypeError("x".repeat(1000));
    const logged = loggedError(long);
    expect(logged.error_class).toBe("TypeError");
    expect(logged.error?.length).toBeLessThan(400);
    expect(logged.stack).toBeUndefined();
    expect(loggedError(long, { stack: true }).stack).toContain("TypeError");
    expect(loggedError("plain")).toEqual({ error_class: "string", error: "plain" });
  });
});
