// Bearer API keys: authenticate the caller, then require the route's scope.
import type { MiddlewareHandler } from "hono";
import { hashKey, KEY_PATTERN, type Scope } from "../auth/keys.ts";
import { database } from "../db/client.ts";
import { findKeyByHash, type KeyRecord } from "../db/queries/keys.ts";
import type { AppEnv, Caller, DeferredKeyEnv } from "./context.ts";
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

/** The key in an Authorization header, if it is a Bearer key of ours. */
export function bearerKey(header: string | undefined): string | null {
  const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] && KEY_PATTERN.test(match[1]) ? match[1] : null;
}

/** The SHA-256 of the key in the Authorization header; 401 when it is missing or is not a Bearer key of ours. */
async function presentedKeyHash(header: string | undefined): Promise<string> {
  if (!header) throw unauthorized("This endpoint needs an API key: send `Authorization: Bearer <key>`.", false);
  const key = bearerKey(header);
  if (key === null) throw unauthorized("The Authorization header must be `Bearer <key>` with a key that starts with `pik_`.", true);
  return hashKey(key);
}

/**
 * Admits the caller of `key` (looked up by `hash`) to a route that needs `scope`, or throws 401/403. `setCaller`
 * records the caller on the request's context (whatever else that route's context holds).
 */
export function authorize(setCaller: (caller: Caller) => void, key: KeyRecord | null, hash: string, scope: Scope): void {
  // Unknown and revoked keys get the same answer, so a response never confirms that a key existed.
  if (!key || key.revokedAt !== null || !sameHash(key.keyHash, hash)) {
    throw unauthorized("The API key is not valid or has been revoked.", true);
  }
  setCaller({ tenantId: key.tenantId, keyId: key.id, scopes: key.scopes });
  if (!key.scopes.includes(scope)) {
    throw new ProblemError("insufficient-scope", `This API key lacks the scope "${scope}" that this endpoint requires.`, {
      headers: { "www-authenticate": `${REALM}, error="insufficient_scope", scope="${scope}"` },
      extensions: { required_scope: scope },
    });
  }
}

async function authenticate(db: D1DatabaseSession, setCaller: (caller: Caller) => void, hash: string, scope: Scope): Promise<void> {
  authorize(setCaller, await findKeyByHash(database(db), hash), hash, scope);
}

export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await authenticate(c.var.db, (caller) => c.set("caller", caller), await presentedKeyHash(c.req.header("authorization")), scope);
    await next();
  };
}

/**
 * For a route that looks its key up inside its own D1 batch (saving a round trip): only a well-formed key is
 * required up front, and the handler gets it as `c.var.deferredKey` (its hash and the route's scope, written once in the
 * route spec) to look up and hand to `authorize`. When the request is turned away before that batch runs,
 * `beforeRejecting` completes the check first, so that an unknown key is told 401, never which parameter was wrong.
 */
export function deferredScope(scope: Scope): MiddlewareHandler<AppEnv & DeferredKeyEnv> {
  return async (c, next) => {
    const hash = await presentedKeyHash(c.req.header("authorization"));
    c.set("deferredKey", { hash, scope });
    c.set("beforeRejecting", async () => {
      if (!c.var.caller) await authenticate(c.var.db, (caller) => c.set("caller", caller), hash, scope);
    });
    await next();
  };
}
