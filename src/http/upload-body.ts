// An uploaded file's request body: the file's bytes as they are (streamed, Content-Length required) or a
// multipart/form-data form with one `file` part (buffered). Type, charset, content encoding and size are checked
// before a byte is stored, and the body's OpenAPI description is made here from the same fields the reader takes.
import { z } from "zod";
import { concatBytes } from "../bytes.ts";
import { charsetOf, charsets, type Charset } from "../model/charsets.ts";
import { type ContentEncoding, contentEncodingOf, contentEncodings } from "../model/content-encodings.ts";
import { formatAbout, formatExtensions, formatMediaType, formatMediaTypes, formatOfFileName, formatOfMediaType, importFormats } from "../model/formats.ts";
import { cleanFileName, type UploadSource } from "../model/upload-file.ts";
import { UPLOADS_PATH } from "../model/upload-session.ts";
import { quote } from "../text.ts";
import { type ProblemFieldError, ProblemError, problems } from "./problem.ts";
import { headers, problemContent } from "./route.ts";
import { closestName, listed, unknownNameErrors } from "./unknown-names.ts";

const ACCEPTED = [...formatMediaTypes, "multipart/form-data"];
/** The media types of a gzip file, which a multipart file part may have (its format then comes from its name). */
const GZIP_MEDIA_TYPES = ["application/gzip", "application/x-gzip"];
const GZIP_EXTENSION = /\.gz$/i;

/**
 * The fields a multipart form may have beside `file`: options that a request may give as a query parameter or as a
 * field of its form, each validated by the query parameter's schema.
 */
export type FormFields = Record<string, { schema: z.ZodType<unknown, string>; description: string }>;

const fileField = {
  type: "string",
  contentMediaType: "application/octet-stream",
  description:
    `The file: ${formatMediaTypes.join(" or ")}, or a name ending ${formatExtensions}. A gzip file (${GZIP_MEDIA_TYPES.join(" or ")}, or a name ending .gz) ` +
    "is stored as sent and inflated by the job; its format is named by its name without .gz (catalog.csv.gz).",
} as const;

/** The request body of a route that takes a file, with `fields` the fields its multipart form may have beside `file`. */
export function uploadBody(fields: FormFields) {
  return {
    description:
      "The product file's bytes as they are (UTF-8, UTF-16 with a byte order mark, or the declared charset), not wrapped in JSON: a generated client must send the string unchanged " +
      "(with openapi-fetch, `bodySerializer: (file) => file` and the file's Content-Type).",
    required: true,
    // Plain JSON Schemas, not zod: the handler reads the body itself (a zod body schema would install a validator).
    content: {
      ...Object.fromEntries(
        importFormats.map((f) => [formatMediaType(f), { schema: { type: "string" as const, contentMediaType: formatMediaType(f), description: formatAbout(f) } }]),
      ),
      "multipart/form-data": {
        schema: {
          type: "object" as const,
          properties: {
            file: fileField,
            ...Object.fromEntries(Object.entries(fields).map(([name, { description }]) => [name, { type: "string" as const, description }])),
          },
          required: ["file"],
          additionalProperties: false,
        },
      },
    },
  };
}

/** The responses a route that takes a file may give for its body. */
export const uploadBodyResponses = {
  411: { description: "Content-Length is missing.", content: problemContent },
  413: {
    description: `The file is larger than the limit, given in \`max_bytes\`; a larger file is sent in parts through an upload session (\`POST ${UPLOADS_PATH}\`).`,
    content: problemContent,
  },
  415: {
    description:
      "The content type is not accepted (`accepted` lists the media types), or the content encoding is not (`unsupported-content-encoding`, naming it; " +
      "Accept-Encoding lists the encodings accepted).",
    content: problemContent,
    headers: headers({ Accept: "The accepted media types.", "Accept-Encoding": "The accepted content encodings." }),
  },
};

