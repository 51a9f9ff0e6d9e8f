import { Webhook } from "standardwebhooks";

/** The three Standard Webhooks headers of one delivery. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs a delivery exactly as the Standard Webhooks spec says (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`),
 * with the `standardwebhooks` package merchants verify with. During a secret's rotation both secrets sign, their
 * signatures separated by a space, so that the receiver accepts whichever secret it has deployed.
 */
export function signDelivery({ id, body, secrets, at = new Date() }: { id: string; body: string; secrets: readonly string[]; at?: Date }): WebhookHeaders {
  const timestamp = Math.floor(at.getTime() / 1000);
  const signature = secrets.map((secret) => new Webhook(secret).sign(id, new Date(timestamp * 1000), body)).join(" ");
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
}
