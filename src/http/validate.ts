// The one validation hook (@hono/zod-openapi's defaultHook, installed by createApp): every failure becomes the same
// 400 problem naming where (query, path) and which parameter was wrong. Before it, every route refuses the query
// parameters it does not have and those given more than once (strictQuery).
import type { Context, MiddlewareHandler, ValidationTargets } from "hono";
import { z } from "zod";
import type { Env } from "../config.ts";
import { checkOutboundUrl, outboundPolicy } from "../outbound/url-guard.ts";
import type { AppEnv } from "./context.ts";
import { ProblemError, type ProblemFieldError, problems } from "./problem.ts";
import { closestName, listed, unknownNameErrors } from "./unknown-names.ts";

const locations = {
  query: "query",
  param: "path",
  json: "body",
  header: "header",
  form: "body",
  cookie: "header",
} as const satisfies Record<keyof ValidationTargets, ProblemFieldError["location"]>;

function fieldErrors(target: keyof ValidationTargets, issues: readonly z.core.$ZodIssue[]): ProblemFieldError[] {
  return issues.map((issue) => ({ location: locations[target], name: issue.path.map(String).join(".") || "(root)", message: issue.message }));
}

/** What a validator hands its hook (@hono/zod-openapi's and @hono/zod-validator's both fit). */
type ValidationResult = { target: keyof ValidationTargets } & ({ success: true } | { success: false; error: { issues: readonly z.core.$ZodIssue[] } });

/** Rejects an invalid request with the 400 problem, after what must come first (a deferred key check: 401 before 400). */
export async function validationHook(result: ValidationResult, c: Context<AppEnv>): Promise<void> {
  if (result.success) return;
  await reject(c, fieldErrors(result.target, result.error.issues));
}

/** The 400 problem naming `errors`, after what must come first (a deferred key check: 401 before 400). */
async function reject(c: Context<AppEnv>, errors: ProblemFieldError[]): Promise<never> {
  await c.var.beforeRejecting?.();
  throw problems.validation(errors);
}

/** The names of the parameters a route's query schema (a zod object, or a pipe from one) declares. */
export function parameterNames(query: z.ZodType | undefined): string[] {
  if (query instanceof z.ZodObject) return Object.keys(query.shape);
  if (query instanceof z.ZodPipe) return parameterNames(query.in as z.ZodType);
  return [];
}

/**
 * Refuses the query parameters a route does not have (each named, with the closest one it has), and a parameter given
 * more than once: none takes a list, and which of its values was meant would be a guess.
 */
export function strictQuery(known: readonly string[]): MiddlewareHandler<AppEnv> {
  const has = new Set(known);
  const takes = known.length === 0 ? "which takes none" : `which takes ${listed(known)}`;
  const explain = (name: string) => {
    const closest = closestName(name, known);
    return `is not a parameter of this operation; ${closest === null ? takes : `did you mean ${closest}?`}`;
  };
  return async (c, next) => {
    const given = Object.entries(c.req.queries());
    const unknown = given.filter(([name]) => !has.has(name)).map(([name]) => name);
    const repeated: ProblemFieldError[] = given
      .filter(([name, values]) => has.has(name) && values.length > 1)
      .map(([name, values]) => ({ location: "query", name, message: `is given ${values.length} times; give it once` }));
    if (unknown.length > 0 || repeated.length > 0) await reject(c, [...unknownNameErrors(unknown, "query", explain), ...repeated]);
    await next();
  };
}

/**
 * A URL the body gives for the API to send requests to (a webhook endpoint, a feed), as the outbound guard accepts
 * and normalises it; a 422 `url-refused` naming why the guard refuses it.
 */
export function guardedUrl(env: Env, url: string, what: string): string {
  const check = checkOutboundUrl(url, outboundPolicy(env));
  if (!check.ok) throw new ProblemError("url-refused", `${what} is refused: ${check.reason}.`, { errors: [{ location: "body", name: "url", message: check.reason }] });
  return check.url.href;
}
