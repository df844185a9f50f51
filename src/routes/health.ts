import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import { problemResponse, problems } from "../http/problem.ts";
import { apiRoute, problemContent } from "../http/route.ts";
import { loggedError, naming } from "../log-error.ts";

const healthSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

const getHealth = apiRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  summary: "Liveness and database reachability",
  tag: "Health",
  responses: {
    200: { description: "The API and its database answer.", content: { "application/json": { schema: healthSchema } } },
    503: { description: "The database does not answer.", content: problemContent },
  },
});

export function registerHealthRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getHealth, async (c) => {
    try {
      await naming("health check", c.var.db.prepare("SELECT 1").first());
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "health check failed", request_id: c.var.requestId, ...loggedError(err) }));
      return problemResponse(problems.unavailable("The database is not reachable."), c.var.requestId);
    }
    return c.json({ status: "ok" as const }, 200);
  });
}
