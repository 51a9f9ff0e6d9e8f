import { zeroAddress, type Address } from "viem";
import type { Payment } from "./payment";
import type { ConfirmedBlock } from "./paymentEvents";
import { isOpen } from "./statuses";
import { sameAddress } from "./addresses";

/**
 * When a payment may be told `paid`, `expired` or `failed`, and what the escrow's own record must say first. The
 * indexer derives a payment from logs; a provider can lose or invent logs, so before a merchant hears one of these
 * words the escrow is asked at the confirmed block, and a disagreement stops the word (`escrowAgreement`).
 */

/** `IOpenPayEscrow.Status`, by its number on chain. */
export const ESCROW_STATUSES = ["none", "open", "completed", "expired", "partially_refunded", "refunded"] as const;
export type EscrowStatus = (typeof ESCROW_STATUSES)[number];

/** One payment as the escrow records it (`paymentOf`). */
export interface OnChainPayment {
  status: EscrowStatus;
  /** The token it is paid in: the zero address for BNB, and before the first deposit. */
  token: Address;
  /** Token units deposited in total. */
  amount: bigint;
  /** USD received at the prices when each deposit arrived, 18 decimals. */
  receivedUsd: bigint;
  /** Token units the merchant refunded. */
  refunded: bigint;
}

/**
 * What a settlement rests on:
 * - `completed`: the completing deposit's block is confirmed;
 * - `expired_on_chain`: the escrow's `PaymentExpired` block is confirmed;
 * - `nothing_received`: nothing was received and nothing reached the deposit address by the expiry, and a block
 *   after the expiry is confirmed (no deposit can come any more: the escrow refuses them after the expiry, and the
 *   keeper collects late only what arrived in time);
 * - `nothing_collected`: nothing was received and the escrow's late-collect window closed, so nothing can be
 *   deposited any more (funds that reached the deposit address in time and were not collected are strays now).
 */
export type SettlementBasis = "completed" | "expired_on_chain" | "nothing_received" | "nothing_collected";

export interface SettlementDue {
  to: "paid" | "expired" | "failed";
  basis: SettlementBasis;
}

/** The settlement a payment is due once `confirmed` is the newest confirmed block; undefined when none is. */
export function settlementDue(payment: Payment, confirmed: ConfirmedBlock, lateCollectWindow: bigint): SettlementDue | undefined {
  if (payment.status === "confirming") {
    return payment.completedBlock !== null && payment.completedBlock <= confirmed.number ? { to: "paid", basis: "completed" } : undefined;
  }
  if (!isOpen(payment.status)) return undefined;
  if (payment.expiredBlock !== null) {
    return payment.expiredBlock <= confirmed.number ? { to: "expired", basis: "expired_on_chain" } : undefined;
  }
  if (payment.receivedUsd !== 0n) return undefined;
  const to = payment.failedTransactions > 0 ? "failed" : "expired";
  // Once the late-collect window closed, no deposit can come at all: the escrow's record alone decides.
  if (confirmed.timestamp > payment.expiry + lateCollectWindow) return { to, basis: "nothing_collected" };
  // Funds that reached the deposit address in time may still be collected by the operator until the window closes.
  if (payment.fundedByExpiry || confirmed.timestamp <= payment.expiry) return undefined;
  return { to, basis: "nothing_received" };
}

/** What the escrow and the chain say of a payment at the confirmed block. */
export interface OnChainEvidence {
  escrow: OnChainPayment;
  /**
   * For `nothing_received`: what the deposit address held of each accepted token and of BNB (zero address) at the
   * last block at or before the expiry. Absent when the node could not say (the block's state is pruned).
   */
  depositAddressAtExpiry?: ReadonlyArray<{ token: Address; amount: bigint }>;
}

export type Agreement = { agrees: true } | { agrees: false; reason: string };

const PAID_ON_CHAIN = new Set<EscrowStatus>(["completed", "partially_refunded", "refunded"]);
const same = (a: Address | null, b: Address) => sameAddress(a ?? zeroAddress, b);

/** Whether the escrow's record backs the deposits the indexer counted: the same token, units and USD received. */
function sameDeposits(payment: Payment, escrow: OnChainPayment): string | undefined {
  if (!same(payment.token, escrow.token)) return `the escrow says token ${escrow.token}, the logs ${payment.token}`;
  if (escrow.amount !== payment.paidAmount) return `the escrow holds ${escrow.amount} units deposited, the logs ${payment.paidAmount}`;
  if (escrow.receivedUsd !== payment.receivedUsd) return `the escrow says ${escrow.receivedUsd} USD received, the logs ${payment.receivedUsd}`;
  return undefined;
}

/** Whether the evidence agrees with the settlement the indexer derived for the payment; if not, why. */
export function escrowAgreement(payment: Payment, due: SettlementDue, evidence: OnChainEvidence): Agreement {
  const { escrow } = evidence;
  const disagree = (reason: string): Agreement => ({ agrees: false, reason });
  switch (due.basis) {
    case "completed": {
      if (!PAID_ON_CHAIN.has(escrow.status)) return disagree(`the escrow says ${escrow.status}, not completed`);
      const differs = sameDeposits(payment, escrow);
      return differs ? disagree(differs) : { agrees: true };
    }
    case "expired_on_chain": {
      if (escrow.status !== "expired") return disagree(`the escrow says ${escrow.status}, not expired`);
      const differs = sameDeposits(payment, escrow);
      return differs ? disagree(differs) : { agrees: true };
    }
    case "nothing_collected":
      return escrow.status === "none" ? { agrees: true } : disagree(`the escrow says ${escrow.status}: it holds deposits the logs do not`);
    case "nothing_received": {
      if (escrow.status !== "none") return disagree(`the escrow says ${escrow.status}: it holds deposits the logs do not`);
      if (!evidence.depositAddressAtExpiry) return disagree("what the deposit address held at the expiry is not known");
      const held = evidence.depositAddressAtExpiry.find(({ amount }) => amount > 0n);
      return held ? disagree(`the deposit address held ${held.amount} of ${held.token} at the expiry, which the logs do not show`) : { agrees: true };
    }
  }
}

/**
 * Whether the escrow's record of a payment, read at the block the indexer just applied, is what the indexer derived
 * from the logs: the same stage (nothing deposited, open, completed or refunded since, expired) and the same token,
 * units, USD received and refunds; if not, what differs. Any mismatch means a log was missed (a provider answered
 * with part of a block's logs) or invented: the indexer reads the payment's history again.
 */
export function escrowMismatch(payment: Payment, escrow: OnChainPayment): string | undefined {
  const completed = payment.completedBlock !== null;
  const expiring = payment.expiredBlock !== null || (payment.status === "expired" && payment.paidAmount > 0n);
  const stage = (() => {
    switch (escrow.status) {
      case "none":
        return payment.paidAmount === 0n ? undefined : "nothing deposited";
      case "open":
        return payment.paidAmount > 0n && !completed && !expiring ? undefined : "open";
      case "completed":
      case "partially_refunded":
      case "refunded":
        return completed ? undefined : "completed";
      case "expired":
        return expiring ? undefined : "expired";
    }
  })();
  if (stage) return `the escrow says ${stage} (${escrow.status}), the logs say ${payment.status}`;
  if (escrow.status === "none") return undefined;
  const differs = sameDeposits(payment, escrow);
  if (differs) return differs;
  if (escrow.refunded !== payment.refundedAmount) return `the escrow says ${escrow.refunded} units refunded, the logs ${payment.refundedAmount}`;
  return undefined;
}
