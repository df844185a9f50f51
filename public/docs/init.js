// /docs: renders the API's OpenAPI document with the Scalar API reference that the Worker serves itself
// (vendor/api-reference.js, copied from the pinned @scalar/api-reference package by scripts/docs-assets.mjs). A file
// rather than an inline script, so that the page's Content-Security-Policy can allow scripts from this origin only.
/* global Scalar */
// Not `#api-reference`: the bundle mounts an element with that id by itself, without this configuration.
Scalar.createApiReference("#app", {
  url: "/api/v1/openapi.json",
  // Every operation listed in the sidebar from the start.
  defaultOpenAllTags: true,
  // Nothing that calls third-party services (the CSP would refuse them): the fonts host, telemetry, the AI agent, MCP.
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
});
