// What the README lists by hand is held to the code it describes.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { rowErrorAbout, rowErrorCodes, rowErrorSeverity } from "../../src/model/row-error-codes.ts";

const readme = readFileSync(path.resolve(import.meta.dirname, "..", "..", "README.md"), "utf8").split("\n");

/** The rows of the README table whose header line is `header`, each as its cells. */
function tableRows(header: string): string[][] {
  const start = readme.indexOf(header);
  if (start < 0) throw new Error(`README has no table headed ${header}`);
  const rows: string[][] = [];
  for (const line of readme.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
  }
  return rows;
}

const SEVERITY_CELLS = { error: "error", error_or_warning: "error or warning", warning: "warning" } as const;

describe("the README", () => {
  it("lists the row-error codes as the catalog has them: each code, its severity and what it means, in order", () => {
    const listed = tableRows("| Code | Severity | What it means |");
    const catalog = rowErrorCodes.map((code) => [`\`${code}\``, SEVERITY_CELLS[rowErrorSeverity(code)], rowErrorAbout(code)]);
    expect(listed).toEqual(catalog);
  });
});
