// POST /api/v1/products/import: the request's file (http/upload-body.ts) becomes a job (imports/jobs/upload.ts);
// Idempotency-Key makes a retried upload safe (http/idempotency.ts).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { readConfig } from "../config.ts";
import { database } from "../db/client.ts";
import type { AppEnv } from "../http/context.ts";
import { idempotencyKey, idempotencyKeyParameter, idempotencyResponses, idempotent, type IdempotentContent, type IdempotentResponse } from "../http/idempotency.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { formOptions, readUploadBody, uploadBody, uploadBodyResponses } from "../http/upload-body.ts";
import { parameterNames } from "../http/validate.ts";
import { mappingParameterSchema } from "../imports/sources/column-mapping.ts";
import { ENCODING_SNIFF_BYTES } from "../imports/read/encoding.ts";
import { jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import { profileNameSchema } from "../imports/sources/profiles.ts";
import { jobOptionsOf, replaceOptions, uploadQuery } from "../imports/jobs/upload-options.ts";
import { acceptUpload, hashingSource, hashUpload, INTERRUPTED_REASON, type UploadResult } from "../imports/jobs/upload.ts";
import { charsets } from "../model/charsets.ts";
import { contentEncodings } from "../model/content-encodings.ts";
import { formatMediaTypes, type ImportFormat } from "../model/formats.ts";
import type { UploadSource } from "../model/upload-file.ts";

/** The options a multipart upload may give as form fields instead of query parameters. */
const formFields = {
  profile: { schema: profileNameSchema, description: "The `profile` option as a form field (then not in the query)." },
  mapping: { schema: mappingParameterSchema, description: "The `mapping` option (JSON text) as a form field (then not in the query)." },
};

const createImport = apiRoute({
  method: "post",
  path: "/api/v1/products/import",
  rateLimit: "uploads",
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
    "The job's `encoding` says which was used.\n\n" +
    "Compression: with `Content-Encoding: gzip` the body is the gzip-compressed file (its Content-Type and charset those of the file inside). " +
    "It is stored as sent, and MAX_UPLOAD_BYTES applies to the bytes as sent; the job inflates it once, as its first step, up to MAX_INFLATED_BYTES " +
    "(past that, or when the data is not valid gzip, the job fails saying so). The job's `size_bytes` is the size as sent and `inflated_bytes` the size inflated. " +
    "A multipart body with `Content-Encoding: gzip` is inflated to read its form (up to MAX_MULTIPART_BYTES inflated); a gzip file part " +
    "(application/gzip, or a name ending .gz) is stored as sent and inflated by its job. Any other content encoding is a 415 naming it.",
  tag: "Imports",
  scope: "imports:write",
  request: { query: uploadQuery, body: uploadBody(formFields) },
  // Checked by the handler (the header is optional and read before the body).
  parameters: [
    {
      name: "Content-Encoding",
      in: "header" as const,
      required: false,
      description: "`gzip` (or `x-gzip`) when the body is gzip-compressed; `identity` or none when it is not. Any other is a 415.",
      schema: { type: "string" as const, enum: [...contentEncodings, "x-gzip", "identity"] },
    },
    idempotencyKeyParameter(
      "A repeat with the same request and a file of the same content (compared by SHA-256 once its body is read; it is not stored) returns the first response with `Idempotent-Replayed: true`; a different request or other content with the same key is a 422; a repeat while the first is still being accepted is a 409.",
    ),
  ],
  responses: {
    202: {
      description: "Accepted: the file is stored and the job queued.",
      content: { "application/json": { schema: jobResponseSchema } },
      headers: headers({ Location: "The job's URL.", "Idempotent-Replayed": "true when this is a stored response replayed for a repeated Idempotency-Key." }),
    },
    ...uploadBodyResponses,
    ...idempotencyResponses,
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
    const config = readConfig(c.env);
    // A malformed key is refused before the body is read (idempotent() reads the key again), and so are options that
    // do not go together.
    idempotencyKey(c);
    replaceOptions(query);
    const body = await readUploadBody(c.req.raw, {
      maxUploadBytes: config.maxUploadBytes,
      maxMultipartBytes: config.maxMultipartBytes,
      fields: formFields,
      queryParameters: parameterNames(uploadQuery),
    });
    const source: UploadSource = { ...body.file, fileName: query.filename ?? body.file.fileName };
    const options = jobOptionsOf(query, source.charset);
    const dryRun = query.dry_run ?? false;
    const columns = formOptions(body.form, query, formFields);
    const asked = { profile: columns.profile, profileIn: body.form?.has("profile") ? "body" : "query", format: source.format } as const;

    const response = await idempotent(c, {
      // The file's size, not the request's: a multipart retry of the same file may come with another boundary.
      // The content encoding only when there is one: the digests of plain uploads stay what they were.
      request: [source.contentType, source.size, source.fileName, options, dryRun, columns, ...(source.contentEncoding ? [source.contentEncoding] : [])],
      differs: "other file name, size, type, content encoding or options",
      content: uploadContent(source),
      run: async (file) => {
        const result = await acceptUpload(c.env, database(c.var.db), { tenantId: c.var.caller.tenantId, source: file, options, dryRun, columns });
        if (!result.ok) throw refused(result, asked);
        return { status: 202, body: JSON.stringify(toJobJson(result.job)) };
      },
    });
    return jobAccepted(response);
  });
}

/** The upload's file under an Idempotency-Key: hashed on its way to storage; a repeat's is read only to compare. */
function uploadContent(source: UploadSource): IdempotentContent<UploadSource> {
  return {
    input: source,
    hashing: () => {
      const hashing = hashingSource(source);
      return { input: hashing.source, contentHash: hashing.contentHash };
    },
    repeatHash: async () => {
      const contentHash = await hashUpload(source);
      if (contentHash === null) throw interrupted(INTERRUPTED_REASON);
      return contentHash;
    },
    differs: "a file with other content",
  };
}

/** Why an upload was not accepted, as the problem to answer; a profile's problem names where the request gave it. */
export function refused(
  result: Extract<UploadResult, { ok: false }>,
  asked: { profile?: string; profileIn: "query" | "body"; format: ImportFormat },
): ProblemError {
  const profileProblem = (message: string) => problems.validation([{ location: asked.profileIn, name: "profile", message }]);
  switch (result.failure) {
    case "interrupted":
      return interrupted(result.reason);
    case "not_queued":
      return problems.unavailable(result.reason, { "retry-after": "5" });
    case "unknown_profile":
      return profileProblem(`names no saved profile ("${asked.profile}"); GET /api/v1/import-profiles lists them`);
    case "preset_not_csv":
      return profileProblem(`names the built-in preset "${asked.profile}", which reads CSV exports; this file is ${asked.format.toUpperCase()}`);
    case "preset_with_mapping":
      return profileProblem(`names the built-in preset "${asked.profile}", which reads the export's own columns; give it without mapping`);
  }
}

function interrupted(reason: string): ProblemError {
  return new ProblemError("upload-interrupted", reason);
}

/** The job with its URL (202; 200 for an upload session completed before). A replay has only the stored body to read the job's id from; the first answer reads it the same way. */
export function jobAccepted({ status, body, replayed }: IdempotentResponse): Response {
  const { id } = JSON.parse(body) as { id: string };
  const headers = new Headers({ "content-type": "application/json", location: jobPath(id) });
  if (replayed) headers.set("idempotent-replayed", "true");
  return new Response(body, { status, headers });
}
