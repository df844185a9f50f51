import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import { openApiDocument } from "../http/openapi.ts";
import { apiRoute, headers, textContent } from "../http/route.ts";

// The reference UI is served by the Worker's own static assets (public/docs/: init.js, and vendor/api-reference.js
// copied from the pinned @scalar/api-reference package), never from a CDN: the page works offline, and no third-party
// code runs on the API's origin, where the UI keeps the API keys entered into it.
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Product Import API</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <div id="app"></div>
  <script src="/docs/vendor/api-reference.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

/**
 * Only the API's own origin: scripts, requests (the document, "try it" calls) and images. The UI sets styles from
 * its script (style elements and attributes), which needs 'unsafe-inline' for styles; no script runs inline.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const getOpenApiDocument = apiRoute({
  method: "get",
  path: "/api/v1/openapi.json",
  operationId: "getOpenApiDocument",
  summary: "This OpenAPI 3.1 document",
  tag: "Documentation",
  responses: { 200: { description: "The OpenAPI document.", content: { "application/json": { schema: z.looseObject({}) } } } },
});

const getDocsPage = apiRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  summary: "Interactive API reference rendering the OpenAPI document",
  tag: "Documentation",
  responses: {
    200: {
      description: "An HTML page; its scripts are served from this origin (under /docs/), as its Content-Security-Policy requires.",
      content: textContent("text/html"),
      headers: headers({ "Content-Security-Policy": "Scripts, requests and images from this origin only." }),
    },
  },
});

/** The OpenAPI document and a page rendering it; both public, like any API reference. */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>): void {
  let document: string | undefined;
  app.openapi(getOpenApiDocument, (c) => {
    // Built on first use, after every route has been registered.
    document ??= JSON.stringify(openApiDocument(app));
    return c.body(document, 200, { "content-type": "application/json" });
  });
  app.openapi(getDocsPage, (c) => c.html(DOCS_PAGE, 200, { "content-security-policy": DOCS_CSP }));
}
