import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./http/context.ts";
import { registerHeadOperations, registerOpenApiComponents } from "./http/openapi.ts";
import { ProblemError, problemResponse, problems } from "./http/problem.ts";
import { validationHook } from "./http/validate.ts";
import { requestContext } from "./http/request-context.ts";
import { registerDocsRoutes } from "./routes/docs.ts";
import { registerFeedRoutes } from "./routes/feeds.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerImportProfileRoutes } from "./routes/import-profiles.ts";
import { registerImportStatusRoutes } from "./routes/import-status.ts";
import { registerImportUploadRoute } from "./routes/import-upload.ts";
import { registerImportJobRoutes, registerImportListRoute } from "./routes/imports.ts";
import { registerImportCancelRoute } from "./routes/import-cancel.ts";
import { registerImportConfirmRoute } from "./routes/import-confirm.ts";
import { registerImportFailedRowsRoute } from "./routes/import-failed-rows.ts";
import { registerImportRetryRoute } from "./routes/import-retry.ts";
import { registerImportRevertRoute } from "./routes/import-revert.ts";
import { registerProductRoutes } from "./routes/products.ts";
import { registerUploadRoutes } from "./routes/uploads.ts";
import { registerWebhookEndpointRoutes } from "./routes/webhook-endpoints.ts";
import { loggedError } from "./log-error.ts";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use(requestContext());
  registerOpenApiComponents(app);

  registerHealthRoutes(app);
  // Literal paths before parameterised ones: /products/import before /products/{sku},
  // /products/import/status before /products/import/{job_id}.
  registerImportUploadRoute(app);
  registerImportListRoute(app);
  registerImportStatusRoutes(app);
  registerImportJobRoutes(app);
  registerImportConfirmRoute(app);
  registerImportCancelRoute(app);
  registerImportFailedRowsRoute(app);
  registerImportRetryRoute(app);
  registerImportRevertRoute(app);
  registerImportProfileRoutes(app);
  registerUploadRoutes(app);
  registerFeedRoutes(app);
  registerProductRoutes(app);
  registerWebhookEndpointRoutes(app);
  registerDocsRoutes(app);
  // After every route: HEAD is documented for each GET registered so far.
  registerHeadOperations(app);

  const allowedMethods = methodsByPath(app);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      const detail = `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}.`;
      return problemResponse(new ProblemError("method-not-allowed", detail, { headers: { allow: allowed.join(", ") } }), c.var.requestId);
    }
    return problemResponse(problems.notFound(`No endpoint at ${c.req.path}; see /api/v1/openapi.json.`), c.var.requestId);
  });

  app.onError((err, c) => {
    if (err instanceof ProblemError) return problemResponse(err, c.var.requestId);
    if (err instanceof HTTPException) {
      const detail = err.message || "The request could not be processed.";
      const status = err.status as ContentfulStatusCode;
      return problemResponse(new ProblemError(err.status >= 500 ? "internal-error" : "http-error", detail, { status }), c.var.requestId);
    }
    console.error(JSON.stringify({ level: "error", msg: "unhandled error", request_id: c.var.requestId, ...loggedError(err, { stack: true }) }));
    return problemResponse(problems.internal("Something went wrong on our side. Quote the request id when you contact support."), c.var.requestId);
  });
  return app;
}

/** The methods an app serves on a path (its routes, not its middleware), HEAD wherever GET. */
function methodsByPath(app: OpenAPIHono<AppEnv>): (path: string) => string[] {
  let routes: { method: string; regex: RegExp }[] | undefined;
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method, regex: new RegExp(`^${r.path.replace(/:\w+/g, "[^/]+")}$`) }));
    const methods = new Set(routes.filter((r) => r.regex.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods];
  };
}
