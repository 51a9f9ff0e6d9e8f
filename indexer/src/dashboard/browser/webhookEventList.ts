/**
 * Webhook events as the dashboard lists them, with each delivery and its attempts: a payment's page shows its own
 * events, the Webhooks section every event (with `actions` beside each delivery: its detail, a resend). The shape is
 * the API's event resource (ledger/webhookEventJson.ts).
 */
import { element } from "./elements";

export interface WebhookAttempt {
  attempt: number;
  at: string;
  duration_ms: number;
  response_status: number | null;
  error: string | null;
  signature: string | null;
  response_excerpt: string | null;
}

export interface WebhookDelivery {
  endpoint_id: string;
  status: string;
  next_attempt_at: string | null;
  last_error: string | null;
  attempts: WebhookAttempt[];
}

export interface WebhookEvent {
  id: string;
  type: string;
  payment_id: string;
  sequence: number;
  created_at: string;
  data: unknown;
  deliveries: WebhookDelivery[];
}

export const time = (iso: string) => element("time", { datetime: iso }, new Date(iso).toLocaleString());

/** One attempt in a line: when, its number, the response's status (or none) and latency, and what went wrong. */
export const attemptLine = (attempt: WebhookAttempt) =>
  element(
    "li",
    {},
    time(attempt.at),
    ` attempt ${attempt.attempt}: ${attempt.response_status === null ? "no response" : `HTTP ${attempt.response_status}`} in ${attempt.duration_ms} ms`,
    attempt.error ? ` (${attempt.error})` : "",
  );

/** The events as a list; `actions` adds controls after each delivery's line. */
export function webhookEventList(
  events: readonly WebhookEvent[],
  actions: (event: WebhookEvent, delivery: WebhookDelivery) => Array<Node | string> = () => [],
  id = "webhook-events",
): HTMLUListElement {
  return element(
    "ul",
    { id, class: "events" },
    ...events.map((event) =>
      element(
        "li",
        { "data-event": event.id, "data-type": event.type },
        element("strong", {}, event.type),
        ` #${event.sequence}, `,
        time(event.created_at),
        element(
          "ul",
          {},
          ...event.deliveries.map((delivery) =>
            element(
              "li",
              { class: "delivery", "data-status": delivery.status, "data-endpoint": delivery.endpoint_id },
              `To ${delivery.endpoint_id}: ${delivery.status}`,
              delivery.next_attempt_at ? element("span", {}, ", next try ", time(delivery.next_attempt_at)) : null,
              ...actions(event, delivery),
              element("ol", { class: "attempts" }, ...delivery.attempts.map(attemptLine)),
            ),
          ),
        ),
      ),
    ),
  );
}
