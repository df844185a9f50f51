// The OpenAPI 3.1 document: @hono/zod-openapi generates it from the route configs (the same zod schemas that
// validate requests); what every operation shares is added here, once.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { scopes } from "../auth/keys.ts";
import type { AppEnv } from "./context.ts";
import { problemSchema } from "./problem.ts";
import { BOOKMARK_PATTERN } from "./request-context.ts";
import { headers, problemContent } from "./route.ts";

type Json = Record<string, unknown>;
type Operation = Json & { operationId: string; summary: string; parameters?: Json[]; requestBody?: Json; security?: { apiKey?: string[] }[]; responses: Record<string, Json> };

const tagDescriptions: Record<string, string> = {
  Health: "Whether the API and its database answer.",
  Imports: "Upload product files and follow their import jobs.",
  "Import profiles": "Saved column mappings, used on upload with `profile=<name>`.",
  Products: "The imported catalog.",
  Documentation: "This document and a page that renders it.",
};

/** Response headers of every response (components.headers). */
const commonResponseHeaders = {
  "x-request-id": { $ref: "#/components/headers/RequestId" },
  "x-d1-bookmark": { $ref: "#/components/headers/Bookmark" },
};

/** Request headers every operation takes (components.parameters). */
const commonParameters = [{ $ref: "#/components/parameters/RequestId" }, { $ref: "#/components/parameters/Bookmark" }];

/** 400 and 500 on every operation, 401 and 403 on those that need a scope. */
function standardResponses(op: Operation): Record<string, Json> {
  const problem = (description: string, own: Record<string, string> = {}) => ({ description, headers: headers(own), content: problemContent });
  const scope = op.security?.[0]?.apiKey?.[0];
  return {
    400: problem(
      `${(op.parameters?.length ?? 0) > 0 || op.requestBody ? "The request is invalid (a parameter, the body, a header such as `x-d1-bookmark`)" : "A request header is invalid (e.g. `x-d1-bookmark`)"}` +
        (op.parameters?.some((p) => p.in === "query")
          ? ", or gives a query parameter the operation does not have (named with the closest one it has: `did you mean …?`) or one more than once"
          : ", or gives a query parameter (this operation takes none)") +
        "; `errors` names each and what was wrong.",
    ),
    ...(scope
      ? {
          401: problem("Missing, malformed, unknown or revoked API key.", { "WWW-Authenticate": "`Bearer realm=…`, with `error=\"invalid_token\"` when a key was sent." }),
          403: problem(`The API key lacks the scope \`${scope}\`, named in \`required_scope\`.`, {
            "WWW-Authenticate": "`Bearer realm=…, error=\"insufficient_scope\", scope=…`.",
          }),
        }
      : {}),
    500: problem("An unexpected error; the request id identifies it in the logs."),
  };
}

const parameterOrder = ["path", "query", "header"];

/** The shared parameters and responses, every response's common headers, statuses in order. */
function completeOperation(op: Operation): Operation {
  const responses = { ...standardResponses(op), ...op.responses };
  const own = [...(op.parameters ?? [])].sort((a, b) => parameterOrder.indexOf(a.in as string) - parameterOrder.indexOf(b.in as string));
  return {
    ...op,
    parameters: [...own, ...commonParameters],
    responses: Object.fromEntries(
      Object.entries(responses)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, response]) => [status, { ...response, headers: { ...(response.headers as Json | undefined), ...commonResponseHeaders } }]),
    ),
  };
}

/** HEAD is answered for every GET (Hono runs the GET handler and drops the body): the same responses without content. */
function headOperation(get: Operation): Operation {
  const { description: _d, ...rest } = get;
  return {
    ...rest,
    operationId: `${get.operationId}Head`,
    summary: `${get.summary} (headers only)`,
    description: "The GET operation's status and headers without its body.",
    responses: Object.fromEntries(Object.entries(get.responses).map(([status, { content: _c, ...response }]) => [status, response])),
  };
}

/**
 * What zod-to-openapi adds that says nothing to a client: z.int()'s safe-integer bounds, and z.iso.datetime()'s regex
 * beside `format: date-time` (the format is the contract). Nullables and literals are written as zod's own converter
 * writes them (a plain type or null as a type list, anything more as anyOf the schema and null; const), so that the document and the client types generated from it stay
 * as they were.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (!value || typeof value !== "object") return value;
  const node: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k === "minimum" && v === Number.MIN_SAFE_INTEGER) || (k === "maximum" && v === Number.MAX_SAFE_INTEGER)) continue;
    if (k === "pattern" && (value as Json).format === "date-time") continue;
    node[k] = tidy(v);
  }
  if (Array.isArray(node.type) && node.type.length === 2 && node.type[1] === "null") {
    const { type, description, enum: values, ...rest } = node as Json & { type: string[]; enum?: unknown[] };
    if (!values && Object.keys(rest).length === 0) return node;
    const schema = { type: type[0], ...(values ? { enum: values.filter((v) => v !== null) } : {}), ...rest };
    return { anyOf: [schema, { type: "null" }], ...(description === undefined ? {} : { description }) };
  }
  if (Array.isArray(node.enum) && node.enum.length === 1) {
    const { enum: [only], ...rest } = node as Json & { enum: unknown[] };
    return { ...rest, const: only };
  }
  return node;
}

const info = {
  title: "Product Import API",
  version: "1.0.0",
  description: [
    "Bulk-import product catalogs (CSV, NDJSON) and follow every import job. Errors are RFC 9457 problem details (`application/problem+json`).",
    "",
    "Every response to these operations, and every 404 and 405, carries `x-request-id`. A response to a request that read or wrote the database carries `x-d1-bookmark`; one that touched no database (e.g. a request refused before its key was looked up) echoes the bookmark the request sent, if any. Send the latest bookmark back to read data at least that fresh.",
    "",
    "A path requested with a method it does not have answers 405 with `Allow`; an unknown path answers 404. HEAD is answered wherever GET is.",
    "",
    "Nothing the API does not understand is ignored: a query parameter an operation does not have, one given more than once, and a multipart form field the upload does not take are each a 400 naming it, with the closest name the operation has (`blank_cell` → did you mean `blank_cells`?).",
  ].join("\n"),
};

/**
 * The component schemas are response bodies: zod's output objects carry exactly their properties, which zod's own
 * converter says with `additionalProperties: false` and zod-to-openapi leaves unsaid.
 */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (!value || typeof value !== "object") return value;
  const node = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)])) as Json;
  return node.type === "object" && node.properties && !("additionalProperties" in node) ? { ...node, additionalProperties: false } : node;
}

export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  if (!app.openAPIRegistry.definitions.some((d) => d.type === "schema" && d.schema === problemSchema)) app.openAPIRegistry.register("Problem", problemSchema);
  const generated = tidy(app.getOpenAPI31Document({ openapi: "3.1.0", info })) as { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Json } };

  const paths: Record<string, Record<string, Operation>> = {};
  const tags: string[] = [];
  for (const [path, item] of Object.entries(generated.paths)) {
    const out: Record<string, Operation> = (paths[path] = {});
    for (const [method, op] of Object.entries(item)) {
      const complete = completeOperation(op);
      out[method] = complete;
      if (method === "get") out.head = headOperation(complete);
      for (const tag of (op.tags as string[] | undefined) ?? []) if (!tags.includes(tag)) tags.push(tag);
    }
  }
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    tags: tags.map((name) => ({ name, ...(tagDescriptions[name] ? { description: tagDescriptions[name] } : {}) })),
    paths,
    components: {
      schemas: closeObjects(generated.components?.schemas ?? {}) as Json,
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
