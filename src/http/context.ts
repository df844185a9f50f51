import type { Scope } from "../auth/keys.ts";
import type { Env } from "../config.ts";

export interface Caller {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
}

/** The key of a route that checks it inside its own D1 batch (http/auth.ts deferredScope): its hash and the route's scope. */
export interface DeferredKey {
  hash: string;
  scope: Scope;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's D1 session (Sessions API): replica reads, read-your-writes via bookmarks. */
    db: D1DatabaseSession;
    caller: Caller;
    /** Set only on routes with authorizeInHandler (read it with deferredKey()). */
    deferredKey?: DeferredKey;
    /** What must still happen before the request is rejected as invalid (a deferred key check: 401 before 400). */
    beforeRejecting?: () => Promise<void>;
    /** The request sent an x-d1-bookmark that is not one; its route rejects it after authentication. */
    invalidBookmark: boolean;
  };
}
