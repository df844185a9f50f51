// RESULTS.md holds one `## <Name>` section per benchmark; each run replaces its own section in place (up to the
// next `## ` heading) or appends it, and keeps every other section as it is.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

/** Writes `section` (which starts with its `## <heading>` line) into `file` in place of the old one. */
export function writeResultsSection(file: string, heading: string, section: string): void {
  const body = section.endsWith("\n") ? section : `${section}\n`;
  let text: string;
  if (!existsSync(file)) {
    text = `# Benchmarks\n\n${body}`;
  } else {
    const old = readFileSync(file, "utf8");
    const lines = old.split("\n");
    const start = lines.findIndex((l) => l.trimEnd() === `## ${heading}`);
    if (start < 0) {
      text = `${old.replace(/\n*$/, "\n\n")}${body}`;
    } else {
      let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
      if (end < 0) end = lines.length;
      const before = lines.slice(0, start).join("\n").replace(/\n+$/, "");
      const after = lines.slice(end).join("\n");
      text = `${before ? `${before}\n\n` : ""}${body}${after ? `\n${after}` : ""}`;
    }
  }
  // Written aside and renamed: a benchmark stopped half-way never leaves a truncated file.
  const tmp = `${file}.${heading.toLowerCase().replace(/\W+/g, "-")}-${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
