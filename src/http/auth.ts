// Bearer API keys: authenticate the caller, then require the route's scope.
import type { Context, MiddlewareHandler } from "hono";
import { hashKey, KEY_PATTERN, type Scope } from "../auth/keys.ts";
import { database } from "../db/client.ts";
import { findKeyByHash, type KeyRecord } from "../db/queries/keys.ts";
import type { AppEnv, DeferredKey } from "./context.ts";
import { ProblemError } from "./problem.ts";

const REALM = 'Bearer realm="product-import-api"';

function unauthorized(detail: string, tokenPresented: boolean): ProblemError {
  return new ProblemError("unauthorized", detail, {
    headers: { "www-authenticate": tokenPresented ? `${REALM}, error="invalid_token"` : REALM },
  });
}

function sameHash(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/** The SHA-256 of the presented key; 401 when the header is missing or is not a Bearer key of ours. */
async function presentedKeyHash(c: Context<AppEnv>): Promise<string> {
  const header = c.req.header("authorization");
  if (!header) throw unauthorized("This endpoint needs an API key: send `Authorization: Bearer <key>`.", false);
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match?.[1] || !KEY_PATTERN.test(match[1])) {
    throw unauthorized("The Authorization header must be `Bearer <key>` with a key that starts with `pik_`.", true);
  }
  return hashKey(match[1]);
}

/** Admits the caller of `key` (looked up by `hash`) to a route that needs `scope`, or throws 401/403. */
export function authorize(c: Context<AppEnv>, key: KeyRecord | null, hash: string, scope: Scope): void {
  // Unknown and revoked keys get the same answer, so a response never confirms that a key existed.
  if (!key || key.revokedAt !== null || !sameHash(key.keyHash, hash)) {
    throw unauthorized("The API key is not valid or has been revoked.", true);
  }
  c.set("caller", { tenantId: key.tenantId, keyId: key.id, scopes: key.scopes });
  if (!key.scopes.includes(scope)) {
    throw new ProblemError("insufficient-scope", `This API key lacks the scope "${scope}" that this endpoint requires.`, {
      headers: { "www-authenticate": `${REALM}, error="insufficient_scope", scope="${scope}"` },
      extensions: { required_scope: scope },
    });
  }
}

async function authenticate(c: Context<AppEnv>, hash: string, scope: Scope): Promise<void> {
  authorize(c, await findKeyByHash(database(c.var.db), hash), hash, scope);
}

export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await authenticate(c, await presentedKeyHash(c), scope);
    await next();
  };
}

/**
 * For a route that looks its key up inside its own D1 batch (saving a round trip): only a well-formed key is
 * required up front, and the handler gets it as `deferredKey` (its hash and the route's scope, written once in the
 * route spec) to look up and hand to `authorize`. When the request is turned away before that batch runs,
 * `beforeRejecting` completes the check first, so that an unknown key is told 401, never which parameter was wrong.
 */
export function deferredScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const hash = await presentedKeyHash(c);
    c.set("deferredKey", { hash, scope });
    c.set("beforeRejecting", async () => {
      if (!c.var.caller) await authenticate(c, hash, scope);
    });
    await next();
  };
}

/** The key a route behind deferredScope still has to check. */
export function deferredKey(c: Context<AppEnv>): DeferredKey {
  const key = c.var.deferredKey;
  if (!key) throw new Error("deferredKey() is for routes with authorizeInHandler, whose middleware sets it");
  return key;
}

