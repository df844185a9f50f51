// API keys: `pik_` + 32 base62 characters (~190 bits of randomness). Only the SHA-256 hash is stored,
// with a short display prefix. Shared by the worker and the Node-side key CLI (both have Web Crypto).
import { sha256Hex } from "../hash.ts";

export const scopes = ["products:read", "imports:read", "imports:write", "webhooks:manage"] as const;
export type Scope = (typeof scopes)[number];

export const KEY_PREFIX = "pik_";
const KEY_BODY_LENGTH = 32;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${KEY_BODY_LENGTH}}$`);

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

export function hashKey(key: string): Promise<string> {
  return sha256Hex(key);
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
