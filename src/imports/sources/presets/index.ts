// The built-in presets (see preset.ts): the one place that knows which there are, and how a header is recognised.
import { normalizeColumnName } from "../header.ts";
import { MAX_COLUMNS } from "../../read/csv.ts";
import { type Preset, type PresetName, presetNames } from "./preset.ts";
import { shopify } from "./shopify.ts";
import { woocommerce } from "./woocommerce.ts";

export { type Preset, type PresetName, presetNames };

const presets: Record<PresetName, Preset> = { shopify, woocommerce };

export function isPresetName(name: string): name is PresetName {
  return (presetNames as readonly string[]).includes(name);
}

export function presetNamed(name: PresetName): Preset {
  return presets[name];
}

/** The preset a job reads its file with (named or detected), or null. */
export function storedPreset(job: { preset: string | null }): PresetName | null {
  return job.preset !== null && isPresetName(job.preset) ? job.preset : null;
}

/** The preset whose export `fields` is the header of (see Preset.detects), or null. */
export function detectPreset(fields: readonly string[]): Preset | null {
  // A wider header is refused on its count before any column is looked at (see mapHeader).
  if (fields.length > MAX_COLUMNS) return null;
  const names = new Set(fields.map(normalizeColumnName));
  return Object.values(presets).find((preset) => preset.detects(names)) ?? null;
}