export interface UploadBodyRules {
  /** The largest file sent as the body itself. */
  maxUploadBytes: number;
  /** The largest multipart/form-data body (buffered whole). */
  maxMultipartBytes: number;
  /** The fields a multipart form may have beside `file`. */
  fields: FormFields;
  /** The route's query parameters, named to a client that sends one as a form field. */
  queryParameters: readonly string[];
}

/**
 * The file the request carries; `fileName` is the multipart part's (cleaned), null for a bare body. A multipart
 * request's form comes along for its other fields.
 */
export async function readUploadBody(request: Request, rules: UploadBodyRules): Promise<{ file: UploadSource; form: FormData | null }> {
  const { type, charset } = mediaType(request.headers.get("content-type") ?? undefined, { location: "header", name: "content-type" });
  const contentEncoding = requestEncoding(request);
  const lengthHeader = request.headers.get("content-length");
  // The bytes as sent: a compressed body counts compressed.
  const length = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  if (type === "multipart/form-data") {
    if (length === null) throw lengthRequired();
    if (length > rules.maxMultipartBytes) throw problems.tooLarge("A multipart/form-data upload", rules.maxMultipartBytes);
    return readForm(contentEncoding === null ? request : await inflatedForm(request, rules.maxMultipartBytes), rules);
  }

  const format = formatOfMediaType(type);
  if (!format) {
    const compressed = GZIP_MEDIA_TYPES.includes(type) ? ` For a compressed file, send its own type (${formatMediaTypes.join(" or ")}) with Content-Encoding: gzip.` : "";
    throw problems.unsupportedMediaType(`Content-Type "${type || "(none)"}" is not supported; send one of ${ACCEPTED.join(", ")}.${compressed}`, ACCEPTED);
  }
  if (length === null) throw lengthRequired();
  if (length > rules.maxUploadBytes) {
    throw problems.tooLarge("An upload", rules.maxUploadBytes, `Send a larger file in parts through an upload session: POST ${UPLOADS_PATH}.`);
  }
  const body = request.body;
  if (length === 0 || !body) throw emptyBody();
  return { file: { format, contentType: type, charset, contentEncoding, fileName: null, size: length, body }, form: null };
}

/** The Content-Encoding of the request: gzip, or none; any other is refused, naming it. */
function requestEncoding(request: Request): ContentEncoding | null {
  const coding = contentEncodingOf(request.headers.get("content-encoding"));
  if (coding.ok) return coding.encoding;
  const accepted = contentEncodings.join(", ");
  throw new ProblemError("unsupported-content-encoding", `Content-Encoding "${coding.given}" is not supported; send the file compressed with ${accepted} (Content-Encoding: ${accepted}), or as it is.`, {
    headers: { "accept-encoding": accepted },
    errors: [{ location: "header", name: "content-encoding", message: `is "${coding.given}", which is not supported; use ${accepted} or none` }],
  });
}

/**
 * A multipart body sent compressed, inflated to read its form: buffered like a form sent as it is, and bounded by the
 * same limit once inflated, so a small compressed body cannot inflate without end.
 */
async function inflatedForm(request: Request, maxBytes: number): Promise<Request> {
  const pieces: Uint8Array[] = [];
  let length = 0;
  const reader = (request.body ?? new Blob([]).stream()).pipeThrough(new DecompressionStream("gzip")).getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      length += next.value.byteLength;
      if (length > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw problems.tooLarge("A multipart/form-data upload, inflated,", maxBytes);
      }
      pieces.push(next.value);
    }
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw problems.validation([{ location: "body", name: "(body)", message: "is not valid gzip data, as its Content-Encoding says" }]);
  }
  const headers = { "content-type": request.headers.get("content-type") ?? "" };
  return new Request(request.url, { method: "POST", headers, body: concatBytes(pieces, length) });
}

