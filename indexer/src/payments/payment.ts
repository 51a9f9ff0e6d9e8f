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
    completedBlock: null,
    expiredBlock: null,
    depositAddressFunded: false,
    fundedByExpiry: false,
    nativeWaiting: 0n,
    failedTransactions: 0,
    cursor: null,
  };
}
