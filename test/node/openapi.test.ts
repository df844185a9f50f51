import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { rowErrorAbout, rowErrorCodes } from "../../src/model/row-error-codes.ts";
import { generateClientTypes, generatedTypesFile, servedDocument } from "../../scripts/lib/openapi-client.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
const app = createApp();
const document = servedDocument();

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters: Json[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { headers?: Record<string, Json>; content?: Record<string, { schema?: Json }> }>;
}

const operations = Object.entries(document.paths).flatMap(([p, item]) =>
  Object.entries(item as Record<string, Operation>).map(([method, op]) => ({ path: p, method, op })),
);
const operation = (id: string) => {
  const found = operations.find((o) => o.op.operationId === id)?.op;
  if (!found) throw new Error(`no operation ${id}`);
  return found;
};
const schemas = document.components.schemas as Record<string, Json & { properties?: Record<string, Json> }>;
const parameter = (id: string, name: string) => operation(id).parameters.find((p) => p.name === name)?.schema;

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("documents every route the app serves, HEAD wherever GET is, and nothing it does not", () => {
    const served = app.routes
      .filter((r) => r.method !== "ALL")
      .flatMap((r) => {
        const route = `${r.path.replace(/:(\w+)/g, "{$1}")}`;
        return r.method === "GET" ? [`GET ${route}`, `HEAD ${route}`] : [`${r.method} ${route}`];
      });
    const documented = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(new Set(served)).toEqual(new Set(documented));
    expect(served.length).toBeGreaterThanOrEqual(5);
  });

  it("defines every component schema (none is only a reference to itself)", () => {
    expect(Object.keys(schemas).length).toBeGreaterThanOrEqual(11);
    for (const [id, schema] of Object.entries(schemas)) {
      expect(schema, id).not.toHaveProperty("$ref");
      expect(schema, id).not.toHaveProperty("$schema");
      expect(schema.type ?? schema.anyOf, id).toBeDefined();
    }
    expect(Object.keys(schemas.ImportJob?.properties ?? {})).toContain("processed_rows");
    expect(Object.keys(schemas.Product?.properties ?? {})).toContain("sku");
  });

  it("describes parameters from the validating schemas as clients send them", () => {
    expect(operation("listProducts").parameters.flatMap((p) => (p.in === "query" ? [p.name] : []))).toEqual(["limit", "cursor", "status", "group", "updated_since"]);
    expect(JSON.stringify(parameter("listProducts", "status"))).toContain("archived");
    expect(parameter("listProducts", "limit")).toMatchObject({ type: "integer", minimum: 1, maximum: 200, default: 50 });
    expect(parameter("listImportErrors", "limit")).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 });
    expect(parameter("getImportStatus", "limit")).toMatchObject({ type: "integer", minimum: 0, maximum: 50 });
    expect(parameter("createImport", "dry_run")).toMatchObject({ type: "boolean" });
    expect(parameter("createImport", "delimiter")).toMatchObject({ enum: [",", ";", "tab"] });
    expect(parameter("listProducts", "updated_since")).toMatchObject({ type: "string", format: "date-time" });
  });

  it("answers every problem with the Problem schema, extension members included", () => {
    let problems = 0;
    // HEAD answers carry no body.
    for (const { method, op } of operations.filter((o) => o.method !== "head")) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        problems++;
        expect(response.content, `${method} ${op.operationId} ${status}`).toEqual({ "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } });
      }
    }
    expect(problems).toBeGreaterThan(20);
    const statuses = new Set(operations.flatMap(({ op }) => Object.keys(op.responses)));
    for (const status of ["400", "401", "403", "404", "409", "411", "413", "415", "422", "503"]) expect(statuses).toContain(status);
    expect(Object.keys(schemas.Problem?.properties ?? {})).toEqual(
      expect.arrayContaining(["type", "title", "status", "detail", "instance", "errors", "required_scope", "max_bytes", "accepted"]),
    );
  });

  it("lists no 405 on an operation (the method of an operation is always allowed)", () => {
    for (const { op } of operations) expect(Object.keys(op.responses), op.operationId).not.toContain("405");
  });

  it("declares x-request-id on every response and x-d1-bookmark wherever it may occur", () => {
    for (const { op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.["x-request-id"], `${op.operationId} ${status}`).toEqual({ $ref: "#/components/headers/RequestId" });
        expect(response.headers?.["x-d1-bookmark"], `${op.operationId} ${status}`).toEqual({ $ref: "#/components/headers/Bookmark" });
      }
      expect(op.parameters).toContainEqual({ $ref: "#/components/parameters/Bookmark" });
    }
    const headers = document.components.headers;
    expect(headers.RequestId.required).toBe(true);
    // Not every response has a bookmark (one that touched no database and was sent none): the header is optional.
    expect(headers.Bookmark).not.toHaveProperty("required");
    expect(document.info.description).not.toMatch(/every response carries `x-d1-bookmark`/i);
  });

  it("types the bodies without a zod schema as strings: the CSV error report, the upload, the docs page", () => {
    expect(operation("listImportErrors").responses["200"]?.content?.["text/csv"]).toEqual({ schema: { type: "string" } });
    expect(operation("getDocsPage").responses["200"]?.content?.["text/html"]).toEqual({ schema: { type: "string" } });
    const upload = operation("createImport").requestBody?.content;
    expect(upload?.["text/csv"]?.schema).toMatchObject({ type: "string", contentMediaType: "text/csv" });
    expect(upload?.["application/x-ndjson"]?.schema).toMatchObject({ type: "string" });
  });

  it("gives job timestamps a date-time format, counts a minimum of 0 and the delimiter as sent", () => {
    const job = schemas.ImportJob?.properties ?? {};
    expect(job.created_at).toMatchObject({ type: "string", format: "date-time" });
    for (const name of ["queued_at", "started_at", "finished_at"]) expect(JSON.stringify(job[name])).toContain('"format":"date-time"');
    for (const name of ["size_bytes", "processed_rows", "created", "updated", "unchanged", "rejected_rows", "skipped_rows", "error_count"]) {
      expect(job[name], name).toMatchObject({ type: "integer", minimum: 0 });
    }
    for (const name of ["total", "pending", "queued", "processing", "completed", "failed", "errors"]) {
      expect(schemas.ImportStatus?.properties?.[name], name).toMatchObject({ type: "integer", minimum: 0 });
    }
    expect(JSON.stringify(schemas.ImportOptions)).toContain('"enum":[",",";","tab"]');
    expect(JSON.stringify(schemas.ImportOptions)).not.toContain("\\t");
    expect(JSON.stringify(document)).not.toContain("9007199254740991");
  });

  it("gives a row error's code as the catalog's enum, each value described", () => {
    expect(schemas.RowError?.properties?.code).toEqual({ $ref: "#/components/schemas/RowErrorCode" });
    const codes = schemas.RowErrorCode as Json & { enum: string[]; "x-enumDescriptions": Record<string, string> };
    expect(codes.enum).toEqual(rowErrorCodes);
    expect(Object.keys(codes["x-enumDescriptions"])).toEqual(rowErrorCodes);
    expect(codes["x-enumDescriptions"].ragged_row).toBe(rowErrorAbout("ragged_row"));
    expect(codes["x-enumDescriptions"].too_long).toMatch(/^The cell is longer.*A warning when on_invalid=skip_field leaves the field out\.$/);
  });
});

describe("the OpenAPI document as its users consume it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "openapi-lint-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("passes `redocly lint` (recommended rules, redocly.yaml) without errors or warnings", { timeout: 60_000 }, () => {
    const file = path.join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(document));
    const cli = path.join(root, "node_modules", "@redocly", "cli", "bin", "cli.js");
    const run = spawnSync(process.execPath, [cli, "lint", file, "--config", path.join(root, "redocly.yaml"), "--format", "json"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    });
    const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });

  it("generates the committed client types (test/generated/api.d.ts; `npm run openapi:client` refreshes them)", { timeout: 60_000 }, async () => {
    expect(readFileSync(generatedTypesFile, "utf8")).toBe(await generateClientTypes());
  });
});
