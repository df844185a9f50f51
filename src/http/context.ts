import type { Scope } from "../auth/keys.ts";
import type { Env } from "../config.ts";

export interface Caller {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's D1 session (Sessions API): replica reads, read-your-writes via bookmarks. */
    db: D1DatabaseSession;
    caller: Caller;
    /** SHA-256 of the presented key, for routes that authorize inside their own D1 batch. */
    keyHash: string;
    /** The request sent an x-d1-bookmark that is not one; its route rejects it after authentication. */
    invalidBookmark: boolean;
  };
}
