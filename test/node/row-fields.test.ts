// The row check's generated walk of the field table (src/catalog/row-fields.ts) is held to the table.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderRowFields, rowFieldsFile } from "../../scripts/lib/row-fields.ts";

describe("src/catalog/row-fields.ts", () => {
  it("is what the field table generates (`npm run row-fields` refreshes it)", () => {
    expect(readFileSync(rowFieldsFile, "utf8")).toBe(renderRowFields());
  });
});
