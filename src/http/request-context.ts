// Per request: a request id, a D1 session, the bookmark handed back, and one structured log line.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { ProblemError } from "./problem.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BOOKMARK_HEADER = "x-d1-bookmark";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const sent = c.req.header("x-request-id");
    const requestId = sent && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    c.set("requestId", requestId);

    // Reads may be served by a replica at least as fresh as the client's bookmark; writes start at the primary.
    const bookmark = c.req.header(BOOKMARK_HEADER);
    const constraint = SAFE_METHODS.has(c.req.method) ? bookmark || "first-unconstrained" : "first-primary";
    const session = c.env.DB.withSession(constraint);
    c.set("db", session);

    try {
      await next();
    } finally {
      c.header("x-request-id", requestId);
      const latest = session.getBookmark();
      if (latest) c.header(BOOKMARK_HEADER, latest);
      console.log(
        JSON.stringify({
          msg: "request",
          request_id: requestId,
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          duration_ms: Date.now() - started,
          tenant: c.var.caller?.tenantId ?? null,
        }),
      );
    }
  };
}

export function invalidBookmark(): ProblemError {
  return new ProblemError({
    status: 400,
    type: "validation-error",
    title: "Invalid request",
    detail: `header ${BOOKMARK_HEADER}: not a bookmark this API returned`,
    errors: [{ location: "header", name: BOOKMARK_HEADER, message: "not a bookmark this API returned" }],
  });
}
