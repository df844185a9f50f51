import { createApp } from "./app.ts";
import { readConfig, type Env } from "./config.ts";
import { handleDeadLetters, handleImportBatch } from "./imports/consumer.ts";
import type { ImportMessage } from "./imports/messages.ts";
import { sweep } from "./imports/sweeper.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    // The dead-letter queue is named after the import queue with a -dlq suffix (wrangler.toml).
    if (batch.queue.endsWith("-dlq")) await handleDeadLetters(batch, env);
    else await handleImportBatch(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweep(env, readConfig(env)));
  },
} satisfies ExportedHandler<Env, ImportMessage>;
