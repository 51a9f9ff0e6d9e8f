import { ESCROW_STATUSES, type EscrowStatus } from "../../../src/payments/settlement";
import { heldApart, type ModelPayment } from "../simulatedChain/modelEscrow";
import type { Outcome } from "./storedTruth";

/** Units of one token. */
export interface Held {
  /** Lowercase. */
  token: string;
  amount: bigint;
}

/**
 * A payment as the escrow records it at the final head: `paymentOf` and `refundedOf`, and what `depositOf` says its
 * payers still have in its other tokens.
 */
export interface EscrowRecord {
  status: EscrowStatus;
  token: string;
  amount: bigint;
  receivedUsd: bigint;
  refunded: bigint;
  /**
   * Units deposited in tokens other than the record's and not sent back yet, by token (lowercase, sorted, none
   * empty): the deposits in its other accepted tokens, refundable to their payers once it is paid or expired.
   */
  otherDeposits: Held[];
}

/** Amounts by token as one line (`token:amount`, by token, without the empty ones): how outcomes compare them. */
export function heldText(held: readonly { token: string; amount: bigint }[]): string {
  return held
    .filter(({ amount }) => amount !== 0n)
    .map(({ token, amount }) => `${token.toLowerCase()}:${amount}`)
    .sort()
    .join(",");
}

/** The model escrow's record of a payment (none when it never held a deposit). */
export function modelRecord(payment: ModelPayment | undefined): EscrowRecord {
  if (!payment) return { status: "none", token: "0x0000000000000000000000000000000000000000", amount: 0n, receivedUsd: 0n, refunded: 0n, otherDeposits: [] };
  return {
    status: ESCROW_STATUSES[payment.status],
    token: payment.token,
    amount: payment.amount,
    receivedUsd: payment.receivedUsd,
    refunded: payment.refunded,
    otherDeposits: heldApart(payment),
  };
}

const PAID_ON_CHAIN: Record<string, string> = { completed: "paid", partially_refunded: "partially_refunded", refunded: "refunded" };

/**
 * What the indexer must say of a payment once the chain settled, from the escrow's record alone (an oracle that
 * shares no code with the indexer): completed → paid (or partially refunded, refunded); expired on chain → expired;
 * never deposited → expired, its time and late-collect window having passed; still open → pending. Amounts are the
 * escrow's; the excess is what completed beyond the price; what it holds in its other tokens is what their payers
 * were not sent back yet.
 */
export function escrowOutcome(record: EscrowRecord, amountUsd: bigint): Outcome {
  if (record.status === "none")
    return { status: "expired", receivedUsd: 0n, paidAmount: 0n, excessUsd: 0n, refundedAmount: 0n, token: null, otherDeposits: "" };
  const completed = record.status in PAID_ON_CHAIN;
  return {
    status: PAID_ON_CHAIN[record.status] ?? (record.status === "expired" ? "expired" : "pending"),
    receivedUsd: record.receivedUsd,
    paidAmount: record.amount,
    excessUsd: completed && record.receivedUsd > amountUsd ? record.receivedUsd - amountUsd : 0n,
    refundedAmount: record.refunded,
    token: record.token.toLowerCase(),
    otherDeposits: heldText(record.otherDeposits),
  };
}
