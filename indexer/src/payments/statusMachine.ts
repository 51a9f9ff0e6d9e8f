import type { Hex } from "viem";
import { isConfirmed, type ConfirmationPolicy } from "../chain/confirmations";
import type { Payment } from "./payment";
import { comparePositions, isChainEvent, type ChainPaymentEvent, type PaymentEvent } from "./paymentEvents";
import { isAllowedTransition, type PaymentStatus } from "./statuses";

/** Why a status changed; merchants see it in the payment's history and its webhooks. */
export type ChangeReason =
  | "checkout_opened"
  | "deposit"
  | "deposit_address_funded"
  | "full_value_received"
  | "confirmed"
  | "expired_on_chain"
  | "time_elapsed"
  | "transaction_failed"
  | "refund_requested"
  | "refunded"
  | "refund_abandoned"
  | "chain_reorganised";

export interface StatusChange {
  paymentId: Hex;
  /** 1 for a payment's first change, then 2, 3…: with `from`, merchants can order and de-duplicate changes. */
  sequence: number;
  from: PaymentStatus;
  to: PaymentStatus;
  reason: ChangeReason;
  transactionHash?: Hex;
  blockNumber?: number;
}

/** The machine's settings: when a block is final, and how long the operator may still collect after expiry. */
export interface MachineSettings {
  confirmations: ConfirmationPolicy;
  /** The escrow's LATE_COLLECT_WINDOW (seconds). */
  lateCollectWindow: bigint;
}

export type Outcome = { ok: true; payment: Payment; changes: StatusChange[] } | { ok: false; reason: string };

const refuse = (reason: string): Outcome => ({ ok: false, reason });

/**
 * Moves a payment to `to`, or refuses a move the lifecycle forbids. The new payment keeps the previous status and
 * takes the next sequence number.
 */
export function transition(
  payment: Payment,
  to: PaymentStatus,
  reason: ChangeReason,
  source: { transactionHash?: Hex; blockNumber?: number } = {},
): { ok: true; payment: Payment; change: StatusChange } | { ok: false; reason: string } {
  if (!isAllowedTransition(payment.status, to)) {
    return { ok: false, reason: `a ${payment.status} payment cannot become ${to}` };
  }
  const sequence = payment.sequence + 1;
  const change: StatusChange = { paymentId: payment.id, sequence, from: payment.status, to, reason, ...source };
  return { ok: true, payment: { ...payment, status: to, previousStatus: payment.status, sequence }, change };
}

/** Applies status moves one after the other, stopping at the first refusal. */
function moves(payment: Payment, steps: Array<[PaymentStatus, ChangeReason, { transactionHash?: Hex; blockNumber?: number }?]>): Outcome {
  let current = payment;
  const changes: StatusChange[] = [];
  for (const [to, reason, source] of steps) {
    if (current.status === to) continue;
    const moved = transition(current, to, reason, source);
    if (!moved.ok) return moved;
    current = moved.payment;
    changes.push(moved.change);
  }
  return { ok: true, payment: current, changes };
}

/** The status a paid payment shows once its refunds are counted. */
function refundStatus(payment: Payment): PaymentStatus {
  if (payment.refundRequested > 0n) return "refunding";
  if (payment.refundedAmount === 0n) return "paid";
  return payment.refundedAmount >= payment.paidAmount ? "refunded" : "partially_refunded";
}

const OPEN: ReadonlySet<PaymentStatus> = new Set(["initiated", "pending"]);
const SETTLED: ReadonlySet<PaymentStatus> = new Set(["paid", "refunding", "partially_refunded", "refunded"]);

function applyChainEvent(payment: Payment, event: ChainPaymentEvent, settings: MachineSettings): Outcome {
  const source = { transactionHash: event.transactionHash, blockNumber: event.position.blockNumber };
  const at = { ...payment, cursor: event.position };
  switch (event.kind) {
    case "deposited": {
      if (!OPEN.has(payment.status)) return refuse(`a deposit cannot reach a ${payment.status} payment`);
      const next: Payment = {
        ...at,
        token: event.token,
        paidAmount: payment.paidAmount + event.amount,
        receivedUsd: event.receivedUsd,
        remainingUsd: event.remainingUsd,
        depositAddressFunded: false,
      };
      return moves(next, [["pending", "deposit", source]]);
    }
    case "completed": {
      if (!OPEN.has(payment.status)) return refuse(`a completing deposit cannot reach a ${payment.status} payment`);
      const next: Payment = {
        ...at,
        token: event.token,
        paidAmount: payment.paidAmount + event.amount,
        receivedUsd: event.receivedUsd,
        remainingUsd: 0n,
        excessUsd: event.excessUsd,
        fee: event.fee,
        completedBlock: event.position.blockNumber,
        depositAddressFunded: false,
      };
      const outcome = moves(next, [["confirming", "full_value_received", source]]);
      // A one-confirmation policy makes the completing block final at once.
      if (!outcome.ok || !isConfirmed(event.position.blockNumber, { number: event.position.blockNumber }, settings.confirmations)) {
        return outcome;
      }
      const confirmed = moves(outcome.payment, [["paid", "confirmed", source]]);
      return confirmed.ok ? { ...confirmed, changes: [...outcome.changes, ...confirmed.changes] } : confirmed;
    }
    case "expired":
      if (!OPEN.has(payment.status)) return refuse(`a ${payment.status} payment cannot be expired by the escrow`);
      return moves({ ...at, depositAddressFunded: false }, [["expired", "expired_on_chain", source]]);
    case "deposit_refunded":
      if (payment.status !== "expired") return refuse(`deposits of a ${payment.status} payment are not refunded`);
      return { ok: true, payment: { ...at, depositsReturned: payment.depositsReturned + event.amount }, changes: [] };
    case "refunded": {
      if (!SETTLED.has(payment.status) && payment.status !== "confirming") {
        return refuse(`a ${payment.status} payment cannot be refunded`);
      }
      const refundRequested = payment.refundRequested > event.amount ? payment.refundRequested - event.amount : 0n;
      const next: Payment = { ...at, refundedAmount: event.refundedTotal, refundRequested };
      // A refund while still confirming is counted; the status follows once the payment is paid.
      if (payment.status === "confirming") return { ok: true, payment: next, changes: [] };
      return moves(next, [[refundStatus(next), "refunded", source]]);
    }
    case "deposit_address_funded":
      if (!OPEN.has(payment.status)) return { ok: true, payment: at, changes: [] };
      return moves({ ...at, depositAddressFunded: true }, [["pending", "deposit_address_funded", source]]);
    case "stray_returned":
    case "refund_claimable":
      return { ok: true, payment: at, changes: [] };
  }
}

