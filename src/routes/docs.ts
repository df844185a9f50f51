import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import { openApiDocument } from "../http/openapi.ts";
import { registry, route } from "../http/route.ts";

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Product Import API</title>
</head>
<body>
  <script id="api-reference" data-url="/api/v1/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
</body>
</html>`;

/** The OpenAPI document and a page rendering it; both public, like any API reference. */
export function registerDocsRoutes(app: Hono<AppEnv>): void {
  let document: string | undefined;
  route(
    app,
    {
      method: "get",
      path: "/api/v1/openapi.json",
      operationId: "getOpenApiDocument",
      summary: "This OpenAPI 3.1 document",
      tag: "Documentation",
      responses: { 200: { description: "The OpenAPI document.", content: { "application/json": z.looseObject({}) } } },
    },
    (c) => {
      // Built on first use, after every route has registered its spec.
      document ??= JSON.stringify(openApiDocument(registry));
      return c.body(document, 200, { "content-type": "application/json" });
    },
  );
  route(
    app,
    {
      method: "get",
      path: "/docs",
      operationId: "getDocsPage",
      summary: "Interactive API reference rendering the OpenAPI document",
      tag: "Documentation",
      responses: { 200: { description: "An HTML page.", content: { "text/html": null } } },
    },
    (c) => c.html(DOCS_PAGE),
  );
}
