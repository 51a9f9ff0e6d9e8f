import { Webhook, WebhookVerificationError as StandardWebhookError } from "standardwebhooks";
import { WebhookVerificationError } from "./errors";
import type { WebhookEvent } from "./types";

/**
 * The request headers as any Node framework hands them over: a fetch `Headers`, Node's `IncomingHttpHeaders`
 * (lowercase names, string or string[] values), or a plain object with names in any case.
 */
export type WebhookRequestHeaders =
  | { get(name: string): string | null }
  | Readonly<Partial<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>>>
  | Readonly<Record<string, string | string[] | undefined>>;

const HEADER_NAMES = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

function headerOf(headers: WebhookRequestHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(headers as Readonly<Record<string, string | string[] | undefined>>)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

/**
 * Verifies a webhook delivery per Standard Webhooks (with the `standardwebhooks` package) and returns its event.
 *
 * - `body`: the **raw** request body (string or bytes), not a re-serialised object: with Express use
 *   `express.raw({ type: "application/json" })`.
 * - `secret`: the endpoint's `whsec_…` secret; during a rotation you may pass both the new and the old one.
 *
 * Throws `WebhookVerificationError` (answer 400) when a header is missing, no signature matches, the
 * `webhook-timestamp` is more than 5 minutes from this machine's clock, or the body is not an Open Pay event.
 * Deliveries come at least once: de-duplicate by the `webhook-id` header, and drop an event whose
 * `data.sequence` is lower than one already processed for the payment.
 */
export function verifyWebhook(body: string | Uint8Array, headers: WebhookRequestHeaders, secret: string | readonly string[]): WebhookEvent {
  const payload = typeof body === "string" ? body : new TextDecoder().decode(body);
  const found: Record<string, string> = {};
  for (const name of HEADER_NAMES) {
    const value = headerOf(headers, name);
    if (!value) throw new WebhookVerificationError("missing_header", `webhook: the ${name} header is missing`);
    found[name] = value;
  }
  const secrets = typeof secret === "string" ? [secret] : [...secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new TypeError("verifyWebhook: the endpoint's whsec_… secret is required");
  }

  let parsed: unknown;
  let verified = false;
  for (const candidate of secrets) {
    try {
      parsed = new Webhook(candidate).verify(payload, found);
      verified = true;
      break;
    } catch (error) {
      if (error instanceof SyntaxError) {
        throw new WebhookVerificationError("invalid_payload", "webhook: the signed body is not JSON");
      }
      if (!(error instanceof StandardWebhookError)) throw error;
      if (/timestamp too (old|new)/i.test(error.message)) {
        const seconds = Number(found["webhook-timestamp"]);
        const age = Math.round(Date.now() / 1000 - seconds);
        throw new WebhookVerificationError(
          "stale_timestamp",
          `webhook: webhook-timestamp ${found["webhook-timestamp"]} is ${Math.abs(age)} s ${age > 0 ? "old" : "in the future"}, ` +
            "beyond the 5-minute tolerance (a replayed delivery, or this machine's clock is off)",
        );
      }
      if (/invalid signature headers/i.test(error.message)) {
        throw new WebhookVerificationError("missing_header", `webhook: webhook-timestamp ${JSON.stringify(found["webhook-timestamp"])} is not Unix seconds`);
      }
      // "No matching signature found": try the next secret.
    }
  }
  if (!verified) {
    throw new WebhookVerificationError(
      "bad_signature",
      "webhook: no signature matches the body with this secret (the body was altered or re-serialised, or the secret is not this endpoint's)",
    );
  }

  const event = parsed as Partial<WebhookEvent> | undefined;
  if (
    !event ||
    typeof event !== "object" ||
    typeof event.type !== "string" ||
    typeof event.timestamp !== "string" ||
    !event.data ||
    (event.data as { object?: unknown }).object !== (event.type.startsWith("balance.") ? "withdrawal" : "payment")
  ) {
    throw new WebhookVerificationError(
      "invalid_payload",
      "webhook: the signed body is not an Open Pay event ({type, timestamp, data: payment}, or data: withdrawal for balance.withdrawn)",
    );
  }
  return event as WebhookEvent;
}
