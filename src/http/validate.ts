// The one validation hook (@hono/zod-openapi's defaultHook, installed by createApp): every failure becomes the same
// 400 problem naming where (query, path) and which parameter was wrong.
import type { Context, ValidationTargets } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./context.ts";
import { type ProblemFieldError, problems } from "./problem.ts";

const locations = {
  query: "query",
  param: "path",
  json: "body",
  header: "header",
  form: "body",
  cookie: "header",
} as const satisfies Record<keyof ValidationTargets, ProblemFieldError["location"]>;

function fieldErrors(target: keyof ValidationTargets, issues: readonly z.core.$ZodIssue[], c: Context): ProblemFieldError[] {
  // A query parameter given more than once arrives as an array; the message says so.
  const given = target === "query" ? c.req.queries() : {};
  return issues.map((issue) => {
    const name = issue.path.map(String).join(".");
    const values = issue.path.length === 1 ? given[name] : undefined;
    return {
      location: locations[target],
      name: name || "(root)",
      message: values && values.length > 1 ? `${issue.message}, given once (got ${values.length} values)` : issue.message,
    };
  });
}

/** What a validator hands its hook (@hono/zod-openapi's and @hono/zod-validator's both fit). */
type ValidationResult = { target: keyof ValidationTargets } & ({ success: true } | { success: false; error: { issues: readonly z.core.$ZodIssue[] } });

/** Rejects an invalid request with the 400 problem, after what must come first (a deferred key check: 401 before 400). */
export async function validationHook(result: ValidationResult, c: Context<AppEnv>): Promise<void> {
  if (result.success) return;
  await c.var.beforeRejecting?.();
  throw problems.validation(fieldErrors(result.target, result.error.issues, c));
}
