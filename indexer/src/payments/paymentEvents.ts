import type { Address, Hex } from "viem";
import type { ChainHead } from "../chain/confirmations";

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

/** Tokens or BNB arrived at the payment's deposit address, not yet collected into the escrow. */
export interface DepositAddressFunded extends FromChain {
  kind: "deposit_address_funded";
  token: Address;
  amount: bigint;
}

/** The chain moved: confirmations and the payment's time limit are judged against it. */
export interface HeadAdvanced {
  kind: "head";
  head: ChainHead;
  /** The head block's timestamp (seconds). */
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
  | DepositAddressFunded;

export type PaymentEvent = ChainPaymentEvent | HeadAdvanced | CheckoutOpened | TransactionFailed | RefundRequested | RefundAbandoned;

export function isChainEvent(event: PaymentEvent): event is ChainPaymentEvent {
  return "position" in event;
}
