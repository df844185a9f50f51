/** A message of the webhook-deliveries queue: one attempt (and its retries) of one delivery. */
export interface WebhookMessage {
  deliveryId: string;
}

export function isWebhookMessage(body: unknown): body is WebhookMessage {
  return typeof (body as Partial<WebhookMessage> | null)?.deliveryId === "string";
}
