import type { Address, Hex } from "viem";
import type { ChainPosition } from "./paymentEvents";
import type { PaymentStatus } from "./statuses";

/** What the indexer knows of one payment: the status machine's state. Amounts are exact integers. */
export interface Payment {
  id: Hex;
  status: PaymentStatus;
  /** The status before the last change; null until the first change. */
  previousStatus: PaymentStatus | null;
  /**
   * Number of changes announced so far, of its status or of the money it received, returned or was refunded: the
   * sequence number of the last one (0 when created).
   */
  sequence: number;
  /** The price, USD with 18 decimals. */
  amountUsd: bigint;
  /** Unix time (seconds) after which deposits revert. */
  expiry: bigint;
  /** Where a plain transfer pays it: the escrow collects from here with this address as the payer. */
  depositAddress: Address;
  /** USD value received, at the prices when each deposit arrived. */
  receivedUsd: bigint;
  /** USD still to pay (0 once complete). */
  remainingUsd: bigint;
  /** USD received beyond the price (overpayment), credited to the merchant. */
  excessUsd: bigint;
  /** The tokens its intent accepts (the escrow takes deposits in no other). */
  acceptedTokens: readonly Address[];
  /**
   * The token it is paid in, as the escrow records it: while open the token of its first deposit, once paid the
   * token that paid it; null before the first deposit.
   */
  token: Address | null;
  /** Token units deposited in total in `token`. */
  paidAmount: bigint;
  /**
   * Token units deposited in its other accepted tokens and not yet sent back: each token adds up apart (one of
   * them may still pay it while it is open); once it is paid or expired they are refunded to their payers.
   */
  otherDeposits: readonly TokenAmount[];
  /** Platform fee taken on completion, in token units. */
  fee: bigint;
  /** Token units the merchant refunded so far. */
  refundedAmount: bigint;
  /** Token units of the merchant's refund asked for and not yet seen on chain. */
  refundRequested: bigint;
  /** Token units of deposits sent back after expiry. */
  depositsReturned: bigint;
  /** Money sent back to customers, in chain order: deposits of an expired payment, and the merchant's refunds. */
  refunds: readonly Refund[];
  /** Transfers the escrow sent back because they could not pay the payment, in chain order. */
  returnedTransfers: readonly ReturnedTransfer[];
  /** Transfers to the deposit address of tokens the escrow does not take, in chain order. */
  unacceptedTransfers: readonly UnacceptedTransfer[];
  /**
   * Block of the deposit that completed the payment. Its confirmations are not kept: they follow from this block and
   * the indexer's checkpoint (`confirmationsOf`), and storing them would rewrite every confirming payment each block.
   */
  completedBlock: number | null;
  /**
   * Block of the escrow's `PaymentExpired`, until the payment is settled expired: like a completion, an expiry on
   * chain counts only once its block is confirmed.
   */
  expiredBlock: number | null;
  /** Whether funds wait at the deposit address for the keeper to collect them. */
  depositAddressFunded: boolean;
  /**
   * Whether funds the payment could take reached its deposit address by the expiry (or at a time the indexer could
   * not tell): only then may the keeper still collect them after the expiry, so only then does a payment with
   * nothing received wait for the late-collect window before it expires.
   */
  fundedByExpiry: boolean;
  /** BNB the indexer believes waits at the deposit address (arrivals less what the escrow took): BNB leaves no log. */
  nativeWaiting: bigint;
  /** Transactions of the customer that reverted (they fail the payment only if nothing else pays it). */
  failedTransactions: number;
  /** The last chain event applied: later deliveries at or before it are repeats. */
  cursor: ChainPosition | null;
}

/** An amount of one token. */
export interface TokenAmount {
  token: Address;
  amount: bigint;
}

/**
 * A refund: `expiry`, a deposit of a payment that expired sent back (`DepositRefunded`); `merchant`, the merchant's
 * refund of a paid payment (`PaymentRefunded`). `claimable` when the escrow could not push it and holds it for the
 * receiver to claim (`RefundClaimable`).
 */
export interface Refund {
  kind: "expiry" | "merchant";
  token: Address;
  amount: bigint;
  to: Address;
  transactionHash: Hex;
  claimable: boolean;
}

/**
 * Why a transfer went back, as the indexer can tell it when the escrow returned it:
 * - `token_not_supported`: a token the escrow takes for no payment;
 * - `token_not_accepted`: a token the escrow takes, but not one this payment's intent offers;
 * - `already_paid`: the payment was already paid (a second payment, or a top-up after it completed);
 * - `paid_in_other_token`: a deposit in another of its tokens, left over when another token completed it;
 * - `after_expiry`: it arrived after the payment's expiry (or the late-collect window).
 */
export const RETURN_REASONS = ["token_not_supported", "token_not_accepted", "already_paid", "paid_in_other_token", "after_expiry"] as const;
export type ReturnReason = (typeof RETURN_REASONS)[number];

/**
 * A transfer the escrow sent back: `from` is where the money was held (the deposit's payer, or the deposit address for
 * a transfer that never became a deposit), `to` who received it (or may claim it, when `claimable`).
 */
export interface ReturnedTransfer {
  reason: ReturnReason;
  token: Address;
  amount: bigint;
  from: Address;
  to: Address;
  transactionHash: Hex;
  claimable: boolean;
}

/**
 * A transfer of a token the escrow does not take: nothing can collect it, the keeper does not send it back (see
 * docs/operations.md), so it waits for the operator until a `returnStray` of that token (`returnedBy`).
 */
export interface UnacceptedTransfer {
  token: Address;
  amount: bigint;
  sender: Address;
  transactionHash: Hex;
  /** The operator's transaction that sent it back; null while it needs the operator. */
  returnedBy: Hex | null;
}

/** A payment as created: initiated, nothing received. */
export function newPayment({
  id,
  amountUsd,
  expiry,
  depositAddress,
  acceptedTokens,
}: {
  id: Hex;
  amountUsd: bigint;
  expiry: bigint;
  depositAddress: Address;
  acceptedTokens: readonly Address[];
}): Payment {
  return {
    id,
    depositAddress,
    acceptedTokens,
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
    otherDeposits: [],
    fee: 0n,
    refundedAmount: 0n,
    refundRequested: 0n,
    depositsReturned: 0n,
    refunds: [],
    returnedTransfers: [],
    unacceptedTransfers: [],
    completedBlock: null,
    expiredBlock: null,
    depositAddressFunded: false,
    fundedByExpiry: false,
    nativeWaiting: 0n,
    failedTransactions: 0,
    cursor: null,
  };
}
