import type { PaymentEvent } from "../payments/paymentEvents";

/** The integer fields of payment events: stored as decimal strings, since JSON numbers cannot hold them. */
const BIGINT_FIELDS = new Set(["amount", "valueUsd", "receivedUsd", "remainingUsd", "excessUsd", "fee", "refundedTotal", "timestamp"]);

/** JSON of a value whose integers may be bigints, written as decimal strings. */
export function jsonWithBigints(value: unknown): string {
  return JSON.stringify(value, (_key, field) => (typeof field === "bigint" ? field.toString() : field));
}

/** An event as the JSON kept in payment_events.data. */
export function eventToData(event: PaymentEvent): string {
  return jsonWithBigints(event);
}

/** The event back from payment_events.data (a jsonb value or its text). */
export function eventFromData(data: unknown): PaymentEvent {
  const object = typeof data === "string" ? JSON.parse(data) : data;
  return JSON.parse(JSON.stringify(object), (key, value) => (BIGINT_FIELDS.has(key) && typeof value === "string" ? BigInt(value) : value));
}
