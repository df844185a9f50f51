import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { request } from "../helpers.ts";

describe("the /docs page", () => {
  it("loads its scripts from the API's own static assets, under a CSP that allows only this origin", async () => {
    const page = await request("/docs");
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    // Only this origin: no other host, and nothing that would let an inline or injected script run.
    expect(csp).not.toMatch(/https?:|\*|'unsafe-eval'/);
    expect(csp.split("; ").find((d) => d.startsWith("script-src"))).toBe("script-src 'self'");

    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(scripts).toEqual(["/docs/vendor/api-reference.js", "/docs/init.js"]);
    for (const src of scripts) {
      const asset = await env.ASSETS.fetch(`https://api.test${src}`);
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get("content-type"), src).toContain("javascript");
      expect(asset.headers.get("x-content-type-options"), src).toBe("nosniff");
      const bytes = (await asset.arrayBuffer()).byteLength;
      expect(bytes, src).toBeGreaterThan(100);
      // Workers static assets take files of at most 25 MiB.
      expect(bytes, src).toBeLessThan(25 * 1024 * 1024);
    }
  });

  it("renders the OpenAPI document that the API serves", async () => {
    const init = await (await env.ASSETS.fetch("https://api.test/docs/init.js")).text();
    expect(init).toContain('url: "/api/v1/openapi.json"');
    expect((await request("/api/v1/openapi.json")).status).toBe(200);
  });
});
