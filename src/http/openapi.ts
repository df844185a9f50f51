// The OpenAPI 3.1 document. @hono/zod-openapi generates it from the route configs (the same zod schemas that
// validate requests; http/route.ts adds what every operation shares), from the components and HEAD operations
// registered here on the app, and from the info and tags given here. Rewritten after generation is only what the
// library cannot be told (closeObjects, saying why).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { scopes } from "../auth/keys.ts";
import type { AppEnv } from "./context.ts";
import { BOOKMARK_PATTERN } from "./request-context.ts";

type Json = Record<string, unknown>;

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

/** The operations' tags, in the order the document lists them; a route names one (apiRoute's `tag`). */
const tagDescriptions = {
  Health: "Whether the API and its database answer.",
  Imports: "Upload product files and follow their import jobs.",
  Uploads: "Send a file too large for one request in parts (upload sessions), then complete it into an import job.",
  "Import profiles": "Saved column mappings, used on upload with `profile=<name>`.",
  Feeds: "URLs a product file is fetched from on a schedule, each changed file imported as an upload would be.",
  Products: "The imported catalog.",
  Webhooks: "Signed deliveries (Standard Webhooks) of job events to the tenant's endpoints, and their delivery log.",
  Documentation: "This document and a page that renders it.",
};
export type Tag = keyof typeof tagDescriptions;

/** The components every operation refers to (http/route.ts adds the references); registerOpenApiComponents(). */
const components = {
  headers: {
    RequestId: {
      description: "The request's id: the one the client sent in `x-request-id` if it was 1–128 of `A-Z a-z 0-9 . _ : -`, otherwise a new UUID.",
      required: true,
      schema: { type: "string" },
    },
    RateLimitPolicy: {
      description:
        "The request budget this operation counts against, per API key (draft-ietf-httpapi-ratelimit-headers): `\"<class>\";q=<requests>;w=<seconds>`, class `uploads`, `management` or `reads`. On every response to a request with a well-formed API key.",
      schema: { type: "string" },
    },
    Bookmark: {
      description: "D1 bookmark: the database position this request saw. Present when the request read or wrote the database, or sent a bookmark itself.",
      schema: { type: "string" },
    },
  },
  // Plain objects, not zod: request-context.ts reads and checks these headers for every request (the bookmark by
  // the same pattern); a zod header schema would install a second validator.
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
} as const;

type Components = typeof components;

/** A reference to one of the shared components, checked against those registered. */
export function componentRef<T extends keyof Components>(type: T, name: keyof Components[T] & string) {
  return { $ref: `#/components/${type}/${name}` };
}

/** The security scheme an operation that needs a scope names. */
export const securityScheme: keyof Components["securitySchemes"] = "apiKey";

/** Puts the shared components into the app's OpenAPI registry (once, when the app is built). */
export function registerOpenApiComponents(app: OpenAPIHono<AppEnv>): void {
  for (const [type, named] of Object.entries(components) as [keyof Components, Record<string, Json>][]) {
    for (const [name, component] of Object.entries(named)) app.openAPIRegistry.registerComponent(type, name, component);
  }
}

/**
 * Hono answers HEAD wherever GET is (it runs the GET handler and drops the body) without a route of its own, so no
 * route config declares it: each GET registered so far gets a document-only HEAD operation, with the same
 * responses without content. Called once, after every route.
 */
export function registerHeadOperations(app: OpenAPIHono<AppEnv>): void {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || definition.route.method !== "get") continue;
    const { description: _description, ...get } = definition.route;
    app.openAPIRegistry.registerPath({
      ...get,
      method: "head",
      operationId: `${get.operationId}Head`,
      summary: `${get.summary} (headers only)`,
      description: "The GET operation's status and headers without its body.",
      responses: Object.fromEntries(Object.entries(get.responses).map(([status, response]) => [status, withoutContent(response)])),
    });
  }
}

function withoutContent<R extends object>(response: R): Omit<R, "content"> {
  const { content: _content, ...rest } = response as R & { content?: unknown };
  return rest;
}

/** The document as generated, typed with the components registered here (tests and scripts read them). */
type ApiDocument = {
  openapi: string;
  info: typeof info;
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Json> } & Components;
};

/** The document served at /api/v1/openapi.json. */
export function openApiDocument(app: OpenAPIHono<AppEnv>): ApiDocument {
  const generated = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    tags: Object.entries(tagDescriptions).map(([name, description]) => ({ name, description })),
  });
  const document = generated as unknown as ApiDocument;
  return { ...document, components: { ...document.components, schemas: closeObjects(document.components.schemas) as Record<string, Json> } };
}

/**
 * The open objects among the component schemas are response bodies (the request bodies are strict objects already):
 * zod's output objects carry exactly their properties, which zod's own converter says with
 * `additionalProperties: false` and zod-to-openapi leaves unsaid. It says it only for z.strictObject, and has no
 * option to say it for every output: making each response schema strict would touch every domain schema for the
 * document's sake.
 */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (!value || typeof value !== "object") return value;
  const node = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)])) as Json;
  return node.type === "object" && node.properties && !("additionalProperties" in node) ? { ...node, additionalProperties: false } : node;
}
