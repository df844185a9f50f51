// How an import applies its file. `upsert` writes its rows and leaves every other product alone; `replace` says the
// file is the whole catalog: after its last row, every product of the tenant that the file did not mention is archived
// (never deleted), unless that is more than `max_archive`, which then waits for a confirmation.
export const importModes = ["upsert", "replace"] as const;
export type ImportMode = (typeof importModes)[number];

/**
 * How many products a replace-mode import may archive without asking: a count (`500`) or a percentage (`5%`, up to two
 * decimals) of the tenant's products that are not archived once the file's rows are in.
 */
export type MaxArchive = { count: number } | { hundredthsOfPercent: number };

/** The max_archive of a replace-mode import that names none. */
export const DEFAULT_MAX_ARCHIVE = "20%";

/** The largest count max_archive takes: more products than any catalog has. */
export const MAX_ARCHIVE_COUNT = 1_000_000_000;

// Anchored, one character class per run: linear.
const COUNT = /^\d{1,10}$/;
const PERCENT = /^(\d{1,3})(?:\.(\d{1,2}))?%$/;

/** The max_archive text as a limit, or null when it is neither a count nor a percentage of at most 100. */
export function parseMaxArchive(text: string): MaxArchive | null {
  if (COUNT.test(text)) {
    const count = Number(text);
    return count <= MAX_ARCHIVE_COUNT ? { count } : null;
  }
  const percent = PERCENT.exec(text);
  if (!percent) return null;
  const hundredths = Number(percent[1]) * 100 + Number((percent[2] ?? "").padEnd(2, "0"));
  return hundredths <= 100_00 ? { hundredthsOfPercent: hundredths } : null;
}

/** The most products the import may archive without a confirmation, of `catalogProducts` not archived (rounded down). */
export function archiveLimit(maxArchive: string, catalogProducts: number): number {
  const limit = parseMaxArchive(maxArchive) ?? (parseMaxArchive(DEFAULT_MAX_ARCHIVE) as MaxArchive);
  return "count" in limit ? limit.count : Math.floor((catalogProducts * limit.hundredthsOfPercent) / 100_00);
}

/**
 * The phases of a replace-mode import after its last row, each with its own checkpoint (a SKU key): `counting` the
 * products the file did not mention, `archiving` them, and for a dry run `purging` the SKUs it recorded instead.
 */
export const replacePhases = ["counting", "archiving", "purging"] as const;
export type ReplacePhase = (typeof replacePhases)[number];
