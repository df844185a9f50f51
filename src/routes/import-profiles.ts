// /api/v1/import-profiles: a tenant's saved column mappings (create, list, get, replace, delete), used on upload with
// `profile=<name>`.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { database } from "../db/client.ts";
import { createProfile, deleteProfile, getProfile, listProfiles, replaceProfile } from "../db/queries/import-profiles.ts";
import type { AppEnv } from "../http/context.ts";
import { readJsonBody } from "../http/json-body.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { MAX_MAPPING_LENGTH } from "../imports/sources/column-mapping.ts";
import {
  MAX_PROFILES,
  profileInputSchema,
  profileNameSchema,
  profilePath,
  profileReplacementSchema,
  profileSchema,
  toProfileJson,
} from "../imports/sources/profiles.ts";

const PROFILES = "/api/v1/import-profiles";
/** A profile's body holds a mapping of at most MAX_MAPPING_LENGTH characters, each up to 3 bytes of UTF-8, and a name. */
const MAX_BODY_BYTES = 4 * MAX_MAPPING_LENGTH;

const profileParams = z.object({ name: profileNameSchema });
const listQuery = z.object({ limit: limitParam(1, MAX_PROFILES, MAX_PROFILES), cursor: cursorParam(z.tuple([z.string()])) });
const profilePageSchema = z.object({ data: z.array(profileSchema), next_cursor: z.string().nullable() }).meta({ id: "ImportProfilePage" });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const jsonBody = (component: string, description: string) => ({
  description: `${description} At most ${MAX_BODY_BYTES} bytes.`,
  required: true,
  // A reference, not the zod schema: the handler reads the body itself (readJsonBody), bounded and answered with
  // the API's own problems; the component is registered below.
  content: { "application/json": { schema: { $ref: `#/components/schemas/${component}` } } },
});
const bodyProblems = {
  413: { description: "The body is larger than the limit, given in `max_bytes`.", content: problemContent },
  415: { description: "The body is not application/json (UTF-8).", content: problemContent, headers: headers({ Accept: "application/json" }) },
};
const notFound = { 404: { description: "The tenant has no profile of that name.", content: problemContent } };

const listImportProfiles = apiRoute({
  method: "get",
  path: PROFILES,
  operationId: "listImportProfiles",
  summary: "List the saved mapping profiles, by name",
  description: `A tenant keeps at most ${MAX_PROFILES} profiles, so one page of the largest size lists them all.`,
  tag: "Import profiles",
  scope: "imports:read",
  request: { query: listQuery },
  responses: { 200: { description: "A page of profiles.", content: json(profilePageSchema) } },
});

const createImportProfile = apiRoute({
  method: "post",
  path: PROFILES,
  operationId: "createImportProfile",
  summary: "Save a mapping profile",
  description:
    `Saves a column mapping under a name, to be used on upload with \`profile=<name>\`. A tenant keeps at most ${MAX_PROFILES} profiles. ` +
    "The names of the built-in presets (shopify, woocommerce) are reserved. An existing profile is not overwritten: replace it with PUT.",
  tag: "Import profiles",
  scope: "imports:write",
  request: { body: jsonBody("ImportProfileInput", "The profile's name and mapping.") },
  responses: {
    201: { description: "Created.", content: json(profileSchema), headers: headers({ Location: "The profile's URL." }) },
    409: { description: `A profile of that name exists, or the tenant already has ${MAX_PROFILES} profiles.`, content: problemContent },
    ...bodyProblems,
  },
});

const getImportProfile = apiRoute({
  method: "get",
  path: `${PROFILES}/{name}`,
  operationId: "getImportProfile",
  summary: "Get a mapping profile",
  tag: "Import profiles",
  scope: "imports:read",
  request: { params: profileParams },
  responses: { 200: { description: "The profile.", content: json(profileSchema) }, ...notFound },
});

const replaceImportProfile = apiRoute({
  method: "put",
  path: `${PROFILES}/{name}`,
  operationId: "replaceImportProfile",
  summary: "Replace a mapping profile's mapping",
  description:
    "Replaces the mapping whole. Only an existing profile is replaced (a misspelt name is a 404, not a new profile). " +
    "Jobs already accepted keep the mapping they were accepted with.",
  tag: "Import profiles",
  scope: "imports:write",
  request: { params: profileParams, body: jsonBody("ImportProfileReplacement", "The new mapping.") },
  responses: { 200: { description: "The profile as replaced.", content: json(profileSchema) }, ...notFound, ...bodyProblems },
});

const deleteImportProfile = apiRoute({
  method: "delete",
  path: `${PROFILES}/{name}`,
  operationId: "deleteImportProfile",
  summary: "Delete a mapping profile",
  description: "Jobs already accepted with the profile keep the mapping they were accepted with.",
  tag: "Import profiles",
  scope: "imports:write",
  request: { params: profileParams },
  responses: { 204: { description: "Deleted." }, ...notFound },
});

function noProfile(name: string): ProblemError {
  return problems.notFound(`No import profile named "${name}".`);
}

export function registerImportProfileRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("ImportProfileInput", profileInputSchema);
  app.openAPIRegistry.register("ImportProfileReplacement", profileReplacementSchema);

  app.openapi(listImportProfiles, async (c) => {
    const query = c.req.valid("query");
    const rows = await listProfiles(database(c.var.db), c.var.caller.tenantId, { limit: query.limit, afterName: query.cursor?.[0] });
    const { page, next } = nextCursor(rows, query.limit, (row) => [row.name]);
    return c.json({ data: page.map(toProfileJson), next_cursor: next }, 200);
  });

  app.openapi(createImportProfile, async (c) => {
    const input = await readJsonBody(c, profileInputSchema, MAX_BODY_BYTES);
    const profile = { tenantId: c.var.caller.tenantId, name: input.name, mapping: JSON.stringify(input.mapping), now: Date.now() };
    const created = await createProfile(database(c.var.db), profile, MAX_PROFILES);
    if (created.kind === "exists") throw new ProblemError("conflict", `An import profile named "${input.name}" exists; replace its mapping with PUT ${profilePath(input.name)}.`);
    if (created.kind === "limit_reached") {
      throw new ProblemError("limit-reached", `A tenant keeps at most ${MAX_PROFILES} import profiles; delete one before saving another.`);
    }
    return c.json(toProfileJson(created.row), 201, { location: profilePath(created.row.name) });
  });

  app.openapi(getImportProfile, async (c) => {
    const { name } = c.req.valid("param");
    const row = await getProfile(database(c.var.db), c.var.caller.tenantId, name);
    if (!row) throw noProfile(name);
    return c.json(toProfileJson(row), 200);
  });

  app.openapi(replaceImportProfile, async (c) => {
    const { name } = c.req.valid("param");
    const input = await readJsonBody(c, profileReplacementSchema, MAX_BODY_BYTES);
    if (input.name !== undefined && input.name !== name) {
      throw problems.validation([{ location: "body", name: "name", message: `must be the name in the path ("${name}"), if given; a profile is not renamed` }]);
    }
    const row = await replaceProfile(database(c.var.db), c.var.caller.tenantId, name, JSON.stringify(input.mapping), Date.now());
    if (!row) throw noProfile(name);
    return c.json(toProfileJson(row), 200);
  });

  app.openapi(deleteImportProfile, async (c) => {
    const { name } = c.req.valid("param");
    if (!(await deleteProfile(database(c.var.db), c.var.caller.tenantId, name))) throw noProfile(name);
    return c.body(null, 204);
  });
}
