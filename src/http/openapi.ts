// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
import { z } from "zod";
import { scopes } from "../auth/keys.ts";
import { PROBLEM_CONTENT_TYPE, problemSchema } from "./problem.ts";
import { BOOKMARK_PATTERN } from "./request-context.ts";
import type { RouteSpec } from "./route.ts";

type JsonSchema = Record<string, unknown>;
type AnySpec = RouteSpec<z.ZodObject | undefined, z.ZodObject | undefined>;

/**
 * What a request parameter looks like on the wire when its validator cannot say it: e.g. `limit` is parsed from
 * a digit string, but clients see an integer with bounds.
 */
export const wireSchemas = z.registry<{ schema: JsonSchema }>();

/** Documents a query parameter as `schema` (see wireSchemas); returns the same zod schema. */
export function documentedAs<T extends z.ZodType>(zodSchema: T, schema: JsonSchema): T {
  wireSchemas.add(zodSchema, { schema });
  return zodSchema;
}

const tagDescriptions: Record<string, string> = {
  Health: "Whether the API and its database answer.",
  Imports: "Upload product files and follow their import jobs.",
  Products: "The imported catalog.",
  Documentation: "This document and a page that renders it.",
};

const componentRef = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Collects component schemas (zod `.meta({ id })`) while converting, so each is defined once. */
class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
      override: ({ jsonSchema }) => {
        // z.int() bounds itself to the safe integers; that says nothing to a client.
        if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
        if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
        // z.iso.datetime() adds its own regex beside `format: date-time`; the format is the contract.
        if (jsonSchema.format === "date-time") delete jsonSchema.pattern;
      },
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    delete json.$schema;
    // A schema with an id comes back as `{ $ref: "#/$defs/<id>", $defs: { <id>: … } }`: the definition is in $defs,
    // and the root is only a reference to it.
    for (const [id, def] of Object.entries(json.$defs ?? {})) this.components[id] = rewriteRefs(def) as JsonSchema;
    delete json.$defs;
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id === "string") {
      if (json.$ref !== `#/$defs/${id}`) this.components[id] = rewriteRefs(json) as JsonSchema;
      return componentRef(id);
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
    const description = z.globalRegistry.get(fieldSchema)?.description;
    const wire = wireSchemas.get(fieldSchema)?.schema;
    return {
      name,
      in: where,
      required: where === "path" || !fieldSchema.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: wire ?? set.convert(fieldSchema, "input"),
    };
  });
}

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: componentRef("Problem") } };

/** Response headers of every response (components.headers). */
const commonResponseHeaders = {
  "x-request-id": { $ref: "#/components/headers/RequestId" },
  "x-d1-bookmark": { $ref: "#/components/headers/Bookmark" },
};

/** Request headers every operation takes (components.parameters). */
const commonParameters = [{ $ref: "#/components/parameters/RequestId" }, { $ref: "#/components/parameters/Bookmark" }];

function standardResponses(spec: AnySpec) {
  const out: Record<string, Record<string, unknown>> = {};
  const add = (status: number, description: string, headers: Record<string, string> = {}) => {
    const own = Object.fromEntries(Object.entries(headers).map(([n, d]) => [n, { description: d, schema: { type: "string" } }]));
    out[String(status)] = { description, headers: { ...own, ...commonResponseHeaders }, content: problemContent };
  };
  add(
    400,
    spec.query || spec.params || spec.body || spec.headers
      ? "The request is invalid (a parameter, the body, a header such as `x-d1-bookmark`); `errors` names each and what was wrong."
      : "A request header is invalid (e.g. `x-d1-bookmark`); `errors` names it.",
  );
  if (spec.scope) {
    add(401, "Missing, malformed, unknown or revoked API key.", { "WWW-Authenticate": "`Bearer realm=…`, with `error=\"invalid_token\"` when a key was sent." });
    add(403, `The API key lacks the scope \`${spec.scope}\`, named in \`required_scope\`.`, {
      "WWW-Authenticate": "`Bearer realm=…, error=\"insufficient_scope\", scope=…`.",
    });
  }
  add(500, "An unexpected error; the request id identifies it in the logs.");
  return out;
}

