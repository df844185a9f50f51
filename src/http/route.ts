// One declaration per operation: the same spec installs auth and validation on the Hono app and
// feeds the OpenAPI document (http/openapi.ts), so the contract and the behaviour cannot drift.
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { Scope } from "../auth/keys.ts";
import { deferredScope, requireScope } from "./auth.ts";
import type { AppEnv } from "./context.ts";
import { validate } from "./validate.ts";
import { rejectInvalidBookmark } from "./request-context.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";
type AnyObject = z.ZodObject;

export interface ResponseSpec {
  description: string;
  /** Media type → zod schema of the body (or null for a body without a schema, e.g. CSV). */
  content?: Record<string, z.ZodType | null>;
  headers?: Record<string, string>;
}

export interface RouteSpec<Q extends AnyObject | undefined = undefined, P extends AnyObject | undefined = undefined> {
  method: Method;
  /** OpenAPI-style path, e.g. /api/v1/products/{sku}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Scope the API key needs; undefined for public endpoints. */
  scope?: Scope;
  /**
   * The handler checks the key itself (`authorizeDeferred()`) with the lookup inside its own D1 batch, saving a
   * round trip; the route only requires a well-formed Bearer key up front and hands it over as `deferredKey`.
   */
  authorizeInHandler?: boolean;
  query?: Q;
  params?: P;
  /** Request headers documented for the operation (name → description). */
  headers?: Record<string, { description: string; required?: boolean; schema?: z.ZodType }>;
  body?: { description: string; required: boolean; content: Record<string, z.ZodType | Record<string, unknown>> };
  responses: Record<number, ResponseSpec>;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteInput<Q, P> {
  query: Parsed<Q>;
  params: Parsed<P>;
}

/** Every registered operation, in registration order; read by the OpenAPI document and the 405 handler. */
export const registry: RouteSpec<AnyObject | undefined, AnyObject | undefined>[] = [];

export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

export function route<Q extends AnyObject | undefined = undefined, P extends AnyObject | undefined = undefined>(
  app: Hono<AppEnv>,
  spec: RouteSpec<Q, P>,
  handler: (c: Context<AppEnv>, input: RouteInput<Q, P>) => Response | Promise<Response>,
): void {
  if (!registry.some((r) => r.operationId === spec.operationId)) registry.push(spec as RouteSpec<AnyObject | undefined, AnyObject | undefined>);
  // Authentication first, then everything that can reject the request as invalid.
  const auth = spec.scope ? [spec.authorizeInHandler ? deferredScope(spec.scope) : requireScope(spec.scope)] : [];
  const middleware = [
    ...auth,
    rejectInvalidBookmark,
    ...(spec.params ? [validate("param", spec.params)] : []),
    ...(spec.query ? [validate("query", spec.query)] : []),
  ];
  const invoke = (c: Context<AppEnv>) => {
    const valid = (target: string) => (c.req.valid as (t: string) => unknown).call(c.req, target);
    return handler(c, {
      query: (spec.query ? valid("query") : {}) as Parsed<Q>,
      params: (spec.params ? valid("param") : {}) as Parsed<P>,
    });
  };
  app.on([spec.method.toUpperCase()], [honoPath(spec.path)], ...(middleware as MiddlewareHandler<AppEnv>[]), invoke);
}
