// /api/v1/uploads: upload sessions (imports/jobs/upload-session.ts). A file beyond MAX_UPLOAD_BYTES is announced, sent in
// numbered parts (resumable: the session lists the parts it has), then completed into an import job with the options
// of a direct upload.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { readConfig } from "../config.ts";
import { database, type Db } from "../db/client.ts";
import type { SessionRow } from "../db/queries/upload-sessions.ts";
import type { AppEnv } from "../http/context.ts";
import { idempotencyKey, idempotencyKeyParameter, idempotencyResponses, idempotent } from "../http/idempotency.ts";
import { readJsonBody } from "../http/json-body.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { jobPath, jobResponseSchema, toJobJson } from "../imports/jobs/job.ts";
import {
  abortSession,
  type CompletionResult,
  completeSession,
  expectedPartBytes,
  findSession,
  MAX_OPEN_SESSIONS,
  openSession,
  putPart,
  sessionParts,
} from "../imports/jobs/upload-session.ts";
import {
  sessionPath,
  toPartJson,
  toSessionJson,
  uploadPartSchema,
  uploadSessionInputSchema,
  uploadSessionSchema,
} from "../imports/jobs/upload-session-json.ts";
import { formatOfMediaType } from "../model/formats.ts";
import { MAX_PART_BYTES, R2_MAX_PARTS, UPLOADS_PATH } from "../model/upload-session.ts";
import { jobOptionsOf, replaceOptions, uploadQuery } from "../imports/jobs/upload-options.ts";
import { jobAccepted, refused } from "./import-upload.ts";

/** The opening request's body: a file name of at most 255 characters, each up to 12 bytes as a JSON escape pair, and a few numbers and words. */
const MAX_OPEN_BODY_BYTES = 4096;

const sessionParams = z.object({ upload_id: z.string().min(1).max(64).describe("The upload session's id.") });
const partParams = sessionParams.extend({
  part_number: z
    .string()
    .regex(/^[1-9][0-9]*$/, { error: "must be a whole number from 1" })
    .transform(Number)
    .refine((n) => n <= R2_MAX_PARTS, { error: `must be at most ${R2_MAX_PARTS}` })
    .describe("The part's number, from 1 to the session's part_count.")
    // A path segment, documented as the whole number it is.
    .meta({ type: "integer", minimum: 1, maximum: R2_MAX_PARTS }),
});
/** The options of a direct upload; the file's name was given when the session opened. */
const completeQuery = uploadQuery.omit({ filename: true });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const noSession = { 404: { description: "The tenant has no such upload session, or it expired.", content: problemContent } };
const TAG = "Uploads";

const openUpload = apiRoute({
  method: "post",
  path: UPLOADS_PATH,
  rateLimit: "uploads",
  operationId: "openUpload",
  summary: "Open an upload session for a large file",
  description:
    "For a file larger than a direct upload takes (MAX_UPLOAD_BYTES) or one better sent resumably: announce its size, name and type, " +
    "send its parts (`PUT …/parts/{n}`, in any order, several at once, each again if it failed), then complete the session into an import job. " +
    `A tenant keeps at most ${MAX_OPEN_SESSIONS} sessions open; a session not completed within UPLOAD_SESSION_HOURS (24 unless configured) is aborted.`,
  tag: TAG,
  scope: "imports:write",
  request: {
    body: {
      description: `The file the session is for. At most ${MAX_OPEN_BODY_BYTES} bytes.`,
      required: true,
      // A reference, not the zod schema: the handler reads the body itself (readJsonBody), bounded and answered with the
      // API's own problems; the component is registered below.
      content: { "application/json": { schema: { $ref: "#/components/schemas/UploadSessionInput" } } },
    },
  },
  responses: {
    201: { description: "Opened: where and how to send the parts.", content: json(uploadSessionSchema), headers: headers({ Location: "The session's URL." }) },
    409: { description: `The tenant already has ${MAX_OPEN_SESSIONS} sessions open.`, content: problemContent },
    413: { description: "The file is larger than MAX_SESSION_BYTES (given in `max_bytes`), or the body larger than it may be.", content: problemContent },
    415: { description: "The body is not application/json (UTF-8).", content: problemContent, headers: headers({ Accept: "application/json" }) },
  },
});

const getUpload = apiRoute({
  method: "get",
  path: `${UPLOADS_PATH}/{upload_id}`,
  operationId: "getUpload",
  summary: "Get an upload session and the parts it has received",
  description: "A client that was interrupted asks which parts arrived, and sends the others.",
  tag: TAG,
  scope: "imports:read",
  request: { params: sessionParams },
  responses: { 200: { description: "The session.", content: json(uploadSessionSchema) }, ...noSession },
});

