import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { openApiDocument } from "../../src/http/openapi.ts";
import { registry } from "../../src/http/route.ts";

const app = createApp();
const document = openApiDocument(registry);

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("documents every route the app serves, and nothing it does not", () => {
    const served = app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(new Set(served)).toEqual(new Set(documented));
    expect(served.length).toBeGreaterThanOrEqual(5);
  });

  it("describes parameters from the validating schemas and the problem shape", () => {
    const list = document.paths["/api/v1/products"]?.get as { parameters: { name: string; schema: object }[]; responses: Record<string, unknown> };
    expect(list.parameters.map((p) => p.name)).toEqual(["limit", "cursor", "status", "updated_since"]);
    expect(list.responses).toHaveProperty("400");
    expect(list.responses).toHaveProperty("401");
    expect(list.responses).toHaveProperty("403");
    expect(document.components.schemas).toHaveProperty("Problem");
    expect(document.components.schemas).toHaveProperty("Product");
    expect(JSON.stringify(list.parameters.find((p) => p.name === "status")?.schema)).toContain("archived");
  });
});
