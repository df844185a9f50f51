// A column mapping: the file's own column names (CSV header names, NDJSON keys) → our product fields, e.g.
// {"Item No.": "sku", "Qty": "stock"}. An upload gives one in `mapping=` (JSON text), a saved profile holds one; the job
// stores the mapping its file is read with, so every slice names columns the same way.
//
// A source name matches a column as header names match fields: trimmed and case-insensitively. A field that the
// mapping reads from a source is read from that source only: a column literally named like the field is ignored
// (listed in ignored_columns), so a file with both `Net` and `price` under {"Net": "price"} has one price, not two.
import { z } from "zod";
import { type ProductColumn, productColumns } from "../../catalog/fields.ts";
import { parseJsonText } from "../../json-text.ts";
import { quote } from "../../text.ts";
import { type FieldOf, isKnownColumn, MAX_NAME_LENGTH, normalizeColumnName, ownFields } from "./header.ts";

/** Source column name (trimmed, as the client spelled it) → product field. */
export type ColumnMapping = Readonly<Record<string, ProductColumn>>;

/** Each field is read from one column at most, so a mapping has at most one entry per field. */
export const MAX_MAPPING_ENTRIES = productColumns.length;
/** The longest `mapping=` text: a full mapping of the longest names, with room for JSON escapes in them. */
export const MAX_MAPPING_LENGTH = MAX_MAPPING_ENTRIES * (2 * MAX_NAME_LENGTH + 32);

const EXAMPLE = { "Item No.": "sku", Title: "name", Net: "price", Qty: "stock" };
const SHAPE = `a JSON object of column names to product fields, such as ${JSON.stringify(EXAMPLE)}`;

export type MappingCheck = { ok: true; mapping: ColumnMapping } | { ok: false; problems: string[] };

/**
 * The mapping `value` describes, or what is wrong with it (each problem a sentence about the mapping as a whole).
 * Linear in its entries; one with more entries than fields is refused before any entry is looked at.
 */
export function checkMapping(value: unknown): MappingCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, problems: [`must be ${SHAPE}`] };
  const count = Object.keys(value).length;
  if (count === 0) return { ok: false, problems: [`maps no column; it must be ${SHAPE}`] };
  if (count > MAX_MAPPING_ENTRIES) return { ok: false, problems: [`has ${count} entries; at most ${MAX_MAPPING_ENTRIES} (one per product field)`] };
  const entries = Object.entries(value);
  const problems: string[] = [];
  const sources = new Map<string, string>();
  const sourcesOf = new Map<ProductColumn, string[]>();
  for (const [given, target] of entries) {
    const source = given.trim();
    if (source === "") {
      problems.push(`has an empty column name (mapped to ${describe(target)})`);
      continue;
    }
    if (source.length > MAX_NAME_LENGTH) {
      problems.push(`has the column name ${quote(source)} of ${source.length} characters; at most ${MAX_NAME_LENGTH}`);
      continue;
    }
    const key = normalizeColumnName(source);
    const earlier = sources.get(key);
    if (earlier !== undefined) {
      problems.push(`gives the column ${quote(earlier)} twice (as ${quote(earlier)} and ${quote(source)}); names match trimmed and case-insensitively`);
      continue;
    }
    sources.set(key, source);
    const field = typeof target === "string" ? normalizeColumnName(target) : "";
    if (!isKnownColumn(field)) {
      problems.push(`maps ${quote(source)} to ${describe(target)}, which is no product field; the fields are ${productColumns.join(", ")}`);
      continue;
    }
    const mapped = sourcesOf.get(field);
    if (mapped) mapped.push(source);
    else sourcesOf.set(field, [source]);
  }
  for (const [field, mapped] of sourcesOf) {
    if (mapped.length > 1) problems.push(`maps ${mapped.map(quote).join(" and ")} to the same field "${field}"; map one column to each field`);
  }
  if (problems.length > 0) return { ok: false, problems };
  // fromEntries defines own properties: a column named "__proto__" is a name like any other.
  return { ok: true, mapping: Object.fromEntries([...sourcesOf].flatMap(([field, [source]]) => [[source as string, field]])) };
}

function describe(target: unknown): string {
  return typeof target === "string" ? quote(target) : target === null ? "null" : `a ${Array.isArray(target) ? "list" : typeof target}`;
}

function toMapping(check: MappingCheck, ctx: z.RefinementCtx): ColumnMapping {
  if (check.ok) return check.mapping;
  for (const message of check.problems) ctx.addIssue({ code: "custom", message });
  return z.NEVER;
}