/**
 * The status machine: given a payment and an event, the new payment and its status changes, or a refusal with its
 * reason. Pure: no clock, no I/O. Chain events at or before the payment's cursor are repeats and change nothing,
 * so re-delivered logs are harmless.
 */
export function applyEvent(payment: Payment, event: PaymentEvent, settings: MachineSettings): Outcome {
  if (isChainEvent(event)) {
    if (payment.cursor && comparePositions(event.position, payment.cursor) <= 0) return { ok: true, payment, changes: [] };
    return applyChainEvent(payment, event, settings);
  }
  switch (event.kind) {
    case "head": {
      if (payment.status === "confirming" && payment.completedBlock !== null) {
        if (!isConfirmed(payment.completedBlock, event.head, settings.confirmations)) return { ok: true, payment, changes: [] };
        const paid = moves(payment, [["paid", "confirmed"]]);
        if (!paid.ok) return paid;
        const refunds = moves(paid.payment, [[refundStatus(paid.payment), "refunded"]]);
        return refunds.ok ? { ...refunds, changes: [...paid.changes, ...refunds.changes] } : refunds;
      }
      // Deposits are expired by the escrow (an `expired` event). A payment with none expires with time, once the
      // escrow's late-collect window has closed too: until then the operator may still collect a transfer that
      // reached the deposit address in time, and a payment reported expired must never be paid after all.
      if (OPEN.has(payment.status) && payment.receivedUsd === 0n) {
        if (event.timestamp > payment.expiry + settings.lateCollectWindow) {
          return payment.failedTransactions > 0
            ? moves(payment, [["failed", "transaction_failed"]])
            : moves(payment, [["expired", "time_elapsed"]]);
        }
      }
      return { ok: true, payment, changes: [] };
    }
    case "checkout_opened":
      if (payment.status !== "initiated") return { ok: true, payment, changes: [] };
      return moves(payment, [["pending", "checkout_opened"]]);
    case "transaction_failed":
      if (!OPEN.has(payment.status)) return { ok: true, payment, changes: [] };
      return { ok: true, payment: { ...payment, failedTransactions: payment.failedTransactions + 1 }, changes: [] };
    case "refund_requested": {
      if (!SETTLED.has(payment.status) || payment.status === "refunded") {
        return refuse(`a ${payment.status} payment cannot be refunded`);
      }
      const refundable = payment.paidAmount - payment.refundedAmount - payment.refundRequested;
      if (event.amount <= 0n) return refuse("a refund must be of more than zero");
      if (event.amount > refundable) return refuse(`a refund of ${event.amount} exceeds the ${refundable} still refundable`);
      const next = { ...payment, refundRequested: payment.refundRequested + event.amount };
      return moves(next, [["refunding", "refund_requested"]]);
    }
    case "refund_abandoned": {
      if (payment.status !== "refunding") return refuse(`a ${payment.status} payment has no refund under way`);
      const next = { ...payment, refundRequested: 0n };
      return moves(next, [[refundStatus(next), "refund_abandoned"]]);
    }
  }
}

/** Applies events in order; throws on a refusal (for replays of events that were accepted once). */
export function replay(start: Payment, events: readonly PaymentEvent[], settings: MachineSettings): Payment {
  let payment = start;
  for (const event of events) {
    const outcome = applyEvent(payment, event, settings);
    if (!outcome.ok) throw new Error(`replaying ${event.kind} on payment ${payment.id}: ${outcome.reason}`);
    payment = outcome.payment;
  }
  return payment;
}

/**
 * After a reorganisation: the payment rebuilt from the events still on the canonical chain, continuing the
 * sequence of the payment as it was. A different status is one change with reason `chain_reorganised`, whatever
 * the lifecycle table says, because the chain took back what had been seen.
 */
export function reconcile(current: Payment, rebuilt: Payment): { payment: Payment; changes: StatusChange[] } {
  if (rebuilt.status === current.status) {
    return { payment: { ...rebuilt, sequence: current.sequence, previousStatus: current.previousStatus }, changes: [] };
  }
  const sequence = current.sequence + 1;
  return {
    payment: { ...rebuilt, sequence, previousStatus: current.status },
    changes: [{ paymentId: current.id, sequence, from: current.status, to: rebuilt.status, reason: "chain_reorganised" }],
  };
}