const putUploadPart = apiRoute({
  method: "put",
  path: `${UPLOADS_PATH}/{upload_id}/parts/{part_number}`,
  rateLimit: "uploads",
  operationId: "putUploadPart",
  summary: "Send one part of the file",
  description:
    "The body is the part's bytes, streamed into storage: exactly `part_size` bytes, the last part the rest of the file (at most " +
    `${MAX_PART_BYTES / 1024 / 1024} MiB), with Content-Length. Parts may come in any order and several at once; a part sent again replaces the earlier copy.`,
  tag: TAG,
  scope: "imports:write",
  request: {
    params: partParams,
    body: {
      description: "The part's bytes.",
      required: true,
      // Plain JSON Schema: the handler streams the body itself.
      content: { "application/octet-stream": { schema: { type: "string" as const, contentMediaType: "application/octet-stream" } } },
    },
  },
  responses: {
    200: { description: "Received.", content: json(uploadPartSchema) },
    ...noSession,
    409: { description: "The session is being completed or was completed: it takes no more parts.", content: problemContent },
    411: { description: "Content-Length is missing.", content: problemContent },
  },
});

const abortUpload = apiRoute({
  method: "delete",
  path: `${UPLOADS_PATH}/{upload_id}`,
  operationId: "abortUpload",
  summary: "Abort an upload session",
  description: "Deletes the session and every part it received.",
  tag: TAG,
  scope: "imports:write",
  request: { params: sessionParams },
  responses: {
    204: { description: "Aborted." },
    ...noSession,
    409: { description: "The session is being completed or was completed into an import job.", content: problemContent },
  },
});

const completeUpload = apiRoute({
  method: "post",
  path: `${UPLOADS_PATH}/{upload_id}/complete`,
  rateLimit: "uploads",
  operationId: "completeUpload",
  summary: "Complete an upload session into an import job",
  description:
    "Once every part is in: joins the parts into the file and starts its import job, exactly as a direct upload of the file with these options " +
    "would (the same job, `Location`, and place among the tenant's imports). Completing again answers the same job: a session becomes one job.",
  tag: TAG,
  scope: "imports:write",
  request: { params: sessionParams, query: completeQuery },
  parameters: [
    idempotencyKeyParameter(
      "A repeat with the same session and options returns the first response with `Idempotent-Replayed: true`; other options with the same key are a 422; a repeat while the first is still being completed is a 409.",
    ),
  ],
  responses: {
    202: {
      description: "Accepted: the file is stored and the job queued.",
      content: json(jobResponseSchema),
      headers: headers({ Location: "The job's URL.", "Idempotent-Replayed": "true when this is a stored response replayed for a repeated Idempotency-Key." }),
    },
    200: {
      description: "The session had been completed before with the same options: its job as it is now.",
      content: json(jobResponseSchema),
      headers: headers({ Location: "The job's URL." }),
    },
    ...noSession,
    ...idempotencyResponses,
    409: {
      description:
        "Parts are missing (`upload-incomplete`, listed in `missing_parts`); or the session is being completed, was completed with other options, " +
        "or a request with the same Idempotency-Key is still being completed (`conflict`).",
      content: problemContent,
    },
    503: {
      description: "The file could not be queued; nothing was imported.",
      content: problemContent,
      headers: headers({ "Retry-After": "Seconds to wait before retrying." }),
    },
  },
});

