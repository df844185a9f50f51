// The upload session as clients see it (and the request that opens one): zod schemas, documented in OpenAPI, and
// their mapping.
import { z } from "zod";
import type { PartRow, SessionRow } from "../../db/queries/upload-sessions.ts";
import { charsets } from "../../model/charsets.ts";
import { formatMediaType, importFormats } from "../../model/formats.ts";
import { contentEncodings } from "../../model/content-encodings.ts";
import { FILE_NAME_MAX_LENGTH, fileNameSchema } from "../../model/upload-file.ts";
import { MAX_PART_BYTES, R2_MAX_PARTS, R2_MIN_PART_BYTES, UPLOADS_PATH, uploadSessionStateAbout, uploadSessionStates } from "../../model/upload-session.ts";
import { jobPath } from "./job.ts";

export function sessionPath(id: string): string {
  return `${UPLOADS_PATH}/${id}`;
}

const MiB = 1024 * 1024;
const mediaTypes = importFormats.map(formatMediaType) as [string, ...string[]];
const count = (description: string) => z.int().min(0).describe(description);

export const uploadSessionInputSchema = z
  .strictObject({
    size: z
      .int()
      .min(1)
      .describe(
        "The file's size in bytes, as it will be sent (compressed, with `content_encoding`): at most MAX_SESSION_BYTES, a deployment setting (5 GB unless configured).",
      ),
    filename: fileNameSchema.describe(`The file's name, shown on the job: at most ${FILE_NAME_MAX_LENGTH} characters, no control characters.`),
    content_type: z.enum(mediaTypes).describe("The file's format, as the media type a direct upload would send."),
    content_encoding: z
      .enum(contentEncodings)
      .optional()
      .describe("How the file is compressed, if it is; the job gets it as a direct upload's `Content-Encoding`."),
    charset: z
      .enum(charsets)
      .optional()
      .describe("The charset the file is in, as a direct upload's Content-Type may declare it; without one the encoding is detected."),
  })
  .meta({ id: "UploadSessionInput", description: "The file an upload session is opened for." });

export type UploadSessionInput = z.output<typeof uploadSessionInputSchema>;

export const uploadPartSchema = z
  .object({
    number: z.int().min(1).max(R2_MAX_PARTS).describe("The part's number, from 1."),
    size: count("Its size in bytes."),
    etag: z.string().describe("The storage's tag of the copy received (a part sent again gets a new one)."),
  })
  .meta({ id: "UploadPart", description: "A part received." });

export const uploadSessionSchema = z
  .object({
    id: z.string(),
    status: z.enum(uploadSessionStates).describe(uploadSessionStates.map((s) => `\`${s}\`: ${uploadSessionStateAbout(s)}`).join("; ") + "."),
    size: count("The file's size in bytes, as sent (compressed, with `content_encoding`)."),
    filename: z.string(),
    content_type: z.enum(mediaTypes),
    content_encoding: z.enum(contentEncodings).nullable(),
    charset: z.enum(charsets).nullable(),
    part_size: z
      .int()
      .min(R2_MIN_PART_BYTES)
      .max(MAX_PART_BYTES)
      .describe(
        `Every part but the last has exactly this many bytes; the last has the rest. ${R2_MIN_PART_BYTES / MiB} MiB, or more for a file that would ` +
          `otherwise need more than ${R2_MAX_PARTS} parts.`,
      ),
    part_count: z.int().min(1).max(R2_MAX_PARTS).describe("How many parts the file is sent in: part numbers are 1 to part_count."),
    parts: z.array(uploadPartSchema).describe("The parts received so far, by number: a client that was interrupted sends the others."),
    bytes_received: count("The bytes of the parts received."),
    job_id: z.string().nullable().describe("The import job the session became (once completed), else null."),
    created_at: z.iso.datetime().describe("ISO 8601 UTC."),
    expires_at: z.iso.datetime().describe("ISO 8601 UTC: a session not completed by then is aborted and its parts deleted (UPLOAD_SESSION_HOURS after it opened)."),
    links: z.object({
      self: z.string(),
      parts: z.string().describe("Where each part is sent: PUT, with `{n}` the part's number."),
      complete: z.string().describe("POST here once every part is in, with the import's options."),
      job: z.string().nullable(),
    }),
  })
  .meta({ id: "UploadSession" });

export type UploadSessionJson = z.output<typeof uploadSessionSchema>;

export function toPartJson(part: PartRow): z.output<typeof uploadPartSchema> {
  return { number: part.partNumber, size: part.size, etag: part.etag };
}

export function toSessionJson(session: SessionRow, parts: PartRow[]): UploadSessionJson {
  const completed = session.status === "completed";
  return {
    id: session.id,
    status: session.status,
    size: session.sizeBytes,
    filename: session.fileName,
    content_type: formatMediaType(session.format),
    content_encoding: session.contentEncoding,
    charset: session.charset,
    part_size: session.partSize,
    part_count: session.partCount,
    parts: parts.map(toPartJson),
    bytes_received: parts.reduce((sum, p) => sum + p.size, 0),
    job_id: completed ? session.jobId : null,
    created_at: new Date(session.createdAt).toISOString(),
    expires_at: new Date(session.expiresAt).toISOString(),
    links: {
      self: sessionPath(session.id),
      parts: `${sessionPath(session.id)}/parts/{n}`,
      complete: `${sessionPath(session.id)}/complete`,
      job: completed ? jobPath(session.jobId) : null,
    },
  };
}
