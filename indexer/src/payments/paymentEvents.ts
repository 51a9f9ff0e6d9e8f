import type { Address, Hex } from "viem";

/** Where a log sits in the chain: logs are applied in this order, and a log at or before a payment's cursor is a repeat. */
export interface ChainPosition {
  blockNumber: number;
  logIndex: number;
}

export function comparePositions(a: ChainPosition, b: ChainPosition): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}

interface FromChain {
  position: ChainPosition;
  transactionHash: Hex;
}

/** A deposit that left the payment open (`PaymentDeposited`). */
export interface Deposited extends FromChain {
  kind: "deposited";
  payer: Address;
  token: Address;
  amount: bigint;
  valueUsd: bigint;
  receivedUsd: bigint;
  remainingUsd: bigint;
}

/** The deposit that completed the payment (`PaymentCompleted`). */
export interface Completed extends FromChain {
  kind: "completed";
  payer: Address;
  token: Address;
  amount: bigint;
  valueUsd: bigint;
  receivedUsd: bigint;
  excessUsd: bigint;
  fee: bigint;
}

/** The escrow expired the payment (`PaymentExpired`); its deposits are refunded. */
export interface ExpiredOnChain extends FromChain {
  kind: "expired";
  token: Address;
  amount: bigint;
  receivedUsd: bigint;
}

/** A deposit of an expired payment went back (`DepositRefunded`). */
export interface DepositRefunded extends FromChain {
  kind: "deposit_refunded";
  payer: Address;
  to: Address;
  token: Address;
  amount: bigint;
}

/** The merchant refunded part or all of the payment (`PaymentRefunded`). */
export interface Refunded extends FromChain {
  kind: "refunded";
  to: Address;
  token: Address;
  amount: bigint;
  refundedTotal: bigint;
}

/** Funds at the deposit address that could not count were sent back (`StrayReturned`). */
export interface StrayReturned extends FromChain {
  kind: "stray_returned";
  to: Address;
  token: Address;
  amount: bigint;
}

/** A refund could not be pushed and became claimable (`RefundClaimable`). */
export interface RefundClaimable extends FromChain {
  kind: "refund_claimable";
  account: Address;
  token: Address;
  amount: bigint;
}

/**
 * Tokens or BNB arrived at the payment's deposit address, not yet collected into the escrow: a token's `Transfer`
 * log, or (BNB leaves no log) a rise of the address's BNB balance the indexer saw at the end of a block, placed
 * after that block's logs (`NATIVE_ARRIVAL_LOG_INDEX`).
 */
export interface DepositAddressFunded {
  kind: "deposit_address_funded";
  position: ChainPosition;
  /** The transfer's transaction; null for BNB, which a balance shows but no log names. */
  transactionHash: Hex | null;
  token: Address;
  amount: bigint;
  /** Who sent it; the zero address when no log says (BNB). */
  sender: Address;
  /**
   * When it had arrived by: its block's timestamp (seconds). Null when the indexer could not tell the block BNB
   * arrived in (that block's state was pruned) and so cannot say whether it came by the expiry.
   */
  timestamp: bigint | null;
}

/**
 * A token the escrow does not take reached the payment's deposit address (its `Transfer` log): nothing collects it,
 * and the merchant and operator must hear of it.
 */
export interface UnacceptedTransferSeen extends FromChain {
  kind: "unaccepted_transfer";
  token: Address;
  amount: bigint;
  sender: Address;
}

/** Where a BNB arrival seen by balance sits: after every log of its block (no block holds 2^31 logs). */
export const NATIVE_ARRIVAL_LOG_INDEX = 0x7fffffff;

/**
 * The indexer settled the payment: its completion or expiry is confirmed at block `confirmed.number`, and the
 * escrow's own record at that block agreed with what the indexer derived (`settlement.ts`). Only this event moves a
 * payment to `paid`, `expired` or `failed`; it is recorded, so that a payment rebuilt after a reorganisation settles
 * again exactly where it did (a refund asked for after it then still finds it paid).
 */
export interface Settled {
  kind: "settled";
  to: "paid" | "expired" | "failed";
  /** The last confirmed block it was judged at. */
  confirmed: ConfirmedBlock;
}

/** The newest block final under the confirmation policy, and its timestamp: what settlements are judged against. */
export interface ConfirmedBlock {
  number: number;
  timestamp: bigint;
}

/** The customer opened the checkout page. */
export interface CheckoutOpened {
  kind: "checkout_opened";
}

/** A customer's transaction for this payment reverted (reported by the checkout, checked against its receipt). */
export interface TransactionFailed {
  kind: "transaction_failed";
  transactionHash: Hex;
  reason: string;
}

/** The merchant asked for a refund (through the API); the chain's `PaymentRefunded` settles it. */
export interface RefundRequested {
  kind: "refund_requested";
  amount: bigint;
}

/** A requested refund will not happen (its transaction failed or was withdrawn). */
export interface RefundAbandoned {
  kind: "refund_abandoned";
  reason: string;
}

export type ChainPaymentEvent =
  | Deposited
  | Completed
  | ExpiredOnChain
  | DepositRefunded
  | Refunded
  | StrayReturned
  | RefundClaimable
  | DepositAddressFunded
  | UnacceptedTransferSeen;

/** Events that do not come from a block's logs: they are recorded with the block the indexer had reached then. */
export type OffChainPaymentEvent = Settled | CheckoutOpened | TransactionFailed | RefundRequested | RefundAbandoned;

export type PaymentEvent = ChainPaymentEvent | OffChainPaymentEvent;

export function isChainEvent(event: PaymentEvent): event is ChainPaymentEvent {
  return "position" in event;
}
