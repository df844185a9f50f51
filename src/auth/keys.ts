// API keys: `pik_` + 32 base62 characters (~190 bits of randomness). Only the SHA-256 hash is stored,
// with a short display prefix. Shared by the worker and the Node-side key CLI (both have Web Crypto).

export const scopes = ["products:read", "imports:read", "imports:write"] as const;
export type Scope = (typeof scopes)[number];

export const KEY_PREFIX = "pik_";
const KEY_BODY_LENGTH = 32;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const KEY_PATTERN = /^pik_[0-9A-Za-z]{32}$/;

function randomBase62(length: number): string {
  let out = "";
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface NewKey {
  id: string;
  key: string;
  prefix: string;
  hash: string;
}

export async function generateKey(): Promise<NewKey> {
  const key = KEY_PREFIX + randomBase62(KEY_BODY_LENGTH);
  return { id: `key_${randomBase62(16)}`, key, prefix: key.slice(0, 12), hash: await hashKey(key) };
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(22)}`;
}

export function parseScopes(text: string): Scope[] | { unknown: string[] } {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const unknown = parts.filter((p) => !(scopes as readonly string[]).includes(p));
  return unknown.length ? { unknown } : [...new Set(parts as Scope[])];
}
