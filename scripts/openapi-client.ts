// `npm run openapi:client`: regenerates test/generated/api.d.ts from the OpenAPI document (a test fails while it is stale).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { generateClientTypes, generatedTypesFile } from "./lib/openapi-client.ts";
import { repoRoot } from "./lib/wrangler.ts";

writeFileSync(generatedTypesFile, await generateClientTypes());
console.log(`wrote ${path.relative(repoRoot, generatedTypesFile)}`);