export function registerUploadRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("UploadSessionInput", uploadSessionInputSchema);

  app.openapi(openUpload, async (c) => {
    const input = await readJsonBody(c, uploadSessionInputSchema, MAX_OPEN_BODY_BYTES);
    const config = readConfig(c.env);
    if (input.size > config.maxSessionBytes) throw problems.tooLarge("A file sent through an upload session", config.maxSessionBytes);
    const file = {
      format: formatOfMediaType(input.content_type)!,
      contentType: input.content_type,
      charset: input.charset ?? null,
      contentEncoding: input.content_encoding ?? null,
      fileName: input.filename,
      size: input.size,
    };
    const opened = await openSession(c.env, database(c.var.db), config, c.var.caller.tenantId, file);
    if (!opened.ok) {
      throw new ProblemError(
        "limit-reached",
        `A tenant keeps at most ${MAX_OPEN_SESSIONS} upload sessions open; complete or abort one (DELETE ${UPLOADS_PATH}/{id}) before opening another.`,
      );
    }
    return c.json(toSessionJson(opened.session, []), 201, { location: sessionPath(opened.session.id) });
  });

  app.openapi(getUpload, async (c) => {
    const { upload_id: id } = c.req.valid("param");
    const db = database(c.var.db);
    const session = await findSessionOr404(db, c.var.caller.tenantId, id);
    return c.json(toSessionJson(session, await sessionParts(db, session)), 200);
  });

  app.openapi(putUploadPart, async (c) => {
    const { upload_id: id, part_number: n } = c.req.valid("param");
    const db = database(c.var.db);
    const session = await findSessionOr404(db, c.var.caller.tenantId, id);
    if (session.status !== "open") throw takesNoParts(session);
    if (n > session.partCount) {
      throw problems.validation([{ location: "path", name: "part_number", message: `must be at most ${session.partCount}, the session's part_count` }]);
    }
    const length = contentLength(c.req.header("content-length"));
    const expected = expectedPartBytes(session, n);
    if (length !== expected) {
      const rule = n < session.partCount ? `every part but the last has part_size (${session.partSize}) bytes` : "the last part has the rest of the file";
      throw problems.validation([{ location: "header", name: "content-length", message: `must be ${expected} for part ${n} of ${session.partCount} (${rule}), not ${length}` }]);
    }
    const body = c.req.raw.body;
    const result = body ? await putPart(c.env, db, session, n, length, body) : ({ ok: false, failure: "interrupted" } as const);
    if (result.ok) return c.json(toPartJson(result.part), 200);
    if (result.failure === "interrupted") throw new ProblemError("upload-interrupted", `Part ${n} was interrupted before all its ${length} bytes arrived; send it again.`);
    const current = await findSessionOr404(db, c.var.caller.tenantId, id);
    // Open again: a completion that claimed it while the part arrived has let go.
    if (current.status === "open") throw new ProblemError("conflict", `The upload session changed while part ${n} arrived; send the part again.`);
    throw takesNoParts(current);
  });

  app.openapi(abortUpload, async (c) => {
    const { upload_id: id } = c.req.valid("param");
    const db = database(c.var.db);
    const session = await findSessionOr404(db, c.var.caller.tenantId, id);
    const aborted = await abortSession(c.env, db, session);
    if (aborted.ok) return c.body(null, 204);
    if (aborted.failure === "gone") throw noSuchSession(id);
    throw aborted.failure === "completed" ? completedAlready(session) : beingCompleted();
  });

  app.openapi(completeUpload, async (c) => {
    const { upload_id: id } = c.req.valid("param");
    const query = c.req.valid("query");
    const db = database(c.var.db);
    const tenantId = c.var.caller.tenantId;
    idempotencyKey(c);
    replaceOptions(query);
    const dryRun = query.dry_run ?? false;
    const columns = { profile: query.profile, mapping: query.mapping };
    const response = await idempotent(c, {
      request: [id, query],
      differs: "another upload session or other options",
      run: async () => {
        const session = await findSessionOr404(db, tenantId, id);
        const result = await completeSession(c.env, db, session, { options: jobOptionsOf(query, session.charset), dryRun, columns });
        if (!result.ok) throw completionRefused(result, session, query.profile);
        return { status: result.first ? 202 : 200, body: JSON.stringify(toJobJson(result.job)) };
      },
    });
    return jobAccepted(response);
  });
}

async function findSessionOr404(db: Db, tenantId: string, id: string): Promise<SessionRow> {
  const session = await findSession(db, tenantId, id);
  if (!session) throw noSuchSession(id);
  return session;
}

function noSuchSession(id: string): ProblemError {
  return problems.notFound(`No upload session with id "${id}" (a session not completed within UPLOAD_SESSION_HOURS of its opening is aborted).`);
}

function takesNoParts(session: SessionRow): ProblemError {
  return session.status === "completed" ? completedAlready(session) : beingCompleted();
}

function completedAlready(session: SessionRow): ProblemError {
  return new ProblemError("conflict", `The upload session was completed into the import job ${session.jobId} (${jobPath(session.jobId)}); it takes no more changes.`);
}

function beingCompleted(): ProblemError {
  return new ProblemError("conflict", "The upload session is being completed this moment; follow it with GET, or retry shortly.");
}

/** The part's Content-Length; 411 without one. */
function contentLength(header: string | undefined): number {
  if (header === undefined || !/^\d+$/.test(header)) {
    throw new ProblemError("length-required", "Send a Content-Length header with the part's size in bytes.", {
      errors: [{ location: "header", name: "content-length", message: "is required" }],
    });
  }
  return Number(header);
}

function completionRefused(result: Extract<CompletionResult, { ok: false }>, session: SessionRow, profile: string | undefined): ProblemError {
  switch (result.failure) {
    case "incomplete":
      return new ProblemError(
        "upload-incomplete",
        `${result.missing.length} of the session's ${session.partCount} parts ${result.missing.length === 1 ? "has" : "have"} not been received: ` +
          `${partRanges(result.missing)}. Send ${result.missing.length === 1 ? "it" : "them"} (PUT ${sessionPath(session.id)}/parts/{n}), then complete the session again.`,
        { extensions: { missing_parts: result.missing } },
      );
    case "in_progress":
      return beingCompleted();
    case "completed_otherwise":
      return new ProblemError(
        "conflict",
        `The upload session was completed with other options into the import job ${result.jobId} (${jobPath(result.jobId)}); a session becomes one job.`,
      );
    default:
      return refused(result, { profile, profileIn: "query", format: session.format });
  }
}

/** Part numbers as ranges (`1–3, 7`), the first ten ranges and a count of the rest: the problem's `missing_parts` has them all. */
function partRanges(numbers: number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    ranges.push(i === j ? `${numbers[i]}` : `${numbers[i]}–${numbers[j]}`);
    i = j + 1;
  }
  const MAX = 10;
  return ranges.length <= MAX ? ranges.join(", ") : `${ranges.slice(0, MAX).join(", ")} and ${ranges.length - MAX} more ranges`;
}
