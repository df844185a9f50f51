// Secrets the Worker must read back (feed credentials, webhook signing secrets) are stored sealed: AES-256-GCM under
// the Worker secret ENCRYPTION_KEY, with the row they belong to as associated data, so that a sealed value copied onto
// another row does not open. API keys are different: they are only ever compared, so they are stored as hashes.
import type { Env } from "../config.ts";
import { fromBase64, toBase64 } from "../bytes.ts";

const VERSION = "v1";
const IV_BYTES = 12;

export class MissingEncryptionKeyError extends Error {
  constructor() {
    super("ENCRYPTION_KEY is not set: `wrangler secret put ENCRYPTION_KEY` with the base64 of 32 random bytes (README, Deploying)");
    this.name = "MissingEncryptionKeyError";
  }
}

const keys = new Map<string, Promise<CryptoKey>>();

function encryptionKey(env: Env): Promise<CryptoKey> {
  const encoded = env.ENCRYPTION_KEY;
  if (!encoded) throw new MissingEncryptionKeyError();
  let key = keys.get(encoded);
  if (!key) {
    const raw = fromBase64(encoded);
    if (raw.byteLength !== 32) throw new Error("ENCRYPTION_KEY must be the base64 of exactly 32 bytes");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(encoded, key);
  }
  return key;
}

/** `context` names what the secret belongs to (e.g. `feed:<id>`); unseal must be given the same. */
export async function seal(env: Env, plaintext: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    await encryptionKey(env),
    new TextEncoder().encode(plaintext),
  );
  return `${VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

export async function unseal(env: Env, sealed: string, context: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) throw new Error("not a sealed secret");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(context) },
    await encryptionKey(env),
    fromBase64(data),
  );
  return new TextDecoder().decode(plain);
}
