// Saved mapping profiles: a tenant's column mappings kept under a name, used on upload with `profile=<name>`. An
// upload resolves its profile once; the job stores the mapping that came of it, so a later change to the profile never
// reaches a job already accepted.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { getProfile, type ProfileRow } from "../../db/queries/import-profiles.ts";
import { type ColumnMapping, columnMappingSchema, overlayMapping } from "./column-mapping.ts";
import { isPresetName, type PresetName, presetNames } from "./presets/index.ts";
import type { ImportFormat } from "../../model/formats.ts";

/** Most profiles a tenant keeps: few enough that one page lists them all. */
export const MAX_PROFILES = 100;

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const NAME_RULE = "must be 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or a digit";

/** A profile's name as any request names it (the upload's `profile`, the path). */
export const profileNameSchema = z
  .string()
  .regex(NAME_PATTERN, { error: NAME_RULE })
  .meta({ description: "A profile's name: 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or a digit.", examples: ["erp-stock"] });

/** A name a new profile may take: not a built-in preset's (presets/), which `profile=` selects like a saved profile. */
const newProfileNameSchema = profileNameSchema.refine((name) => !isPresetName(name), {
  error: `is reserved for a built-in preset (${presetNames.join(", ")}); choose another name`,
});

export const profileInputSchema = z
  .strictObject({ name: newProfileNameSchema, mapping: columnMappingSchema })
  .meta({ id: "ImportProfileInput", description: `A new profile. A tenant keeps at most ${MAX_PROFILES} profiles; ${presetNames.join(" and ")} are reserved.` });

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

/** How an upload's columns are read: the profile it named, and the mapping resolved from that profile and its own, or the preset it named. */
export interface ResolvedMapping {
  profile: string | null;
  mapping: ColumnMapping | null;
  preset: PresetName | null;
}

export type MappingResolution = ({ ok: true } & ResolvedMapping) | { ok: false; reason: "unknown_profile" | "preset_not_csv" | "preset_with_mapping" };

/**
 * The mapping an upload reads its file with: the tenant's profile `profile` (if named) with `mapping` over it. A
 * preset's name selects the preset instead, which reads a CSV export by its own column names (no mapping goes with it).
 */
export async function resolveMapping(
  db: Db,
  tenantId: string,
  format: ImportFormat,
  asked: { profile?: string; mapping?: ColumnMapping },
): Promise<MappingResolution> {
  const own = asked.mapping ?? null;
  if (asked.profile === undefined) return { ok: true, profile: null, mapping: own, preset: null };
  if (isPresetName(asked.profile)) {
    if (format !== "csv") return { ok: false, reason: "preset_not_csv" };
    if (own) return { ok: false, reason: "preset_with_mapping" };
    return { ok: true, profile: asked.profile, mapping: null, preset: asked.profile };
  }
  const saved = await getProfile(db, tenantId, asked.profile);
  if (!saved) return { ok: false, reason: "unknown_profile" };
  const base = JSON.parse(saved.mapping) as ColumnMapping;
  return { ok: true, profile: saved.name, mapping: own ? overlayMapping(base, own) : base, preset: null };
}
