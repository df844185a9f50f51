// The options of an upload, by their upload names: the query of POST /products/import and of an upload session's
// completion, and a scheduled feed's options (src/feeds/), which are read by this schema at every fetch.
import { z } from "zod";
import { isCurrencyCode } from "../../catalog/money.ts";
import { blankCellsModes, onInvalidModes } from "../../catalog/product.ts";
import { problems } from "../../http/problem.ts";
import type { Charset } from "../../model/charsets.ts";
import { DEFAULT_MAX_ARCHIVE, type ImportMode, importModes, MAX_ARCHIVE_COUNT, parseMaxArchive } from "../../model/import-mode.ts";
import { FILE_NAME_MAX_LENGTH, fileNameSchema } from "../../model/upload-file.ts";
import { mappingParameterSchema } from "../sources/column-mapping.ts";
import type { JobOptions } from "../sources/options.ts";
import { presetNames } from "../sources/presets/index.ts";
import { profileNameSchema } from "../sources/profiles.ts";

/** The upload's options (an upload session's completion takes them too, but `filename`, which its opening gave). */
export const uploadQuery = z.object({
  filename: fileNameSchema
    .optional()
    .describe(
      `The file's name, shown on the job: at most ${FILE_NAME_MAX_LENGTH} characters, no control characters (a name breaking the rule is a 400). ` +
        `Default: the multipart part's file name, with control characters removed and cut to ${FILE_NAME_MAX_LENGTH} characters keeping its extension.`,
    ),
  currency: z
    .string()
    .transform((c) => c.toUpperCase())
    .refine(isCurrencyCode, { error: "must be an ISO 4217 currency code such as USD" })
    .optional()
    .transform((c) => c ?? "USD")
    .describe("Currency of new products whose row has none (ISO 4217, default USD). An existing product keeps its currency, and a price without a currency column is read in it."),
  delimiter: z
    .enum([",", ";", "tab"], { error: 'must be one of ",", ";" or "tab"' })
    .transform((d): "," | ";" | "\t" => (d === "tab" ? "\t" : d))
    .optional()
    .describe("CSV delimiter; default: detected from the header line."),
  blank_cells: z
    .enum(blankCellsModes, { error: 'must be "clear" or "keep"' })
    .optional()
    .describe(
      "What a blank cell (NDJSON null) of a column the file has means: `clear` (default) sets the field to its empty value " +
        "(no description, stock 0, status active, no tags, …); `keep` leaves the stored value alone, like a column the file does not have.",
    ),
  on_invalid: z
    .enum(onInvalidModes, { error: 'must be "reject_row" or "skip_field"' })
    .optional()
    .describe(
      "What an invalid field does to its row: `reject_row` (default) rejects the row; `skip_field` imports the row without the field " +
        "(left alone, as a column the file does not have) and records the problem as a row error with severity `warning`. " +
        "An invalid sku, name, price or currency always rejects the row.",
    ),
  dry_run: z
    .enum(["true", "false"], { error: "must be true or false" })
    .transform((v) => v === "true")
    .optional()
    .describe("Validate and count everything but write no product.")
    // Sent as the words true or false: documented as the boolean they are.
    .meta({ type: "boolean", default: false }),
  profile: profileNameSchema
    .optional()
    .describe(
      "Read the file's columns with this saved mapping profile (see /api/v1/import-profiles); a name the tenant has no profile of is a 400. " +
        "The job records the profile's name and the mapping it resolved to. In a multipart/form-data upload it may be a field of the form instead. " +
        `The names ${presetNames.map((name) => `\`${name}\``).join(" and ")} select a built-in preset instead: the CSV file is read as that platform's product export ` +
        "(a Shopify product CSV, classic or current header; a WooCommerce product CSV), without `mapping`. Without `profile` and `mapping`, a header " +
        "that is one of these exports is recognised as such; the job's `preset` and `preset_detected` say how the file was read.",
    ),
  mapping: mappingParameterSchema.optional(),
  mode: z
    .enum(importModes, { error: 'must be "upsert" or "replace"' })
    .optional()
    .describe(
      "`upsert` (default) writes the file's rows and leaves every other product alone. `replace` says the file is the whole catalog: after its last row, " +
        "every product of the tenant that the file did not mention (by SKU, on any row, rejected or skipped rows included) is set to `archived`, never deleted, " +
        "and counted in the job's `archived`. A file that is only a partial feed (`sku,stock`) is legal in replace mode: `max_archive` is what protects the catalog. " +
        "With `dry_run=true` the job reports `would_archive` and writes nothing.",
    ),
  max_archive: z
    .string()
    .refine((text) => parseMaxArchive(text) !== null, {
      error: `must be a number of products (0 to ${MAX_ARCHIVE_COUNT}, such as 500) or a percentage of at most 100 with up to two decimals (such as 5% or 0.5%)`,
    })
    .optional()
    .describe(
      "Replace mode only: the most products the import may archive without a confirmation, as a count (`500`) or a percentage (`5%`) of the tenant's products " +
        `that are not archived once the file's rows are in (rounded down); default \`${DEFAULT_MAX_ARCHIVE}\`. When more would be archived, the job stops before ` +
        "archiving anything in `needs_confirmation` with `would_archive`; POST /api/v1/products/import/{job_id}/confirm lets it archive.",
    ),
});

/** The options the job keeps, from the upload's query and the charset its file declared. */
export function jobOptionsOf(
  query: Pick<z.output<typeof uploadQuery>, "currency" | "delimiter" | "blank_cells" | "on_invalid" | "mode" | "max_archive">,
  charset: Charset | null,
): JobOptions {
  return {
    currency: query.currency,
    delimiter: query.delimiter ?? null,
    blankCells: query.blank_cells ?? "clear",
    onInvalid: query.on_invalid ?? "reject_row",
    charset,
    ...replaceOptions(query),
  };
}

/**
 * The replace-mode options, stored only when given. max_archive means nothing to an upsert, so it is refused there: a
 * route calls this before it reads a body or stores anything, to answer that first.
 */
export function replaceOptions(query: { mode?: ImportMode; max_archive?: string }): Pick<JobOptions, "mode" | "maxArchive"> {
  if (query.max_archive !== undefined && query.mode !== "replace") {
    throw problems.validation([{ location: "query", name: "max_archive", message: "applies only with mode=replace" }]);
  }
  if (query.mode === undefined) return {};
  return query.mode === "replace" ? { mode: "replace", maxArchive: query.max_archive ?? DEFAULT_MAX_ARCHIVE } : { mode: "upsert" };
}
