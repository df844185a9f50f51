import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import { problemResponse, problems } from "../http/problem.ts";
import { route } from "../http/route.ts";
import { loggedError } from "../log-error.ts";

const healthSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

export function registerHealthRoutes(app: Hono<AppEnv>): void {
  route(
    app,
    {
      method: "get",
      path: "/health",
      operationId: "getHealth",
      summary: "Liveness and database reachability",
      tag: "Health",
      responses: {
        200: { description: "The API and its database answer.", content: { "application/json": healthSchema } },
        503: { description: "The database does not answer.", content: { "application/problem+json": null } },
      },
    },
    async (c) => {
      try {
        await c.var.db.prepare("SELECT 1").first();
      } catch (err) {
        console.error(JSON.stringify({ level: "error", msg: "health check failed", request_id: c.var.requestId, ...loggedError(err) }));
        return problemResponse(problems.unavailable("The database is not reachable."), c.var.requestId);
      }
      return c.json({ status: "ok" as const });
    },
  );
}
