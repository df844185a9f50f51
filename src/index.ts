import { createApp } from "./app.ts";
import type { Env } from "./config.ts";
import type { ImportMessage } from "./imports/messages.ts";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env, ImportMessage>;
