import { createHmac } from "node:crypto";

/** The three Standard Webhooks headers of one delivery. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

const SECRET_PREFIX = "whsec_";

/** Secrets' keys, decoded once: a worker signs with the same few secrets thousands of times a second. */
const keys = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
    if (key.length === 0) throw new Error("Secret can't be empty.");
    if (keys.size >= 10_000) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/**
 * Signs a delivery exactly as the Standard Webhooks spec says (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`), the
 * same signature as the `standardwebhooks` package merchants verify with (signing.test.ts), computed with Node's
 * native HMAC rather than that package's JavaScript SHA-256 (several times the CPU per delivery). During a secret's
 * rotation both secrets sign, their signatures separated by a space, so that the receiver accepts whichever secret it
 * has deployed.
 */
export function signDelivery({ id, body, secrets, at = new Date() }: { id: string; body: string; secrets: readonly string[]; at?: Date }): WebhookHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = secrets.map((secret) => `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestamp}.`).update(body).digest("base64")}`).join(" ");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}
