import { z } from "zod";
import { paymentWebhookEventSchema, withdrawalWebhookEventSchema } from "./apiSchemas";

/** A `$ref` to the component a zod schema with an id becomes in the OpenAPI document. */
function componentRef(schema: z.ZodType): { $ref: string } {
  const id = z.globalRegistry.get(schema)?.id;
  if (!id) throw new Error("only a schema with an id (.meta({ id })) is a component of the OpenAPI document");
  return { $ref: `#/components/schemas/${id}` };
}

/** The Standard Webhooks headers every delivery carries (docs/api.md#webhooks). */
const SIGNATURE_HEADERS = [
  { name: "webhook-id", description: "The event's id (msg_…), the same on every retry and resend: de-duplicate on it." },
  { name: "webhook-timestamp", description: "Seconds since the epoch when the delivery was signed." },
  { name: "webhook-signature", description: "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` under each current secret, space-separated." },
].map((header) => ({ in: "header" as const, required: true, schema: { type: "string" as const }, ...header }));

const RESPONSES = {
  "2XX": { description: "Received, within 15 seconds: the delivery is done." },
  "410": { description: "Gone: the endpoint is disabled at once, and its pending deliveries fail." },
  default: { description: "Any other answer, a redirect, or none within 15 seconds: tried again, 10 attempts over about 3 days." },
};

/** What the gateway POSTs to a merchant's endpoint, as the OpenAPI 3.1 document's `webhooks`: the bodies are typed too. */
function webhook(operationId: string, summary: string, body: z.ZodType) {
  return {
    post: {
      operationId,
      summary,
      description: "Signed per Standard Webhooks: verify the signature over the raw body before trusting it (the SDK's verifyWebhook).",
      tags: ["webhooks"],
      // The signature authenticates the gateway to the merchant; the merchant's API key is not sent.
      security: [],
      parameters: SIGNATURE_HEADERS,
      requestBody: { required: true, content: { "application/json": { schema: componentRef(body) } } },
      responses: RESPONSES,
    },
  };
}

export const WEBHOOKS = {
  payment: webhook("paymentWebhook", "A payment changed (payment.created, payment.completed, payment.expired, …)", paymentWebhookEventSchema),
  "balance.withdrawn": webhook("withdrawalWebhook", "A withdrawal of the escrow balance was confirmed", withdrawalWebhookEventSchema),
};