/** A mapping as a JSON object: a saved profile's, a job's (checked by checkMapping, documented as the object it is). */
export const columnMappingSchema = z
  .unknown()
  .transform((value, ctx) => toMapping(checkMapping(value), ctx))
  .meta({
    id: "ColumnMapping",
    description:
      `The file's column names (CSV header names, NDJSON keys; matched trimmed and case-insensitively, at most ${MAX_NAME_LENGTH} characters) ` +
      `→ product fields (${productColumns.join(", ")}), each field from one column at most. ` +
      "A column named like a field the mapping reads from another column is ignored (listed in ignored_columns).",
    type: "object",
    additionalProperties: { type: "string", enum: [...productColumns] },
    propertyNames: { minLength: 1, maxLength: MAX_NAME_LENGTH },
    minProperties: 1,
    maxProperties: MAX_MAPPING_ENTRIES,
    examples: [EXAMPLE],
  });

/** The `mapping` upload option: a mapping as JSON text, so that it fits a query string or a multipart field. */
export const mappingParameterSchema = z
  .string()
  .max(MAX_MAPPING_LENGTH, { error: `must be at most ${MAX_MAPPING_LENGTH} characters` })
  .transform((text, ctx) => {
    const parsed = parseJsonText(text);
    if (parsed.ok) return toMapping(checkMapping(parsed.value), ctx);
    ctx.addIssue({ code: "custom", message: `${parsed.message}; it must be ${SHAPE}` });
    return z.NEVER;
  })
  .describe(
    `Read the file's columns by this mapping: ${SHAPE} (the fields are ${productColumns.join(", ")}). ` +
      `Column names are matched trimmed and case-insensitively (at most ${MAX_NAME_LENGTH} characters, at most ${MAX_MAPPING_ENTRIES} entries, one per field). ` +
      "A column named like a field the mapping reads from another column is ignored (listed in ignored_columns). " +
      "With `profile`, these entries replace the profile's entries for the same columns and the same fields. " +
      "In a multipart/form-data upload it may be a field of the form instead.",
  )
  .meta({ examples: [JSON.stringify(EXAMPLE)] });

/**
 * A profile's mapping with a request's over it: the request's entries replace the profile's for the same column and
 * for the same field, so the result still reads each field from one column.
 */
export function overlayMapping(base: ColumnMapping, over: ColumnMapping): ColumnMapping {
  const columns = new Set(Object.keys(over).map(normalizeColumnName));
  const fields = new Set(Object.values(over));
  const kept = Object.entries(base).filter(([source, field]) => !columns.has(normalizeColumnName(source)) && !fields.has(field));
  return Object.fromEntries([...kept, ...Object.entries(over)]);
}

/** The job's mapping as stored (null: columns are read by their own names). */
export function storedMapping(job: { mapping: string | null }): ColumnMapping | null {
  return job.mapping === null ? null : (JSON.parse(job.mapping) as ColumnMapping);
}

/** How columns are named under `mapping`: its sources first, then our own names for the fields it does not map. */
export function mappedFields(mapping: ColumnMapping | null): FieldOf {
  if (!mapping) return ownFields;
  const bySource = new Map(Object.entries(mapping).map(([source, field]) => [normalizeColumnName(source), field]));
  const mapped = new Set(bySource.values());
  return (name) => bySource.get(name) ?? (isKnownColumn(name) && !mapped.has(name) ? name : null);
}

/**
 * What a header refused for missing columns says of the mapping it was read with: which of its columns the header
 * lacks, and which columns named like a field were ignored because the mapping reads that field from another column.
 */
export function mappingHint(mapping: ColumnMapping, header: readonly string[]): string {
  const names = new Set(header.map(normalizeColumnName));
  const sources = new Set(Object.keys(mapping).map(normalizeColumnName));
  const absent = Object.entries(mapping).filter(([source]) => !names.has(normalizeColumnName(source)));
  const shadowed = Object.values(mapping).filter((field) => names.has(field) && !sources.has(field));
  const parts: string[] = [];
  if (absent.length > 0) parts.push(`the mapping's column(s) ${absent.map(([source, field]) => `${quote(source)} (→ ${field})`).join(", ")} are not in the header`);
  if (shadowed.length > 0) {
    parts.push(`the column(s) ${shadowed.map((field) => `"${field}"`).join(", ")} are ignored because the mapping reads that field from another column`);
  }
  return parts.length === 0 ? "" : ` With the column mapping, ${parts.join("; ")}.`;
}
