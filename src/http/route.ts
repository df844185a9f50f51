// One declaration per operation (@hono/zod-openapi's createRoute): the same config installs auth, the bookmark check
// and the zod validators on the app, types `c.req.valid(…)` in the handler, and feeds the OpenAPI document
// (http/openapi.ts), so the contract and the behaviour cannot drift.
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { zValidator } from "@hono/zod-validator";
import type { Scope } from "../auth/keys.ts";
import { deferredScope, requireScope } from "./auth.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv, DeferredKeyEnv } from "./context.ts";
import { PROBLEM_CONTENT_TYPE } from "./problem.ts";
import { rejectInvalidBookmark } from "./request-context.ts";
import { parameterNames, strictQuery, validationHook } from "./validate.ts";

interface ApiRouteConfig extends Omit<RouteConfig, "middleware" | "security" | "tags" | "hide"> {
  operationId: string;
  summary: string;
  tag: string;
  /** Scope the API key needs; undefined for public endpoints. */
  scope?: Scope;
  /**
   * The handler checks the key itself (`authorize()` with what `c.var.deferredKey` gives) with the lookup inside its own
   * D1 batch, saving a round trip; the route only requires a well-formed Bearer key up front.
   */
  authorizeInHandler?: boolean;
}

/** Every declared operation (each module declares its routes once, when it loads): the auth tests walk it. */
export const registry: Pick<ApiRouteConfig, "method" | "path" | "operationId" | "scope">[] = [];

/** A route config with its auth and bookmark check in front of the validators (401/403 before 400). */
export function apiRoute<const R extends ApiRouteConfig>(config: R) {
  const { scope, authorizeInHandler, tag, ...route } = config;
  registry.push({ method: config.method, path: config.path, operationId: config.operationId, scope });
  const auth = scope ? [authorizeInHandler ? deferredScope(scope) : requireScope(scope)] : [];
  // The library validates the query before the path; a request wrong in both is told about its path, as it always was,
  // and so is one that also gives a query parameter the route does not have.
  const { params, query } = route.request ?? {};
  const pathFirst = params ? [zValidator<typeof params, "param", AppEnv, string, typeof validationHook>("param", params, validationHook)] : [];
  const middleware = [...auth, rejectInvalidBookmark, ...pathFirst, strictQuery(parameterNames(query))];
  const created = createRoute({ ...route, tags: [tag], security: scope ? [{ apiKey: [scope] }] : [], middleware });
  // Widened so that a handler may also answer with a Response it built (a problem, the CSV stream, a replayed stored
  // body, a body hashed for its ETag); its c.json answers are still checked against the declared schemas. The
  // middleware is typed by what the handler may read: the deferred key exists only behind deferredScope.
  return created as unknown as Omit<typeof created, "middleware"> & {
    responses: RouteConfig["responses"];
    middleware: R extends { authorizeInHandler: true } ? [MiddlewareHandler<DeferredKeyEnv>] : MiddlewareHandler[];
  };
}

/** Response headers given as name → description (strings on the wire). */
export function headers(described: Record<string, string>) {
  return Object.fromEntries(Object.entries(described).map(([name, description]) => [name, { description, schema: { type: "string" as const } }]));
}

/** A problem+json response body (the Problem component; routes answer it through ProblemError, never c.json). */
export const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } };

/** A body without a schema of its own (the CSV report, the HTML page): a string. */
export const textContent = (mediaType: string) => ({ [mediaType]: { schema: { type: "string" as const } } });
