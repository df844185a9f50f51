// `npm run row-fields`: regenerates src/catalog/row-fields.ts from the field table (a test fails while it is stale).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { renderRowFields, rowFieldsFile } from "./lib/row-fields.ts";

writeFileSync(rowFieldsFile, renderRowFields());
console.log(`wrote ${path.relative(path.resolve(import.meta.dirname, ".."), rowFieldsFile)}`);
