import type { Address, Hex } from "viem";
import type { ChainPosition } from "./paymentEvents";
import type { PaymentStatus } from "./statuses";

/** What the indexer knows of one payment: the status machine's state. Amounts are exact integers. */
export interface Payment {
  id: Hex;
  status: PaymentStatus;
  /** The status before the last change; null until the first change. */
  previousStatus: PaymentStatus | null;
  /** Number of status changes so far: the sequence number of the last one (0 when created). */
  sequence: number;
  /** The price, USD with 18 decimals. */
  amountUsd: bigint;
  /** Unix time (seconds) after which deposits revert. */
  expiry: bigint;
  /** USD value received, at the prices when each deposit arrived. */
  receivedUsd: bigint;
  /** USD still to pay (0 once complete). */
  remainingUsd: bigint;
  /** USD received beyond the price (overpayment), credited to the merchant. */
  excessUsd: bigint;
  /** The token it is paid in; null before the first deposit. */
  token: Address | null;
  /** Token units deposited in total. */
  paidAmount: bigint;
  /** Platform fee taken on completion, in token units. */
  fee: bigint;
  /** Token units the merchant refunded so far. */
  refundedAmount: bigint;
  /** Token units of the merchant's refund asked for and not yet seen on chain. */
  refundRequested: bigint;
  /** Token units of deposits sent back after expiry. */
  depositsReturned: bigint;
  /**
   * Block of the deposit that completed the payment. Its confirmations are not kept: they follow from this block and
   * the indexer's checkpoint (`confirmationsOf`), and storing them would rewrite every confirming payment each block.
   */
  completedBlock: number | null;
  /** Whether funds wait at the deposit address for the keeper to collect them. */
  depositAddressFunded: boolean;
  /** Transactions of the customer that reverted (they fail the payment only if nothing else pays it). */
  failedTransactions: number;
  /** The last chain event applied: later deliveries at or before it are repeats. */
  cursor: ChainPosition | null;
}

/** A payment as created: initiated, nothing received. */
export function newPayment({ id, amountUsd, expiry }: { id: Hex; amountUsd: bigint; expiry: bigint }): Payment {
  return {
    id,
    status: "initiated",
    previousStatus: null,
    sequence: 0,
    amountUsd,
    expiry,
    receivedUsd: 0n,
    remainingUsd: amountUsd,
    excessUsd: 0n,
    token: null,
    paidAmount: 0n,
    fee: 0n,
    refundedAmount: 0n,
    refundRequested: 0n,
    depositsReturned: 0n,
    completedBlock: null,
    depositAddressFunded: false,
    failedTransactions: 0,
    cursor: null,
  };
}
