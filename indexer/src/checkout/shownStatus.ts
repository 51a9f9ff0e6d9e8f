import type { Payment } from "../payments/payment";
import { isOpen, type PaymentStatus } from "../payments/statuses";

/**
 * The status a shopper is shown. The merchant hears `expired` once a block after the expiry is confirmed, the escrow
 * agreeing; the shopper needs no such proof that the time is up: a payment that received nothing, and whose deposit
 * address received nothing by the expiry, shows expired as soon as the chain's time (the newest block the indexer
 * applied) passes it. Funds sent after it are strays the keeper returns, so nothing is lost by saying so at once.
 */
export function shownStatus(payment: Payment, chainTime: bigint | undefined): PaymentStatus {
  if (isOpen(payment.status) && payment.receivedUsd === 0n && !payment.fundedByExpiry && chainTime !== undefined && chainTime > payment.expiry)
    return "expired";
  return payment.status;
}