async function readForm(request: Request, rules: UploadBodyRules): Promise<{ file: UploadSource; form: FormData }> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw problems.validation([{ location: "body", name: "(body)", message: "is not valid multipart/form-data" }]);
  }
  rejectUnknownFields(form, rules);
  const files = form.getAll("file");
  if (files.length > 1) throw problems.validation([{ location: "body", name: "file", message: `is given ${files.length} times; send one part named file` }]);
  const file = files[0];
  if (!(file instanceof File)) throw problems.validation([{ location: "body", name: "file", message: "is required: send the file in a part named file" }]);
  // The file part's own Content-Type is what says how its bytes are encoded (a multipart body's charset is not about the file).
  const { type, charset } = mediaType(file.type, { location: "body", name: "file" });
  // Browsers and curl name the part after the local file; the client did not type it, so it is cleaned, not refused.
  const fileName = cleanFileName(file.name);
  // A gzip file (`catalog.csv.gz`) is stored as sent and inflated by its job; its format is named by the rest of its name.
  const gzipped = GZIP_MEDIA_TYPES.includes(type) || GZIP_EXTENSION.test(fileName ?? "");
  const format = formatOfMediaType(type) ?? formatOfFileName(gzipped ? (fileName?.replace(GZIP_EXTENSION, "") ?? null) : fileName);
  if (!format) {
    const named = gzipped ? ` A gzip file is read by the name it has without .gz: name it ending ${formatExtensions} and then .gz (catalog.csv.gz).` : "";
    throw problems.unsupportedMediaType(
      `The file part's type "${file.type || "(none)"}" is not supported; send ${formatMediaTypes.join(" or ")} (or a file name ending ${formatExtensions}).${named}`,
      ACCEPTED,
    );
  }
  if (file.size === 0) throw emptyBody();
  const contentEncoding = gzipped ? "gzip" : null;
  return { file: { format, contentType: formatMediaType(format), charset, contentEncoding, fileName, size: file.size, body: file }, form };
}

/** Refuses the fields of a form that are none of its fields, each named with the field or query parameter it may mean. */
function rejectUnknownFields(form: FormData, rules: UploadBodyRules): void {
  const known = ["file", ...Object.keys(rules.fields)];
  const unknown = [...new Set(form.keys())].filter((name) => !known.includes(name));
  if (unknown.length > 0) throw problems.validation(unknownNameErrors(unknown, "body", (name) => explainUnknownField(name, known, rules.queryParameters)));
}

function explainUnknownField(name: string, fields: readonly string[], queryParameters: readonly string[]): string {
  const field = closestName(name, fields);
  if (field !== null) return `is not a field of this form; did you mean ${field}?`;
  const parameter = closestName(name, queryParameters);
  if (parameter === name) return "is not a field of this form but a query parameter: give it in the URL";
  if (parameter !== null) return `is not a field of this form; did you mean the query parameter ${parameter} (given in the URL)?`;
  return `is not a field of this form, which takes ${listed(fields)}`;
}

type FieldValues<F extends FormFields> = { [K in keyof F]: z.output<F[K]["schema"]> | undefined };

/**
 * The options of `fields`, each from the query or from the multipart form: one place, not both (which one was meant
 * would be a guess).
 */
export function formOptions<F extends FormFields>(form: FormData | null, query: Partial<FieldValues<F>>, fields: F): FieldValues<F> {
  const errors: ProblemFieldError[] = [];
  const options = Object.fromEntries(
    Object.entries(fields).map(([name, { schema }]) => [name, formField(form, name, query[name], schema, errors)]),
  ) as FieldValues<F>;
  if (errors.length > 0) throw problems.validation(errors);
  return options;
}

/** An option given as a form field, else the query's value. */
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

function lengthRequired(): ProblemError {
  return new ProblemError("length-required", "Send a Content-Length header with the file's size in bytes.", {
    errors: [{ location: "header", name: "content-length", message: "is required" }],
  });
}
