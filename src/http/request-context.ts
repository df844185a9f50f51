// Per request: a request id, a D1 session, the bookmark handed back, and one structured log line.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { problemResponse, problems } from "./problem.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BOOKMARK_HEADER = "x-d1-bookmark";
// D1 bookmarks are hex groups joined by dashes; anything else cannot be one this API handed out.
const BOOKMARK = /^[0-9A-Za-z-]{1,256}$/;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const sent = c.req.header("x-request-id");
    const requestId = sent && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    c.set("requestId", requestId);

    // Reads may be served by a replica at least as fresh as the client's bookmark; writes start at the primary.
    const bookmark = c.req.header(BOOKMARK_HEADER);
    const validBookmark = bookmark !== undefined && BOOKMARK.test(bookmark);
    const reads = SAFE_METHODS.has(c.req.method);
    const session = c.env.DB.withSession(reads ? (validBookmark ? bookmark : "first-unconstrained") : "first-primary");
    c.set("db", session);

    try {
      if (bookmark !== undefined && !validBookmark) {
        const invalid = problems.validation([{ location: "header", name: BOOKMARK_HEADER, message: "is not a bookmark this API returned" }]);
        c.res = problemResponse(invalid.problem, requestId);
        return;
      }
      await next();
    } finally {
      c.header("x-request-id", requestId);
      // A request that read nothing hands back the bookmark it came with: the client's position stays as fresh.
      const latest = session.getBookmark() ?? (validBookmark ? bookmark : null);
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
