// POST /api/v1/products/import: the request's file becomes an upload source (type, size and encoding checked
// before a byte is stored), then a job; Idempotency-Key makes a retried upload safe.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { isCurrencyCode } from "../catalog/money.ts";
import { blankCellsModes, onInvalidModes } from "../catalog/product.ts";
import { readConfig } from "../config.ts";
import { database, type Db } from "../db/client.ts";
import { sha256Hex } from "../hash.ts";
import { quote } from "../text.ts";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from "../db/queries/idempotency.ts";
import type { AppEnv } from "../http/context.ts";
import { type ProblemFieldError, ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { closestName, listed, unknownNameErrors } from "../http/unknown-names.ts";
import { parameterNames } from "../http/validate.ts";
import { type ColumnMapping, mappingParameterSchema } from "../imports/sources/column-mapping.ts";
import { type Charset, charsetOf, charsets, ENCODING_SNIFF_BYTES } from "../imports/read/encoding.ts";
import { type JobOptions, jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { presetNames } from "../imports/sources/presets/index.ts";
import { profileNameSchema, type ResolvedMapping, resolveMapping } from "../imports/sources/profiles.ts";
import {
  acceptUpload,
  cleanFileName,
  FILE_NAME_MAX_LENGTH,
  fileNameSchema,
  hashingSource,
  hashUpload,
  INTERRUPTED_REASON,
  type UploadSource,
} from "../imports/jobs/upload.ts";

import { formatAbout, formatExtensions, formatMediaType, importFormats, formatMediaTypes, formatOfFileName, formatOfMediaType, type ImportFormat } from "../model/formats.ts";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const ACCEPTED = [...formatMediaTypes, "multipart/form-data"];

const uploadQuery = z.object({
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
});

/** The fields of a multipart/form-data upload: the file, and the options that may be form fields instead of query parameters. */
const formFields = {
  file: { type: "string", contentMediaType: "application/octet-stream", description: `The file: ${formatMediaTypes.join(" or ")}, or a name ending ${formatExtensions}.` },
  profile: { type: "string", description: "The `profile` option as a form field (then not in the query)." },
  mapping: { type: "string", description: "The `mapping` option (JSON text) as a form field (then not in the query)." },
} as const;
const FORM_FIELDS = Object.keys(formFields);
const QUERY_PARAMETERS = parameterNames(uploadQuery);

/** Refuses the fields of a form that are none of formFields, each named with the field or query parameter it may mean. */
function rejectUnknownFields(form: FormData): void {
  const unknown = [...new Set(form.keys())].filter((name) => !Object.hasOwn(formFields, name));
  if (unknown.length > 0) throw problems.validation(unknownNameErrors(unknown, "body", explainUnknownField));
}

function explainUnknownField(name: string): string {
  const field = closestName(name, FORM_FIELDS);
  if (field !== null) return `is not a field of this form; did you mean ${field}?`;
  const parameter = closestName(name, QUERY_PARAMETERS);
  if (parameter === name) return "is not a field of this form but a query parameter: give it in the URL";
  if (parameter !== null) return `is not a field of this form; did you mean the query parameter ${parameter} (given in the URL)?`;
  return `is not a field of this form, which takes ${listed(FORM_FIELDS)}`;
}

type MappingOptions = { profile?: string; mapping?: ColumnMapping };

/**
 * The `profile` and `mapping` options, each a query parameter or a field of a multipart form: one place, not both
 * (which one was meant would be a guess). Also says where `profile` came from, for a problem naming it.
 */
function mappingOptions(query: MappingOptions, form: FormData | null): { asked: MappingOptions; profileIn: "query" | "body" } {
  const errors: ProblemFieldError[] = [];
  const profile = formField(form, "profile", query.profile, profileNameSchema, errors);
  const mapping = formField(form, "mapping", query.mapping, mappingParameterSchema, errors);
  if (errors.length > 0) throw problems.validation(errors);
  return { asked: { profile, mapping }, profileIn: form?.has("profile") ? "body" : "query" };
}

/** An option given as a form field (validated by the schema of the query parameter), else the query's value. */
function formField<T>(form: FormData | null, name: string, fromQuery: T | undefined, schema: z.ZodType<T, string>, errors: ProblemFieldError[]): T | undefined {
  const values = form?.getAll(name) ?? [];
  if (values.length === 0) return fromQuery;
  const error = (message: string) => void errors.push({ location: "body", name, message });
  if (fromQuery !== undefined) return error("is given both as a query parameter and as a form field; give it once");
  if (values.length > 1) return error(`is given ${values.length} times; give it once`);
  const [value] = values;
  if (typeof value !== "string") return error("must be a plain form field, not a file");
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) error(issue.message);
  return undefined;
}

/**
 * How the job will read its file: the mapping, or the preset named; a profile the tenant does not have, or a preset
 * for what is no CSV file or with a mapping, is a 400 naming it.
 */
async function resolvedMapping(
  db: Db,
  tenantId: string,
  format: ImportFormat,
  { asked, profileIn }: ReturnType<typeof mappingOptions>,
): Promise<ResolvedMapping> {
  const resolved = await resolveMapping(db, tenantId, format, asked);
  if (resolved.ok) return { profile: resolved.profile, mapping: resolved.mapping, preset: resolved.preset };
  const messages: Record<typeof resolved.reason, string> = {
    unknown_profile: `names no saved profile ("${asked.profile}"); GET /api/v1/import-profiles lists them`,
    preset_not_csv: `names the built-in preset "${asked.profile}", which reads CSV exports; this file is ${format.toUpperCase()}`,
    preset_with_mapping: `names the built-in preset "${asked.profile}", which reads the export's own columns; give it without mapping`,
  };
  throw problems.validation([{ location: profileIn, name: "profile", message: messages[resolved.reason] }]);
}

/** The media type and the charset it declares; `where` names the header or part it came from in a problem. */
function mediaType(header: string | undefined, where: Omit<ProblemFieldError, "message">): { type: string; charset: Charset | null } {
  const [type = "", ...params] = (header ?? "").split(";");
  const given = params.map((p) => p.trim().toLowerCase()).filter((p) => p.startsWith("charset="));
  // A parameter given twice is an error (RFC 6838 4.3); picking one would guess how the bytes are encoded.
  if (given.length > 1) throw problems.validation([{ ...where, message: `gives charset ${given.length} times; give it once` }]);
  const label = given[0]?.slice(8).replace(/"/g, "") ?? null;
  const charset = label === null ? null : charsetOf(label);
  if (label !== null && !charset) {
    throw problems.validation([{ ...where, message: `declares charset ${quote(label)}, which is not supported; use one of ${charsets.join(", ")}` }]);
  }
  return { type: type.trim().toLowerCase(), charset };
}

function emptyBody(): ProblemError {
  return new ProblemError("empty-file", "The request body is empty; send the file's content.", {
    errors: [{ location: "body", name: "(body)", message: "is empty" }],
  });
}

/**
 * Reads what the request carries into an UploadSource, enforcing type and size limits before storing a byte; a
 * multipart request's form comes along for its other fields.
 */
async function readUploadSource(c: Context<AppEnv>, fileName: string | undefined): Promise<{ source: UploadSource; form: FormData | null }> {
  const config = readConfig(c.env);
  const { type, charset } = mediaType(c.req.header("content-type"), { location: "header", name: "content-type" });
  const lengthHeader = c.req.header("content-length");
  const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;

  if (type === "multipart/form-data") {
    if (length === null) throw lengthRequired();
    if (length > config.maxMultipartBytes) throw problems.tooLarge("A multipart/form-data upload", config.maxMultipartBytes);
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw problems.validation([{ location: "body", name: "(body)", message: "is not valid multipart/form-data" }]);
    }
    rejectUnknownFields(form);
    const files = form.getAll("file");
    if (files.length > 1) throw problems.validation([{ location: "body", name: "file", message: `is given ${files.length} times; send one part named file` }]);
    const file = files[0];
    if (!(file instanceof File)) throw problems.validation([{ location: "body", name: "file", message: "is required: send the file in a part named file" }]);
    // The file part's own Content-Type is what says how its bytes are encoded (a multipart body's charset is not about the file).
    const { type: partType, charset: partCharset } = mediaType(file.type, { location: "body", name: "file" });
    // Browsers and curl name the part after the local file; the client did not type it, so it is cleaned, not refused.
    const partName = cleanFileName(file.name);
    const format = formatOfMediaType(partType) ?? formatOfFileName(partName);
    if (!format) {
      throw problems.unsupportedMediaType(
        `The file part's type "${file.type || "(none)"}" is not supported; send ${formatMediaTypes.join(" or ")} (or a file name ending ${formatExtensions}).`,
        ACCEPTED,
      );
    }
    if (file.size === 0) throw emptyBody();
    return {
      source: {
        format,
        contentType: formatMediaType(format),
        charset: partCharset,
        fileName: fileName ?? partName,
        size: file.size,
        body: file,
      },
      form,
    };
  }

  const format = formatOfMediaType(type);
  if (!format) {
    throw problems.unsupportedMediaType(`Content-Type "${type || "(none)"}" is not supported; send one of ${ACCEPTED.join(", ")}.`, ACCEPTED);
  }
  if (length === null) throw lengthRequired();
  if (length > config.maxUploadBytes) throw problems.tooLarge("An upload", config.maxUploadBytes);
  const body = c.req.raw.body;
  if (length === 0 || !body) throw emptyBody();
  return { source: { format, contentType: type, charset, fileName: fileName ?? null, size: length, body }, form: null };
}

function uploadFailed(failure: "interrupted" | "not_queued", reason: string): ProblemError {
  return failure === "interrupted"
    ? new ProblemError("upload-interrupted", reason)
    : problems.unavailable(reason, { "retry-after": "5" });
}

function keyReused(difference: string): ProblemError {
  return new ProblemError("idempotency-key-reused", `This Idempotency-Key was already used for a different request (${difference}).`);
}

function lengthRequired(): ProblemError {
  return new ProblemError("length-required", "Send a Content-Length header with the file's size in bytes.", {
    errors: [{ location: "header", name: "content-length", message: "is required" }],
  });
}

/** What the request says before its body is read, as one SHA-256: a repeat with the same key must say the same. */
function requestDigest(parts: unknown[]): Promise<string> {
  return sha256Hex(JSON.stringify(parts));
}

function jobCreatedResponse(status: number, body: string, id: string, replayed: boolean): Response {
  const headers = new Headers({ "content-type": "application/json", location: jobPath(id) });
  if (replayed) headers.set("idempotent-replayed", "true");
  return new Response(body, { status, headers });
}

const createImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import",
  operationId: "createImport",
  summary: "Upload a product file and start an import job",
  description:
    `The body is the file itself (${formatMediaTypes.join(" or ")}, streamed into storage, up to MAX_UPLOAD_BYTES, Content-Length required), ` +
    "or multipart/form-data with exactly one `file` part (buffered, up to MAX_MULTIPART_BYTES). The file is processed asynchronously: follow the job at `Location`.\n\n" +
    `Encodings: the \`charset\` parameter of the Content-Type (of the file part's, for multipart) may declare ${charsets.join(", ")} ` +
    "(and their common aliases: utf8, latin1, cp1252, …); any other is a 400 naming it. A byte order mark decides over a declared charset " +
    "(UTF-8, UTF-16LE, UTF-16BE). iso-8859-1 is read as windows-1252, as the WHATWG Encoding Standard (and every browser's TextDecoder) maps it: " +
    "the same characters but for bytes 0x80–0x9F, which are € ‚ ƒ … there instead of C1 controls. charset=utf-16 needs a byte order mark " +
    "(without one the job fails saying so: declare utf-16le or utf-16be). Without a charset or a byte order mark the file is read as UTF-8, " +
    `or as Windows-1252 when its first ${ENCODING_SNIFF_BYTES / 1024} KiB are Windows-1252 text with no UTF-8 character beyond ASCII. ` +
    "The job's `encoding` says which was used.",
  tag: "Imports",
  scope: "imports:write",
  request: {
    query: uploadQuery,
    // Plain JSON Schemas, not zod: the handler reads the body itself (a zod body schema would install a validator).
    body: {
      description:
        "The product file's bytes as they are (UTF-8, UTF-16 with a byte order mark, or the declared charset), not wrapped in JSON: a generated client must send the string unchanged " +
        "(with openapi-fetch, `bodySerializer: (file) => file` and the file's Content-Type).",
      required: true,
      content: {
        ...Object.fromEntries(
          importFormats.map((f) => [formatMediaType(f), { schema: { type: "string" as const, contentMediaType: formatMediaType(f), description: formatAbout(f) } }]),
        ),
        "multipart/form-data": {
          schema: { type: "object", properties: formFields, required: ["file"], additionalProperties: false },
        },
      },
    },
  },
  // Checked by the handler (the header is optional and read after the body's type).
  parameters: [
    {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Up to 255 printable characters, kept 24 h per tenant. A repeat with the same request and a file of the same content (compared by SHA-256 once its body is read; it is not stored) returns the first response with `Idempotent-Replayed: true`; a different request or other content with the same key is a 422; a repeat while the first is still being accepted is a 409.",
      schema: { type: "string", pattern: IDEMPOTENCY_KEY.source },
    },
  ],
  responses: {
    202: {
      description: "Accepted: the file is stored and the job queued.",
      content: { "application/json": { schema: jobResponseSchema } },
      headers: headers({ Location: "The job's URL.", "Idempotent-Replayed": "true when this is a stored response replayed for a repeated Idempotency-Key." }),
    },
    409: { description: "A request with the same Idempotency-Key is still being accepted.", content: problemContent },
    411: { description: "Content-Length is missing.", content: problemContent },
    413: { description: "The file is larger than the limit, given in `max_bytes`.", content: problemContent },
    415: {
      description: "The content type is not accepted; `accepted` lists the media types.",
      content: problemContent,
      headers: headers({ Accept: "The accepted media types." }),
    },
    422: { description: "The Idempotency-Key was used for a different request.", content: problemContent },
    503: {
      description: "The file could not be queued; nothing was imported.",
      content: problemContent,
      headers: headers({ "Retry-After": "Seconds to wait before retrying." }),
    },
  },
});

