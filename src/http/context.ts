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

/** What deferredScope adds to its route's context: typed present on that route's handler only (see apiRoute). */
export interface DeferredKeyEnv {
  Variables: { deferredKey: DeferredKey };
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's D1 session (Sessions API): replica reads, read-your-writes via bookmarks. */
    db: D1DatabaseSession;
    caller: Caller;
    /** What must still happen before the request is rejected as invalid (a deferred key check: 401 before 400). */
    beforeRejecting?: () => Promise<void>;
    /** The request sent an x-d1-bookmark that is not one; its route rejects it after authentication. */
    invalidBookmark: boolean;
  };
}
