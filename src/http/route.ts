// One declaration per operation (@hono/zod-openapi's createRoute): the same config installs auth, the bookmark check
// and the zod validators on the app, types `c.req.valid(…)` in the handler, and feeds the OpenAPI document
// (http/openapi.ts), so the contract and the behaviour cannot drift. What every operation shares (the request
// headers, the 400/401/403/500 problems, the headers on every response) is added here, to each config.
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { zValidator } from "@hono/zod-validator";
import type { Scope } from "../auth/keys.ts";
import { deferredScope, requireScope } from "./auth.ts";
import type { RateLimitClass } from "../config.ts";
import { defaultRateLimitClass, rateLimit } from "./rate-limit.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv, DeferredKeyEnv } from "./context.ts";
import { componentRef, securityScheme, type Tag } from "./openapi.ts";
import { PROBLEM_CONTENT_TYPE, problemSchema } from "./problem.ts";
import { rejectInvalidBookmark } from "./request-context.ts";
import { parameterNames, strictQuery, validationHook } from "./validate.ts";

interface ApiRouteConfig extends Omit<RouteConfig, "middleware" | "security" | "tags" | "hide"> {
  operationId: string;
  summary: string;
  tag: Tag;
  /** Scope the API key needs; undefined for public endpoints. */
  scope?: Scope;
  /**
   * The handler checks the key itself (`authorize()` with what `c.var.deferredKey` gives) with the lookup inside its own
   * D1 batch, saving a round trip; the route only requires a well-formed Bearer key up front.
   */
  authorizeInHandler?: boolean;
  /** The request budget an operation with a scope counts against; by default `reads` for GET, else `management`. */
  rateLimit?: RateLimitClass;
}

/** Every declared operation (each module declares its routes once, when it loads): the auth tests walk it. */
export const registry: Pick<ApiRouteConfig, "method" | "path" | "operationId" | "scope">[] = [];

/** A route config with its auth and bookmark check in front of the validators (401/403 before 400). */
export function apiRoute<const R extends ApiRouteConfig>(config: R) {
  const { scope, authorizeInHandler, tag, rateLimit: limitClass, ...route } = config;
  registry.push({ method: config.method, path: config.path, operationId: config.operationId, scope });
  const auth = scope ? [rateLimit(limitClass ?? defaultRateLimitClass(config.method)), authorizeInHandler ? deferredScope(scope) : requireScope(scope)] : [];
  // The library validates the query before the path; a request wrong in both is told about its path, as it always was,
  // and so is one that also gives a query parameter the route does not have.
  const { params, query } = route.request ?? {};
  const pathFirst = params ? [zValidator<typeof params, "param", AppEnv, string, typeof validationHook>("param", params, validationHook)] : [];
  const middleware = [...auth, rejectInvalidBookmark, ...pathFirst, strictQuery(parameterNames(query))];
  // The shared request headers after the route's own. (The library types `parameters` as one of three OpenAPI
  // versions' arrays, which a spread of one into another is not without the cast.)
  const parameters = [...(config.parameters ?? []), ...commonParameters] as RouteConfig["parameters"];
  const created = createRoute({
    ...route,
    tags: [tag],
    security: scope ? [{ [securityScheme]: [scope] }] : [],
    parameters,
    responses: withCommonHeaders({ ...standardResponses(config), ...config.responses }, scope ? limitedResponseHeaders : {}),
    middleware,
  });
  // Widened so that a handler may also answer with a Response it built (a problem, the CSV stream, a replayed stored
  // body, a body hashed for its ETag); its c.json answers are still checked against the declared schemas. The
  // middleware is typed by what the handler may read: the deferred key exists only behind deferredScope.
  return created as unknown as Omit<typeof created, "middleware"> & {
    responses: RouteConfig["responses"];
    middleware: R extends { authorizeInHandler: true } ? [MiddlewareHandler<DeferredKeyEnv>] : MiddlewareHandler[];
  };
}

/** Request headers every operation takes (request-context.ts reads them for every request). */
const commonParameters = [componentRef("parameters", "RequestId"), componentRef("parameters", "Bookmark")];

/** Headers on every response: the request id always, the bookmark whenever the request touched D1 or sent one. */
const commonResponseHeaders = { "x-request-id": componentRef("headers", "RequestId"), "x-d1-bookmark": componentRef("headers", "Bookmark") };

/** What the responses of an operation with a request budget (one that takes an API key) carry besides. */
const limitedResponseHeaders = { "RateLimit-Policy": componentRef("headers", "RateLimitPolicy") };

/** Every response of an operation with the headers every response carries (and `more`). */
function withCommonHeaders(responses: RouteConfig["responses"], more: Record<string, unknown>): RouteConfig["responses"] {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      "$ref" in response
        ? response
        : { ...response, headers: { ...(response.headers as Record<string, unknown> | undefined), ...more, ...commonResponseHeaders } },
    ]),
  );
}

/** 400 and 500 on every operation, 401 and 403 on those that need a scope; a route's own response for a status wins. */
function standardResponses({ request, parameters: own = [], scope }: ApiRouteConfig): RouteConfig["responses"] {
  const problem = (description: string, described: Record<string, string> = {}) => ({ description, headers: headers(described), content: problemContent });
  const { params, query, body } = request ?? {};
  const takesQuery = parameterNames(query).length > 0 || own.some((p) => "in" in p && p.in === "query");
  const takesAny = takesQuery || parameterNames(params).length > 0 || own.length > 0 || body !== undefined;
  return {
    400: problem(
      `${takesAny ? "The request is invalid (a parameter, the body, a header such as `x-d1-bookmark`)" : "A request header is invalid (e.g. `x-d1-bookmark`)"}` +
        (takesQuery
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
          429: problem("The API key has used up its request budget for this class of operation (`RateLimit-Policy` names it); retry after `Retry-After` seconds.", {
            "Retry-After": "Seconds until the budget's window ends.",
            RateLimit: "`\"<class>\";r=0;t=<seconds>`: nothing remains until the window ends (draft-ietf-httpapi-ratelimit-headers).",
          }),
        }
      : {}),
    500: problem("An unexpected error; the request id identifies it in the logs."),
  };
}

/** Response headers given as name → description (strings on the wire). */
export function headers(described: Record<string, string>) {
  return Object.fromEntries(Object.entries(described).map(([name, description]) => [name, { description, schema: { type: "string" as const } }]));
}

/** A problem+json response body (the Problem component; routes answer it through ProblemError, never c.json). */
export const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } };

/** A body without a schema of its own (the CSV report, the HTML page): a string. */
export const textContent = (mediaType: string) => ({ [mediaType]: { schema: { type: "string" as const } } });