function contentOf(set: SchemaSet, type: string, schema: z.ZodType | null) {
  if (schema) return { schema: set.convert(schema, "output") };
  // Without a zod schema: problems are Problems, anything else (the CSV report, the HTML page) is text.
  return type === PROBLEM_CONTENT_TYPE ? { schema: componentRef("Problem") } : { schema: { type: "string" } };
}

function responsesOf(set: SchemaSet, spec: AnySpec): Record<string, Record<string, unknown>> {
  const responses: Record<string, Record<string, unknown>> = standardResponses(spec);
  for (const [status, response] of Object.entries(spec.responses)) {
    const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([n, d]) => [n, { description: d, schema: { type: "string" } }]));
    responses[status] = {
      description: response.description,
      headers: { ...headers, ...commonResponseHeaders },
      ...(response.content
        ? { content: Object.fromEntries(Object.entries(response.content).map(([type, schema]) => [type, contentOf(set, type, schema)])) }
        : {}),
    };
  }
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

/** HEAD is answered for every GET (Hono runs the GET handler and drops the body): the same responses without content. */
function headOperation(get: Record<string, unknown> & { operationId: string; summary: string; responses: Record<string, Record<string, unknown>> }) {
  const { description: _d, ...rest } = get;
  return {
    ...rest,
    operationId: `${get.operationId}Head`,
    summary: `${get.summary} (headers only)`,
    description: "The GET operation's status and headers without its body.",
    responses: Object.fromEntries(Object.entries(get.responses).map(([status, { content: _c, ...response }]) => [status, response])),
  };
}

export function openApiDocument(routes: readonly AnySpec[]) {
  const set = new SchemaSet();
  set.convert(problemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
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
      parameters: [...parameters(set, "path", spec.params), ...parameters(set, "query", spec.query), ...headerParams, ...commonParameters],
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
      responses: responsesOf(set, spec),
    };
    const item = (paths[spec.path] ??= {});
    item[spec.method] = operation;
    if (spec.method === "get") item.head = headOperation(operation);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Product Import API",
      version: "1.0.0",
      description: [
        "Bulk-import product catalogs (CSV, NDJSON) and follow every import job. Errors are RFC 9457 problem details (`application/problem+json`).",
        "",
        "Every response to these operations, and every 404 and 405, carries `x-request-id`. A response to a request that read or wrote the database carries `x-d1-bookmark`; one that touched no database (e.g. a request refused before its key was looked up) echoes the bookmark the request sent, if any. Send the latest bookmark back to read data at least that fresh.",
        "",
        "A path requested with a method it does not have answers 405 with `Allow`; an unknown path answers 404. HEAD is answered wherever GET is.",
      ].join("\n"),
    },
    servers: [{ url: "/" }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name, ...(tagDescriptions[name] ? { description: tagDescriptions[name] } : {}) })),
    paths,
    components: {
      schemas: set.components,
      headers: {
        RequestId: {
          description: "The request's id: the one the client sent in `x-request-id` if it was 1–128 of `A-Z a-z 0-9 . _ : -`, otherwise a new UUID.",
          required: true,
          schema: { type: "string" },
        },
        Bookmark: {
          description:
            "D1 bookmark: the database position this request saw. Present when the request read or wrote the database, or sent a bookmark itself.",
          schema: { type: "string" },
        },
      },
      parameters: {
        RequestId: {
          name: "x-request-id",
          in: "header",
          required: false,
          description:
            "An id for this request, echoed in the response and written to the log line when it is 1–128 of `A-Z a-z 0-9 . _ : -` (otherwise the API makes one up).",
          schema: { type: "string" },
        },
        Bookmark: {
          name: "x-d1-bookmark",
          in: "header",
          required: false,
          description: "A bookmark from an earlier response: a read is served by a database copy at least that fresh. Anything else is a 400.",
          schema: { type: "string", pattern: BOOKMARK_PATTERN },
        },
      },
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
