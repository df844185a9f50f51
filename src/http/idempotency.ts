// Idempotency-Key (the IETF httpapi draft: 409 while the first request runs, 422 for a key reused): a client that
// retries a request with the same key gets the first response again, not a second effect. One helper for every route
// that takes a key: the route says what its request is and does its work in `run`; this module claims the key,
// replays, refuses a reuse, and frees the key when the work fails so that the client may retry with it.
import type { Context } from "hono";
import { database } from "../db/client.ts";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from "../db/queries/idempotency.ts";
import { sha256Hex } from "../hash.ts";
import type { AppEnv } from "./context.ts";
import { ProblemError, problems } from "./problem.ts";
import { problemContent } from "./route.ts";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header as a route's spec declares it; `repeat` says what a repeat with the same key gets. */
export function idempotencyKeyParameter(repeat: string) {
  return {
    name: "Idempotency-Key",
    in: "header" as const,
    required: false,
    description: `Up to 255 printable characters, kept ${IDEMPOTENCY_TTL_MS / 3_600_000} h per tenant. ${repeat}`,
    schema: { type: "string" as const, pattern: IDEMPOTENCY_KEY.source },
  };
}

/** The responses a route that takes a key may give besides its own. */
export const idempotencyResponses = {
  409: { description: "A request with the same Idempotency-Key is still being accepted.", content: problemContent },
  422: { description: "The Idempotency-Key was used for a different request.", content: problemContent },
};

/**
 * The request's Idempotency-Key, if it gives one; a malformed key is a 400. `idempotent` checks it too; a route that
 * reads a large body calls this first, so that no body is read for a request that cannot be accepted.
 */
export function idempotencyKey(c: Context<AppEnv>): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw problems.validation([{ location: "header", name: "idempotency-key", message: "must be 1 to 255 printable ASCII characters without spaces" }]);
  }
  return key;
}

/** A response as it is stored with its key and replayed. */
export interface StoredResponse {
  status: number;
  body: string;
}

/** The response to send; `replayed` when it is the stored response of an earlier request with the key. */
export interface IdempotentResponse extends StoredResponse {
  replayed: boolean;
}

/**
 * A body too large to digest before the work reads it (an uploaded file): its content is hashed on its way through
 * the work, the hash is stored with the key, and a repeat's content is read only to compare it.
 */
export interface IdempotentContent<T> {
  /** The work's input as the request brought it (no key: nothing is hashed). */
  input: T;
  /** The input with its content hashed on the way; `contentHash` resolves once the work has read all of it. */
  hashing(): { input: T; contentHash(): Promise<string> };
  /** A repeat's content hash, its input read only for it (it throws the problem to answer if the input breaks off). */
  repeatHash(): Promise<string>;
  /** What differs when a repeat's content does, for the 422. */
  differs: string;
}

interface IdempotentWork {
  /** What the request says before its body is read: a repeat with the same key must say the same (JSON, digested). */
  request: unknown;
  /** What differs when a repeat's request does, for the 422. */
  differs: string;
}

/**
 * Does `run` once per (tenant, key): without a key it just runs; with one, a repeat gets the stored response (with
 * `replayed`), a repeat saying something else is a 422, and a repeat while the first is still running is a 409.
 */
export function idempotent<T>(
  c: Context<AppEnv>,
  work: IdempotentWork & { content: IdempotentContent<T>; run: (input: T) => Promise<StoredResponse> },
): Promise<IdempotentResponse>;
export function idempotent(c: Context<AppEnv>, work: IdempotentWork & { run: () => Promise<StoredResponse> }): Promise<IdempotentResponse>;
export async function idempotent<T>(
  c: Context<AppEnv>,
  work: IdempotentWork & { content?: IdempotentContent<T>; run: (input?: T) => Promise<StoredResponse> },
): Promise<IdempotentResponse> {
  const key = idempotencyKey(c);
  const { content } = work;
  if (key === undefined) return { ...(await work.run(content?.input)), replayed: false };

  const db = database(c.var.db);
  const tenantId = c.var.caller.tenantId;
  // The key is claimed on what the request says before its body is read, so a concurrent repeat is a 409 at once;
  // the content is compared once the body has been read.
  const digest = await sha256Hex(JSON.stringify(work.request));
  const claim = await claimIdempotencyKey(db, tenantId, key, digest, Date.now(), IDEMPOTENCY_TTL_MS);
  if (claim.kind === "in_flight") throw new ProblemError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");
  if (claim.kind === "mismatch") throw keyReused(work.differs);
  if (claim.kind === "replay") {
    if (content) {
      // A repeat is read to the end but never stored: only its bytes tell a retry from other content of the same size.
      const contentHash = await content.repeatHash();
      // A record without a hash was completed before content hashes were recorded; it is replayed on what it has.
      if (claim.contentHash !== null && claim.contentHash !== contentHash) throw keyReused(content.differs);
    }
    return { status: claim.status, body: claim.body, replayed: true };
  }

  const hashing = content?.hashing();
  try {
    const response = await work.run(hashing?.input);
    const contentHash = hashing ? await hashing.contentHash() : null;
    await completeIdempotencyKey(db, tenantId, key, { ...response, contentHash });
    return { ...response, replayed: false };
  } catch (err) {
    await releaseIdempotencyKey(db, tenantId, key).catch(() => undefined);
    throw err;
  }
}

function keyReused(difference: string): ProblemError {
  return new ProblemError("idempotency-key-reused", `This Idempotency-Key was already used for a different request (${difference}).`);
}
