// Per request: a request id, a D1 session, the bookmark handed back, and one structured log line.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { problems } from "./problem.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BOOKMARK_HEADER = "x-d1-bookmark";
// D1 bookmarks (Durable Object storage bookmarks) are four groups of lower-case hex digits, 8-8-8-32; anything else
// cannot be one this API handed out. The OpenAPI document declares the same pattern.
export const BOOKMARK_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$";
const BOOKMARK = new RegExp(BOOKMARK_PATTERN);
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
    // Rejected by the route after authentication (rejectInvalidBookmark), like any other invalid parameter.
    c.set("invalidBookmark", bookmark !== undefined && !validBookmark);

    try {
      await next();
    } finally {
      c.header("x-request-id", requestId);
      c.header("x-content-type-options", "nosniff");
      // Responses belong to one caller and one moment (a job in progress); a route that wants caching says so.
      if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
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

/** A route's check of the bookmark header, run after authentication like the validation of its parameters. */
export const rejectInvalidBookmark: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.var.invalidBookmark) {
    await c.var.beforeRejecting?.();
    throw problems.validation([{ location: "header", name: BOOKMARK_HEADER, message: "is not a bookmark this API returned" }]);
  }
  await next();
};
