// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
import { z } from "zod";
import { scopes } from "../auth/keys.ts";
import { problemSchema } from "./problem.ts";
import type { RouteSpec } from "./route.ts";

type JsonSchema = Record<string, unknown>;

/** Collects component schemas (zod `.meta({ id })`) while converting, so each is defined once. */
class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
      override: ({ jsonSchema }) => {
        delete (jsonSchema as JsonSchema)["$schema"];
      },
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [id, def] of Object.entries(json.$defs ?? {})) this.components[id] = rewriteRefs(def) as JsonSchema;
    delete json.$defs;
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id === "string") {
      this.components[id] = rewriteRefs(json) as JsonSchema;
      return { $ref: `#/components/schemas/${id}` };
    }
    return rewriteRefs(json) as JsonSchema;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === "$ref" && typeof v === "string" ? v.replace("#/$defs/", "#/components/schemas/") : rewriteRefs(v),
      ]),
    );
  }
  return value;
}

function parameters(set: SchemaSet, where: "query" | "path", schema: z.ZodObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodType;
    const json = set.convert(fieldSchema, "input");
    const description = z.globalRegistry.get(fieldSchema)?.description;
    return {
      name,
      in: where,
      required: where === "path" || !fieldSchema.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: json,
    };
  });
}

const problemContent = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };

function standardResponses(spec: RouteSpec<z.ZodObject | undefined, z.ZodObject | undefined>) {
  const out: Record<string, unknown> = {};
  const add = (status: number, description: string) => {
    out[String(status)] = { description, content: problemContent };
  };
  if (spec.query || spec.params || spec.body) add(400, "The request is invalid; `errors` names each parameter and what was wrong.");
  if (spec.scope) {
    add(401, "Missing, malformed, unknown or revoked API key.");
    add(403, `The API key lacks the scope \`${spec.scope}\`.`);
  }
  add(405, "The path exists but not with this method; see the Allow header.");
  add(500, "An unexpected error; the request id identifies it in the logs.");
  return out;
}

export function openApiDocument(routes: readonly RouteSpec<z.ZodObject | undefined, z.ZodObject | undefined>[]) {
  const set = new SchemaSet();
  set.convert(problemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const responses: Record<string, unknown> = standardResponses(spec);
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? { headers: Object.fromEntries(Object.entries(response.headers).map(([n, d]) => [n, { description: d, schema: { type: "string" } }])) }
          : {}),
        ...(response.content
          ? {
              content: Object.fromEntries(
                Object.entries(response.content).map(([type, schema]) => [type, schema ? { schema: set.convert(schema, "output") } : {}]),
              ),
            }
          : {}),
      };
    }
    const headerParams = Object.entries(spec.headers ?? {}).map(([name, h]) => ({
      name,
      in: "header",
      required: h.required ?? false,
      description: h.description,
      schema: h.schema ? set.convert(h.schema, "input") : { type: "string" },
    }));
    const operation = {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      security: spec.scope ? [{ apiKey: [spec.scope] }] : [],
      parameters: [...parameters(set, "path", spec.params), ...parameters(set, "query", spec.query), ...headerParams],
      ...(spec.body
        ? {
            requestBody: {
              description: spec.body.description,
              required: spec.body.required,
              content: Object.fromEntries(
                Object.entries(spec.body.content).map(([type, schema]) => [
                  type,
                  { schema: schema instanceof z.ZodType ? set.convert(schema, "input") : schema },
                ]),
              ),
            },
          }
        : {}),
      responses,
    };
    (paths[spec.path] ??= {})[spec.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Product Import API",
      version: "1.0.0",
      description:
        "Bulk-import product catalogs (CSV, NDJSON) and follow every import job. Errors are RFC 9457 problem details. " +
        "Every response carries `x-request-id` and `x-d1-bookmark`; send the bookmark back to read data at least that fresh.",
    },
    servers: [{ url: "/" }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: set.components,
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: `API key (\`pik_…\`) with one or more scopes: ${scopes.join(", ")}.`,
        },
      },
    },
  };
}
