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
    errors: z.array(problemFieldErrorSchema).optional().describe("Invalid requests (400, 411, 415 for a content encoding): each parameter, header or body part at fault."),
    // Extension members (RFC 9457 §3.2) that some problems carry.
    required_scope: z.enum(scopes).optional().describe("403: the scope the API key lacks."),
    max_bytes: z.int().min(0).optional().describe("413: the largest body accepted, in bytes."),
    accepted: z.array(z.string()).optional().describe("415: the media types the operation accepts."),
    missing_parts: z.array(z.int().min(1)).optional().describe("409 upload-incomplete: the numbers of the upload session's parts not received yet."),
    revert_job: z.string().optional().describe("409 on POST …/revert: the revert job that stands for this import already."),
  })
  .catchall(z.unknown())
  .meta({ id: "Problem" });

export type ProblemFieldError = z.infer<typeof problemFieldErrorSchema>;
export type Problem = z.infer<typeof problemSchema>;

/**
 * Every problem type the API answers with: its slug (rendered as /problems/{slug}), status and title. A problem is
 * made from its slug only, so no route or middleware spells a type, status or title of its own.
 */
export const problemTypes = {
  "validation-error": { status: 400, title: "Invalid request" },
  "empty-file": { status: 400, title: "Empty file" },
  "upload-interrupted": { status: 400, title: "Upload interrupted" },
  unauthorized: { status: 401, title: "Unauthorized" },
  "insufficient-scope": { status: 403, title: "Forbidden" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  "limit-reached": { status: 409, title: "Limit reached" },
  "upload-incomplete": { status: 409, title: "Upload incomplete" },
  gone: { status: 410, title: "Gone" },
  "length-required": { status: 411, title: "Length required" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  "unsupported-content-encoding": { status: 415, title: "Unsupported content encoding" },
  "idempotency-key-reused": { status: 422, title: "Unprocessable request" },
  // A URL the API would send requests to (a webhook endpoint, a feed) that the outbound guard refuses.
  "url-refused": { status: 422, title: "URL refused" },
  "rate-limited": { status: 429, title: "Too many requests" },
  "internal-error": { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "Service unavailable" },
  // Hono's own HTTPException (not ours): answered with the status it carries.
  "http-error": { status: 400, title: "Request error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemType = keyof typeof problemTypes;

interface ProblemOptions {
  errors?: ProblemFieldError[];
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2). */
  extensions?: Record<string, unknown>;
  /** Only for an HTTPException that is not ours, whose status is its own. */
  status?: ContentfulStatusCode;
}

interface ProblemInit extends Omit<ProblemOptions, "status"> {
  status: ContentfulStatusCode;
  type: ProblemType;
  title: string;
  detail: string;
}

/** The API's own error: thrown anywhere, rendered by the app's onError (or returned with problemResponse). */
export class ProblemError extends HTTPException {
  readonly problem: ProblemInit;

  constructor(type: ProblemType, detail: string, { status, ...options }: ProblemOptions = {}) {
    const known = problemTypes[type];
    const resolved = status ?? known.status;
    super(resolved, { message: detail });
    this.problem = { status: resolved, type, title: known.title, detail, ...options };
  }
}

function problemBody(init: ProblemInit, requestId?: string): Problem {
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

export function problemResponse({ problem }: ProblemError, requestId?: string): Response {
  const headers = new Headers(problem.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(problemBody(problem, requestId)), { status: problem.status, headers });
}

/** The problems made in more than one place. */
export const problems = {
  validation: (errors: ProblemFieldError[]) =>
    new ProblemError("validation-error", errors.map((e) => `${e.location} ${e.name}: ${e.message}`).join("; "), { errors }),
  notFound: (detail: string) => new ProblemError("not-found", detail),
  unavailable: (detail: string, headers?: Record<string, string>) => new ProblemError("unavailable", detail, { headers }),
  internal: (detail: string) => new ProblemError("internal-error", detail),
  /** `what` (e.g. "An upload") may be at most `maxBytes`; `advice` says what to do instead, if anything. */
  tooLarge: (what: string, maxBytes: number, advice?: string) =>
    new ProblemError("payload-too-large", `${what} may be at most ${maxBytes} bytes.${advice ? ` ${advice}` : ""}`, { extensions: { max_bytes: maxBytes } }),
  unsupportedMediaType: (detail: string, accepted: readonly string[]) =>
    new ProblemError("unsupported-media-type", detail, { headers: { accept: accepted.join(", ") }, extensions: { accepted: [...accepted] } }),
};
