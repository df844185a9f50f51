// `npm run docs:check [-- --screenshot <file.png>]`: proves in a real browser that /docs renders without internet
// access. Starts `wrangler dev`, opens /docs in headless Chromium (Debian's `chromium` package, installed with apt-get
// when /usr/bin/chromium is missing) with every request to another origin refused, and checks that the summary of
// every operation of the served OpenAPI document is on the page, with no Content-Security-Policy violation and no
// script error. Not part of `npm test`: CI has no Chromium.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { WranglerDev } from "./bench/lib.ts";
import { copyDocsAssets } from "./docs-assets.mjs";

const CHROMIUM = "/usr/bin/chromium";
const args = process.argv.slice(2);
const screenshotFlag = args.indexOf("--screenshot");
const screenshot = path.resolve(screenshotFlag >= 0 ? (args[screenshotFlag + 1] ?? "docs-check.png") : path.join(tmpdir(), "docs-check.png"));

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  console.log(`docs:check: ${CHROMIUM} is missing; installing Debian's chromium package (apt-get)`);
  for (const command of [["update"], ["install", "-y", "--no-install-recommends", "chromium"]]) {
    const run = spawnSync("apt-get", command, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (run.status !== 0) throw new Error(`apt-get ${command.join(" ")} failed (run as root, or install chromium yourself)`);
  }
}

interface Findings {
  operations: { summary: string; listed: boolean }[];
  refused: string[];
  cspViolations: string[];
  scriptErrors: string[];
}

async function checkDocs(origin: string): Promise<Findings> {
  const openapi = (await (await fetch(`${origin}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { summary: string }>> };
  const summaries = [...new Set(Object.values(openapi.paths).flatMap((item) => Object.values(item).map((op) => op.summary)))];

  const profile = mkdtempSync(path.join(tmpdir(), "docs-check-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const findings: Findings = { operations: [], refused: [], cspViolations: [], scriptErrors: [] };
  try {
    // No internet: every request that leaves the API's origin is refused (and reported).
    await context.route(
      (url) => url.origin !== origin,
      (route) => {
        findings.refused.push(route.request().url());
        return route.abort("internetdisconnected");
      },
    );
    const page = await context.newPage();
    page.on("console", (message) => {
      if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) findings.cspViolations.push(message.text());
      else if (message.type() === "error" && !/Failed to load resource/.test(message.text())) findings.scriptErrors.push(message.text());
    });
    page.on("pageerror", (error) => findings.scriptErrors.push(String(error)));
    await page.goto(`${origin}/docs`, { waitUntil: "load" });
    await page
      .waitForFunction((expected) => expected.every((s) => document.body.innerText.includes(s)), summaries, { timeout: 30_000 })
      .catch(() => undefined);
    const text = await page.evaluate(() => document.body.innerText);
    findings.operations = summaries.map((summary) => ({ summary, listed: text.includes(summary) }));
    await page.screenshot({ path: screenshot, fullPage: false });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return findings;
}

ensureChromium();
copyDocsAssets();
const state = mkdtempSync(path.join(tmpdir(), "docs-check-"));
let failed = true;
const server = await WranglerDev.start({ persistTo: state, log: path.join(state, "wrangler.log"), readyPath: "/docs" });
try {
  const findings = await checkDocs(server.url);
  const listed = findings.operations.filter((o) => o.listed);
  console.log(`docs:check: ${listed.length} of ${findings.operations.length} operation summaries listed on /docs`);
  for (const o of findings.operations.filter((op) => !op.listed)) console.log(`  missing: ${o.summary}`);
  for (const url of findings.refused) console.log(`  request to another origin (refused): ${url}`);
  for (const v of findings.cspViolations) console.log(`  CSP violation: ${v}`);
  for (const e of findings.scriptErrors) console.log(`  script error: ${e}`);
  console.log(`docs:check: screenshot ${screenshot}`);
  failed =
    listed.length !== findings.operations.length || findings.refused.length > 0 || findings.cspViolations.length > 0 || findings.scriptErrors.length > 0;
  console.log(failed ? "docs:check: FAILED" : "docs:check: ok");
} finally {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
