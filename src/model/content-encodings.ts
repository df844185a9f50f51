// The content codings a product file may be sent in (RFC 9110 8.4.1). A compressed file is stored as sent and
// inflated by its job (src/imports/jobs/inflate.ts); the job records its coding, whichever way the file arrived.

export const contentEncodings = ["gzip"] as const;
export type ContentEncoding = (typeof contentEncodings)[number];

/** The codings a client may name: `x-gzip` is gzip (RFC 9110 8.4.1.3), `identity` is none. */
const ALIASES: Record<string, ContentEncoding | null> = { gzip: "gzip", "x-gzip": "gzip", identity: null };

export type ContentEncodingOf = { ok: true; encoding: ContentEncoding | null } | { ok: false; given: string };

/**
 * The coding a Content-Encoding header gives: null for none. A coding we do not inflate, or more than one (a file
 * compressed twice), is not supported; `given` is what the header said.
 */
export function contentEncodingOf(header: string | null): ContentEncodingOf {
  const given = (header ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "");
  const codings = given.map((coding) => (Object.hasOwn(ALIASES, coding) ? ALIASES[coding] : undefined)).filter((coding) => coding !== null);
  if (codings.length === 0) return { ok: true, encoding: null };
  const [coding] = codings;
  if (codings.length > 1 || coding === undefined) return { ok: false, given: given.join(", ") };
  return { ok: true, encoding: coding };
}
