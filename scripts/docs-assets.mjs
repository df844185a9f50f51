// Copies the pinned Scalar API reference bundle from node_modules into the Worker's static assets (public/docs/vendor/,
// which git ignores), so /docs needs no CDN. Run by wrangler before dev and deploy (wrangler.toml [build]) and by the
// test config. Plain JavaScript: wrangler may run it with whatever Node is on PATH.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const vendorDir = path.join(root, "public", "docs", "vendor");

export function copyDocsAssets() {
  // The package exports no path to its browser bundle, so it is read from where npm installs it.
  const bundle = path.join(root, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
  mkdirSync(vendorDir, { recursive: true });
  copyFileSync(bundle, path.join(vendorDir, "api-reference.js"));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyDocsAssets();
