// What a feed sends to be let in: HTTP basic, or one header (an API key, a bearer token). Sealed at rest under
// ENCRYPTION_KEY with the feed's id as context (src/crypto/secret-box.ts); the API shows only their type and the
// header's name, and they are never logged.
import { z } from "zod";
import type { Env } from "../config.ts";
import { seal, unseal } from "../crypto/secret-box.ts";
import type { CredentialType } from "../model/feeds.ts";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Headers the fetch itself sets or that would change what it is: a credential cannot be one of them.
const reservedHeaders = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "accept-encoding",
  "if-none-match",
  "if-modified-since",
  "range",
  "cookie2",
  "te",
  "upgrade",
]);
/** Printable ASCII and tabs only: a value with a line break could add a header of its own. */
const headerValue = /^[\t\x20-\x7e]*$/;

export const credentialsSchema = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z.literal("basic"),
        username: z.string().min(1).max(256).regex(/^[^:\p{Cc}]*$/u, { error: "must not contain a colon or control characters" }),
        password: z.string().max(1024).regex(/^\P{Cc}*$/u, { error: "must not contain control characters" }),
      })
      .strict(),
    z
      .object({
        type: z.literal("header"),
        name: z
          .string()
          .min(1)
          .max(100)
          .regex(TOKEN, { error: "must be an HTTP header name" })
          .refine((name) => !reservedHeaders.has(name.toLowerCase()), { error: "is a header the fetch sets itself" }),
        value: z.string().min(1).max(4096).regex(headerValue, { error: "must be printable ASCII without line breaks" }),
      })
      .strict(),
  ])
  .describe(
    "What the feed's server needs to let the fetch in: HTTP basic (`username`, `password`) or one header (`name`, `value`). " +
      "Stored encrypted; never returned (a feed shows only the type, and the header's name). Not sent on to a redirect to another origin.",
  );

export type Credentials = z.output<typeof credentialsSchema>;

/** What a feed's JSON shows of its credentials. */
export const credentialsShownSchema = z
  .object({
    type: z.enum(["basic", "header"]),
    name: z.string().optional().describe("The header's name, for `header` credentials."),
  })
  .nullable()
  .describe("The credentials' type (and header name); their values are never returned. Null: none.");

export interface StoredCredentials {
  credentialType: CredentialType | null;
  credentialHeader: string | null;
  sealedCredentials: string | null;
}

const context = (feedId: string) => `feed:${feedId}`;

/** Throws MissingEncryptionKeyError without ENCRYPTION_KEY. */
export async function sealCredentials(env: Env, feedId: string, credentials: Credentials | null): Promise<StoredCredentials> {
  if (credentials === null) return { credentialType: null, credentialHeader: null, sealedCredentials: null };
  return {
    credentialType: credentials.type,
    credentialHeader: credentials.type === "header" ? credentials.name : null,
    sealedCredentials: await seal(env, JSON.stringify(credentials), context(feedId)),
  };
}

/** The request headers that carry the feed's credentials, and their names (not to follow a redirect to another origin). */
export async function credentialHeaders(env: Env, feedId: string, sealed: string | null): Promise<{ headers: Record<string, string>; sensitive: string[] }> {
  if (sealed === null) return { headers: {}, sensitive: [] };
  const credentials = JSON.parse(await unseal(env, sealed, context(feedId))) as Credentials;
  if (credentials.type === "basic") {
    const pair = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
    return { headers: { authorization: `Basic ${btoa(String.fromCharCode(...pair))}` }, sensitive: [] };
  }
  return { headers: { [credentials.name]: credentials.value }, sensitive: [credentials.name] };
}

export function shownCredentials(feed: Pick<StoredCredentials, "credentialType" | "credentialHeader">): z.output<typeof credentialsShownSchema> {
  if (feed.credentialType === null) return null;
  return feed.credentialType === "header" ? { type: "header", name: feed.credentialHeader ?? "" } : { type: "basic" };
}
