import type { D1Migration } from "cloudflare:test";
import type { Env as AppBindings } from "../src/config.ts";

declare global {
  namespace Cloudflare {
    interface Env extends AppBindings {
      TEST_MIGRATIONS: D1Migration[];
      /** The static assets (wrangler.toml [assets]): the Worker does not read them, tests check what /docs loads. */
      ASSETS: Fetcher;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index.ts");
    }
  }
}
