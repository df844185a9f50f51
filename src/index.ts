import { createApp } from "./app.ts";
import { readConfig, type Env } from "./config.ts";
import { handleDeadLetters, handleImportBatch } from "./imports/jobs/consumer.ts";
import type { ImportMessage } from "./model/import-message.ts";
import type { WebhookMessage } from "./model/webhook-message.ts";
import { sweep } from "./imports/jobs/sweeper.ts";
import { runDueFeeds } from "./feeds/run.ts";
import { handleWebhookBatch, handleWebhookDeadLetters } from "./webhooks/deliver.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    const config = readConfig(env);
    if (batch.queue === config.importQueueName) await handleImportBatch(batch, env, config);
    else if (batch.queue === config.deadLetterQueueName) await handleDeadLetters(batch, env);
    else if (batch.queue === config.webhookQueueName) await handleWebhookBatch(batch, env, config);
    else if (batch.queue === config.webhookDeadLetterQueueName) await handleWebhookDeadLetters(batch, env);
    // Thrown, so that the messages are retried rather than lost while the configuration is put right.
    else throw new Error(`No consumer for queue "${batch.queue}": IMPORT_QUEUE_NAME, DEAD_LETTER_QUEUE_NAME, WEBHOOK_QUEUE_NAME and WEBHOOK_DEAD_LETTER_QUEUE_NAME in [vars] name the queues this Worker consumes.`);
  },
  async scheduled(_controller, env, ctx) {
    const config = readConfig(env);
    ctx.waitUntil(sweep(env, config));
    ctx.waitUntil(runDueFeeds(env, config));
  },
} satisfies ExportedHandler<Env, ImportMessage | WebhookMessage>;