export function registerImportUploadRoute(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createImport, async (c) => {
    const query = c.req.valid("query");
    const tenantId = c.var.caller.tenantId;
    const db = database(c.var.db);
    const idempotencyKey = c.req.header("idempotency-key");
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw problems.validation([{ location: "header", name: "idempotency-key", message: "must be 1 to 255 printable ASCII characters without spaces" }]);
    }
    const { source, form } = await readUploadSource(c, query.filename);
    const options: JobOptions = {
      currency: query.currency,
      delimiter: query.delimiter ?? null,
      blankCells: query.blank_cells ?? "clear",
      onInvalid: query.on_invalid ?? "reject_row",
      charset: source.charset,
    };
    const dryRun = query.dry_run ?? false;
    const columnOptions = mappingOptions(query, form);

    /** Reads how the file's columns are read (a saved profile is looked up), then stores the upload and its job. */
    const accept = async (body: UploadSource) => {
      const resolved = await resolvedMapping(db, tenantId, source.format, columnOptions);
      const result = await acceptUpload(c.env, db, { tenantId, source: body, options, dryRun, ...resolved });
      if (!result.ok) throw uploadFailed(result.failure, result.reason);
      return result.job;
    };

    if (idempotencyKey === undefined) {
      const job = await accept(source);
      return jobCreatedResponse(202, JSON.stringify(toJobJson(job)), job.id, false);
    }

    // The key is claimed on what the request says before its body is read, so a concurrent repeat is a 409 at once;
    // the content is compared once the body has been read.
    // The file's size, not the request's: a multipart retry of the same file may come with another boundary.
    const digest = await requestDigest([source.contentType, source.size, source.fileName, options, dryRun, columnOptions.asked]);
    const claim = await claimIdempotencyKey(db, tenantId, idempotencyKey, digest, Date.now(), IDEMPOTENCY_TTL_MS);
    if (claim.kind === "in_flight") throw new ProblemError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");
    if (claim.kind === "mismatch") throw keyReused("other file name, size, type or options");
    if (claim.kind === "replay") {
      // A repeat is read to the end but never stored: only its bytes tell a retry from another file of the same size.
      const contentHash = await hashUpload(source);
      if (contentHash === null) throw uploadFailed("interrupted", INTERRUPTED_REASON);
      // A record without a hash was completed before content hashes were recorded; it is replayed on what it has.
      if (claim.contentHash !== null && claim.contentHash !== contentHash) throw keyReused("a file with other content");
      const id = (JSON.parse(claim.body) as { id: string }).id;
      return jobCreatedResponse(claim.status, claim.body, id, true);
    }

    const hashing = hashingSource(source);
    try {
      // The profile is read once the key is claimed: a replay answers what the first request was told, whatever
      // became of its profile since.
      const job = await accept(hashing.source);
      const body = JSON.stringify(toJobJson(job));
      await completeIdempotencyKey(db, tenantId, idempotencyKey, { status: 202, body, contentHash: await hashing.contentHash() });
      return jobCreatedResponse(202, body, job.id, false);
    } catch (err) {
      await releaseIdempotencyKey(db, tenantId, idempotencyKey).catch(() => undefined);
      throw err;
    }
  });
}
