// Saved mapping profiles: a tenant's column mappings kept under a name, used on upload with `profile=<name>`. An
// upload resolves its profile once; the job stores the mapping that came of it, so a later change to the profile never
// reaches a job already accepted.
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { getProfile, type ProfileRow } from "../db/queries/import-profiles.ts";
import { type ColumnMapping, columnMappingSchema, overlayMapping } from "./column-mapping.ts";

/** Most profiles a tenant keeps: few enough that one page lists them all. */
export const MAX_PROFILES = 100;

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const NAME_RULE = "must be 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or a digit";

/**
 * The names of the built-in presets (Shopify and WooCommerce exports), which `profile=` selects like a saved profile:
 * no saved profile may take one.
 */
export const PRESET_NAMES = ["shopify", "woocommerce"] as const;

function isPresetName(name: string): boolean {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** A profile's name as any request names it (the upload's `profile`, the path). */
export const profileNameSchema = z
  .string()
  .regex(NAME_PATTERN, { error: NAME_RULE })
  .meta({ description: "A profile's name: 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or a digit.", examples: ["erp-stock"] });

/** A name a new profile may take: not a preset's. */
const newProfileNameSchema = profileNameSchema.refine((name) => !isPresetName(name), {
  error: `is reserved for a built-in preset (${PRESET_NAMES.join(", ")}); choose another name`,
});

export const profileInputSchema = z
  .strictObject({ name: newProfileNameSchema, mapping: columnMappingSchema })
  .meta({ id: "ImportProfileInput", description: `A new profile. A tenant keeps at most ${MAX_PROFILES} profiles; ${PRESET_NAMES.join(" and ")} are reserved.` });

export const profileReplacementSchema = z
  .strictObject({
    mapping: columnMappingSchema,
    name: profileNameSchema.optional().describe("The profile's name, if given: the same as in the path (a profile is not renamed)."),
  })
  .meta({ id: "ImportProfileReplacement", description: "The profile's new mapping, replacing the old one whole." });

export const profileSchema = z
  .object({
    name: profileNameSchema,
    mapping: columnMappingSchema,
    created_at: z.iso.datetime().describe("ISO 8601 UTC."),
    updated_at: z.iso.datetime().describe("ISO 8601 UTC: the last time the mapping was replaced."),
  })
  .meta({ id: "ImportProfile", description: "A saved column mapping, used on upload with `profile=<name>`." });

export function toProfileJson(row: ProfileRow): z.output<typeof profileSchema> {
  return {
    name: row.name,
    mapping: JSON.parse(row.mapping) as ColumnMapping,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

export function profilePath(name: string): string {
  return `/api/v1/import-profiles/${name}`;
}

/** How an upload's columns are read: the profile it named, and the mapping resolved from that profile and its own. */
export interface ResolvedMapping {
  profile: string | null;
  mapping: ColumnMapping | null;
}

export type MappingResolution = ({ ok: true } & ResolvedMapping) | { ok: false; reason: "unknown_profile" | "preset_unavailable" };

/** The mapping an upload reads its file with: the tenant's profile `profile` (if named) with `mapping` over it. */
export async function resolveMapping(db: Db, tenantId: string, asked: { profile?: string; mapping?: ColumnMapping }): Promise<MappingResolution> {
  const own = asked.mapping ?? null;
  if (asked.profile === undefined) return { ok: true, profile: null, mapping: own };
  // Where the built-in presets will be resolved (and recorded as the job's preset); until then their names are known
  // and reserved, but select nothing.
  if (isPresetName(asked.profile)) return { ok: false, reason: "preset_unavailable" };
  const saved = await getProfile(db, tenantId, asked.profile);
  if (!saved) return { ok: false, reason: "unknown_profile" };
  const base = JSON.parse(saved.mapping) as ColumnMapping;
  return { ok: true, profile: saved.name, mapping: own ? overlayMapping(base, own) : base };
}
