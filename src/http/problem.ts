// RFC 9457 problem details: the one error shape of the API.
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { scopes } from "../auth/keys.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export const problemFieldErrorSchema = z
  .object({
    location: z.enum(["query", "body", "path", "header"]),
    name: z.string(),
    message: z.string(),
  })
  .meta({ id: "ProblemFieldError" });

export const problemSchema = z
  .object({
    type: z.string().describe("A URI reference identifying the problem type, e.g. /problems/validation-error."),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string().optional().describe("The request id of the failed request."),
    errors: z.array(problemFieldErrorSchema).optional().describe("Invalid requests (400, 411): each parameter, header or body part at fault."),
    // Extension members (RFC 9457 §3.2) that some problems carry.
    required_scope: z.enum(scopes).optional().describe("403: the scope the API key lacks."),
    max_bytes: z.int().min(0).optional().describe("413: the largest body accepted, in bytes."),
    accepted: z.array(z.string()).optional().describe("415: the media types the operation accepts."),
  })
  .catchall(z.unknown())
  .meta({ id: "Problem" });

export type ProblemFieldError = z.infer<typeof problemFieldErrorSchema>;
export type Problem = z.infer<typeof problemSchema>;

interface ProblemInit {
  status: ContentfulStatusCode;
  /** Slug of the problem type, rendered as /problems/{slug}. */
  type: string;
  title: string;
  detail: string;
  errors?: ProblemFieldError[];
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2). */
  extensions?: Record<string, unknown>;
}

/** The API's own error: thrown anywhere, rendered by the app's onError. */
export class ProblemError extends HTTPException {
  readonly problem: ProblemInit;

  constructor(init: ProblemInit) {
    super(init.status, { message: init.detail });
    this.problem = init;
  }
}

export function problemBody(init: ProblemInit, requestId?: string): Problem {
  return {
    type: `/problems/${init.type}`,
    title: init.title,
    status: init.status,
    detail: init.detail,
    ...(requestId ? { instance: requestId } : {}),
    ...(init.errors ? { errors: init.errors } : {}),
    ...init.extensions,
  };
}

export function problemResponse(init: ProblemInit, requestId?: string): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(problemBody(init, requestId)), { status: init.status, headers });
}

export const problems = {
  validation: (errors: ProblemFieldError[]) =>
    new ProblemError({
      status: 400,
      type: "validation-error",
      title: "Invalid request",
      detail: errors.map((e) => `${e.location} ${e.name}: ${e.message}`).join("; "),
      errors,
    }),
  notFound: (detail: string) => new ProblemError({ status: 404, type: "not-found", title: "Not found", detail }),
  conflict: (detail: string) => new ProblemError({ status: 409, type: "conflict", title: "Conflict", detail }),
  unprocessable: (type: string, detail: string) =>
    new ProblemError({ status: 422, type, title: "Unprocessable request", detail }),
};
