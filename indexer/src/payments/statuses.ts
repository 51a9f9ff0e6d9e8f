/**
 * The statuses of a payment (docs/api.md carries the mapping to other gateways' names):
 *
 * - `initiated`: created, the customer has not opened the checkout
 * - `pending`: checkout opened, or part of the amount received (underpaid)
 * - `confirming`: the full value is on chain, waiting for confirmations
 * - `paid`: confirmed and settled to the merchant's balance
 * - `failed`: the payer's transaction reverted or the escrow rejected it
 * - `expired`: the time ran out before full payment; partial deposits refunded
 * - `refunding` / `refunded` / `partially_refunded`: a merchant's refund of a paid payment
 */
export const PAYMENT_STATUSES = ["initiated", "pending", "confirming", "paid", "failed", "expired", "refunding", "refunded", "partially_refunded"] as const;

export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** Statuses in which a payment still waits for its money: created, or its checkout opened or part of it paid. */
export const OPEN_STATUSES = ["initiated", "pending"] as const satisfies readonly PaymentStatus[];

/** Whether a payment in `status` still takes deposits: neither complete, failed nor expired (nor refunded). */
export function isOpen(status: string): boolean {
  return (OPEN_STATUSES as readonly string[]).includes(status);
}

/** Statuses a payment ends in: nothing the customer does changes them (a merchant may still refund a paid one). */
export const FINAL_STATUSES: ReadonlySet<PaymentStatus> = new Set(["paid", "failed", "expired", "refunded"]);

/**
 * Every status change the machine may make, from → to. A reorganisation may also take a payment back from
 * `confirming` to `pending` or `initiated`; those moves are listed too, because the machine makes them only when
 * the chain dropped the deposit that completed the payment.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  initiated: ["pending", "confirming", "failed", "expired"],
  pending: ["confirming", "failed", "expired"],
  confirming: ["paid", "pending", "initiated"],
  paid: ["refunding", "refunded", "partially_refunded"],
  failed: [],
  expired: [],
  refunding: ["refunded", "partially_refunded", "paid"],
  partially_refunded: ["refunding", "refunded", "partially_refunded"],
  refunded: [],
};

export function isAllowedTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}
