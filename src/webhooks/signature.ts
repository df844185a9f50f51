// Standard Webhooks signing (standardwebhooks.com): a secret is `whsec_` + the base64 of random bytes; a delivery's
// `webhook-signature` is `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the decoded
// bytes, one per secret that signs, separated by spaces.
import { fromBase64, toBase64 } from "../bytes.ts";

export const SECRET_PREFIX = "whsec_";
// The spec asks for 24 to 64 bytes.
const SECRET_BYTES = 32;

export function generateSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

async function sign(secret: string, content: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", fromBase64(secret.slice(SECRET_PREFIX.length)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three headers of one attempt, signed with each of `secrets` (the current one, and the previous during its overlap). */
export async function signedHeaders(id: string, timestampSeconds: number, body: string, secrets: readonly string[]): Promise<Record<string, string>> {
  const content = `${id}.${timestampSeconds}.${body}`;
  const signatures = await Promise.all(secrets.map((secret) => sign(secret, content)));
  return { "webhook-id": id, "webhook-timestamp": String(timestampSeconds), "webhook-signature": signatures.join(" ") };
}
