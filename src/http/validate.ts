// The one validator: every request part is checked by a zod schema, and every failure becomes the
// same 400 problem naming where (query, body, path, header) and which parameter was wrong.
import { zValidator } from "@hono/zod-validator";
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

export function fieldErrors(target: keyof ValidationTargets, issues: readonly z.core.$ZodIssue[], input: unknown): ProblemFieldError[] {
  return issues.map((issue) => {
    const name = issue.path.map(String).join(".");
    const raw = issue.path.length === 1 && typeof input === "object" && input ? (input as Record<string, unknown>)[name] : undefined;
    return {
      location: locations[target],
      name: name || "(root)",
      message: Array.isArray(raw) ? `${issue.message}, given once (got ${raw.length} values)` : issue.message,
    };
  });
}

export function validate<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  return zValidator(target, schema, async (result, c) => {
    if (result.success) return;
    await (c as Context<AppEnv>).var.beforeRejecting?.();
    throw problems.validation(fieldErrors(target, result.error.issues, result.data));
  });
}
