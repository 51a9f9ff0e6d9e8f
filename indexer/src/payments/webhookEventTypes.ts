import type { PaymentStatus } from "./statuses";
import type { ChangeReason } from "./statusMachine";

/** The events of a payment: each announces a change of it (`eventTypeOf`) or its creation. */
export const PAYMENT_EVENT_TYPES = [
  "payment.created",
  "payment.pending",
  "payment.underpaid",
  "payment.confirming",
  "payment.completed",
  "payment.failed",
  "payment.expired",
  "payment.refunding",
  "payment.refunded",
  "payment.refund_abandoned",
  "payment.transfer_returned",
  "payment.transfer_unaccepted",
  "payment.reverted",
] as const;

/** The events of the merchant's escrow balance: a withdrawal, once confirmed (docs/webhooks.md). */
export const BALANCE_EVENT_TYPES = ["balance.withdrawn"] as const;

/** The events a merchant can subscribe an endpoint to. */
export const WEBHOOK_EVENT_TYPES = [...PAYMENT_EVENT_TYPES, ...BALANCE_EVENT_TYPES] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A status change as the outbox carries it; `null` is the payment's creation. */
export interface ChangeSummary {
  from: PaymentStatus;
  to: PaymentStatus;
  reason: ChangeReason;
}

/**
 * The event a change announces. Merchants think in outcomes rather than statuses: a partial deposit is
 * `payment.underpaid`, paid is `payment.completed`, a refund (the merchant's, or an expired payment's deposit sent
 * back; also one that leaves the status as it was, or one that became claimable) is `payment.refunded`, a transfer
 * the escrow sent back because it could not pay the payment is `payment.transfer_returned`, a token the escrow does
 * not take reaching the deposit address is `payment.transfer_unaccepted`, and a deposit or refund the chain took
 * back is `payment.reverted` whatever the status it left.
 */
export function eventTypeOf(change: ChangeSummary | null): (typeof PAYMENT_EVENT_TYPES)[number] {
  if (change === null) return "payment.created";
  if (change.reason === "chain_reorganised") return "payment.reverted";
  switch (change.reason) {
    case "refunded":
    case "deposit_refunded":
    case "refund_claimable":
      return "payment.refunded";
    case "deposit_returned":
    case "stray_returned":
    case "return_claimable":
      return "payment.transfer_returned";
    case "unaccepted_transfer":
      return "payment.transfer_unaccepted";
  }
  switch (change.to) {
    case "initiated":
      return "payment.reverted";
    case "pending":
      return change.reason === "deposit" ? "payment.underpaid" : "payment.pending";
    case "confirming":
      return "payment.confirming";
    case "paid":
      return change.reason === "refund_abandoned" ? "payment.refund_abandoned" : "payment.completed";
    case "failed":
      return "payment.failed";
    case "expired":
      return "payment.expired";
    case "refunding":
      return "payment.refunding";
    case "refunded":
    case "partially_refunded":
      return change.reason === "refund_abandoned" ? "payment.refund_abandoned" : "payment.refunded";
  }
}
