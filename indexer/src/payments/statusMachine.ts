import { zeroAddress, type Address, type Hex } from "viem";
import type { ConfirmationPolicy } from "./confirmations";
import type { Payment, ReturnReason, TokenAmount } from "./payment";
import { comparePositions, isChainEvent, type ChainPaymentEvent, type PaymentEvent, type Settled } from "./paymentEvents";
import { settlementDue } from "./settlement";
import { isAllowedTransition, isOpen, type PaymentStatus } from "./statuses";
import { sameAddress } from "./addresses";

/** Why a payment changed; merchants see it in the payment's history and its webhooks. */
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
  | "deposit_refunded"
  | "deposit_returned"
  | "stray_returned"
  | "refund_claimable"
  | "return_claimable"
  | "unaccepted_transfer"
  | "chain_reorganised"
  | "late_log";

/**
 * One announced change of a payment: of its status (`from` ≠ `to`), or of the money it received or was refunded
 * with its status unchanged (`from` = `to`). Each takes the next sequence number.
 */
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

type Source = { transactionHash?: Hex; blockNumber?: number };

/**
 * Moves a payment to `to`, or refuses a move the lifecycle forbids. The new payment keeps the previous status and
 * takes the next sequence number.
 */
export function transition(
  payment: Payment,
  to: PaymentStatus,
  reason: ChangeReason,
  source: Source = {},
): { ok: true; payment: Payment; change: StatusChange } | { ok: false; reason: string } {
  if (!isAllowedTransition(payment.status, to)) {
    return { ok: false, reason: `a ${payment.status} payment cannot become ${to}` };
  }
  const sequence = payment.sequence + 1;
  const change: StatusChange = { paymentId: payment.id, sequence, from: payment.status, to, reason, ...source };
  return { ok: true, payment: { ...payment, status: to, previousStatus: payment.status, sequence }, change };
}

/** Applies status moves one after the other, stopping at the first refusal. */
function moves(payment: Payment, steps: Array<[PaymentStatus, ChangeReason, Source?]>): Outcome {
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

/** The money of a payment a merchant is told of whenever it changes. */
export function moneyDiffers(a: Payment, b: Payment): boolean {
  return (
    a.receivedUsd !== b.receivedUsd ||
    a.excessUsd !== b.excessUsd ||
    a.paidAmount !== b.paidAmount ||
    a.refundedAmount !== b.refundedAmount ||
    !sameAmounts(a.otherDeposits, b.otherDeposits) ||
    !sameRecords(a.refunds, b.refunds) ||
    !sameRecords(a.returnedTransfers, b.returnedTransfers) ||
    !sameRecords(a.unacceptedTransfers, b.unacceptedTransfers)
  );
}

/** Whether two lists of money records are the same (they are short: a payment sees a few refunds or returns). */
function sameRecords(a: readonly object[], b: readonly object[]): boolean {
  if (a === b) return true;
  const text = (records: readonly object[]) => JSON.stringify(records, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
  return a.length === b.length && text(a) === text(b);
}

function sameAmounts(a: readonly TokenAmount[], b: readonly TokenAmount[]): boolean {
  return a.length === b.length && a.every((held, i) => sameAddress(held.token, b[i].token) && held.amount === b[i].amount);
}

/** `amounts` with `delta` added to `token`'s (kept in first-seen order; a token left with nothing is dropped). */
export function addAmount(amounts: readonly TokenAmount[], token: Address, delta: bigint): TokenAmount[] {
  const next = amounts.map((held) => (sameAddress(held.token, token) ? { token: held.token, amount: held.amount + delta } : held));
  if (!amounts.some((held) => sameAddress(held.token, token))) next.push({ token, amount: delta });
  return next.filter((held) => held.amount > 0n);
}

/** The amount of `token` in `amounts`. */
export function amountOf(amounts: readonly TokenAmount[], token: Address): bigint {
  return amounts.find((held) => sameAddress(held.token, token))?.amount ?? 0n;
}

/** Whether the payment's intent accepts `token`. */
export function accepts(payment: Payment, token: Address): boolean {
  return payment.acceptedTokens.some((accepted) => sameAddress(accepted, token));
}

/** Whether a deposit in `token` adds to the payment's own record (its first token) rather than apart. */
const inPaymentToken = (payment: Payment, token: Address) => payment.token === null || sameAddress(payment.token, token);

/**
 * `outcome`, plus a change announcing the new money when it moved without a status change (a further partial
 * deposit, a refund while confirming or already partially refunded): every change of money is announced.
 */
function announcingMoney(before: Payment, outcome: Outcome, reason: ChangeReason, source: Source): Outcome {
  if (!outcome.ok || outcome.changes.length > 0 || !moneyDiffers(before, outcome.payment)) return outcome;
  const sequence = outcome.payment.sequence + 1;
  const { status } = outcome.payment;
  return {
    ok: true,
    payment: { ...outcome.payment, sequence },
    changes: [{ paymentId: before.id, sequence, from: status, to: status, reason, ...source }],
  };
}

/** The status a paid payment shows once its refunds are counted. */
function refundStatus(payment: Payment): PaymentStatus {
  if (payment.refundRequested > 0n) return "refunding";
  if (payment.refundedAmount === 0n) return "paid";
  return payment.refundedAmount >= payment.paidAmount ? "refunded" : "partially_refunded";
}

const SETTLED: ReadonlySet<PaymentStatus> = new Set(["paid", "refunding", "partially_refunded", "refunded"]);
const isNative = (token: Address) => sameAddress(token, zeroAddress);

/**
 * The BNB believed waiting at a payment's deposit address after a chain event: an arrival adds to it, and a collect
 * of BNB (a deposit with the deposit address as payer) or a return of BNB as a stray takes all of it (both sweep
 * the address). The indexer compares it with the balance it reads to see BNB arrive, which leaves no log.
 */
export function nativeWaitingAfter(waiting: bigint, depositAddress: Address, event: ChainPaymentEvent): bigint {
  switch (event.kind) {
    case "deposit_address_funded":
      return isNative(event.token) ? waiting + event.amount : waiting;
    case "deposited":
    case "completed":
      return isNative(event.token) && sameAddress(event.payer, depositAddress) ? 0n : waiting;
    case "stray_returned":
      return isNative(event.token) ? 0n : waiting;
    default:
      return waiting;
  }
}

function applyChainEvent(payment: Payment, event: ChainPaymentEvent): Outcome {
  const source = { ...(event.transactionHash ? { transactionHash: event.transactionHash } : {}), blockNumber: event.position.blockNumber };
  const at = { ...payment, cursor: event.position };
  switch (event.kind) {
    case "deposited": {
      if (!isOpen(payment.status) || payment.expiredBlock !== null) return refuse(`a deposit cannot reach a ${payment.status} payment`);
      const common = { ...at, depositAddressFunded: false, nativeWaiting: nativeWaitingAfter(payment.nativeWaiting, payment.depositAddress, event) };
      // A deposit in another accepted token adds up apart, as on chain: the payment's record keeps its first token.
      const next: Payment = inPaymentToken(payment, event.token)
        ? { ...common, token: event.token, paidAmount: payment.paidAmount + event.amount, receivedUsd: event.receivedUsd, remainingUsd: event.remainingUsd }
        : { ...common, otherDeposits: addAmount(payment.otherDeposits, event.token, event.amount) };
      return announcingMoney(payment, moves(next, [["pending", "deposit", source]]), "deposit", source);
    }
    case "completed": {
      if (!isOpen(payment.status) || payment.expiredBlock !== null) return refuse(`a completing deposit cannot reach a ${payment.status} payment`);
      // Paid by another token than its first: what it holds in that one is now the payment's, its first token's
      // deposits are left over for their payers, as on chain.
      const other = !inPaymentToken(payment, event.token);
      const next: Payment = {
        ...at,
        token: event.token,
        paidAmount: (other ? amountOf(payment.otherDeposits, event.token) : payment.paidAmount) + event.amount,
        otherDeposits: other
          ? addAmount(addAmount(payment.otherDeposits, event.token, -amountOf(payment.otherDeposits, event.token)), payment.token!, payment.paidAmount)
          : payment.otherDeposits,
        receivedUsd: event.receivedUsd,
        remainingUsd: 0n,
        excessUsd: event.excessUsd,
        fee: event.fee,
        completedBlock: event.position.blockNumber,
        depositAddressFunded: false,
        nativeWaiting: nativeWaitingAfter(payment.nativeWaiting, payment.depositAddress, event),
      };
      return moves(next, [["confirming", "full_value_received", source]]);
    }
    case "expired":
      // Counted once its block is confirmed (a `settled` event): until then a reorganisation may take it back.
      if (!isOpen(payment.status) || payment.expiredBlock !== null) return refuse(`a ${payment.status} payment cannot be expired by the escrow`);
      return { ok: true, payment: { ...at, expiredBlock: event.position.blockNumber, depositAddressFunded: false }, changes: [] };
    case "deposit_refunded": {
      // An expired payment's deposits, in any of its tokens, are refunds; a paid one's in another token than the one
      // that paid it are transfers sent back.
      const expiring = payment.status === "expired" || payment.expiredBlock !== null;
      const refund = {
        kind: "expiry" as const,
        token: event.token,
        amount: event.amount,
        to: event.to,
        transactionHash: event.transactionHash,
        claimable: false,
      };
      if (payment.token !== null && !sameAddress(payment.token, event.token)) {
        // Deposits in a token that did not pay it go back once it is paid or expired.
        if (isOpen(payment.status) && payment.expiredBlock === null) return refuse(`deposits of a ${payment.status} payment are not refunded`);
        const otherDeposits = addAmount(payment.otherDeposits, event.token, -event.amount);
        if (expiring) return announcingMoney(payment, unchanged({ ...at, otherDeposits, refunds: [...payment.refunds, refund] }), "deposit_refunded", source);
        const returned = {
          reason: "paid_in_other_token" as const,
          token: event.token,
          amount: event.amount,
          from: event.payer,
          to: event.to,
          transactionHash: event.transactionHash,
          claimable: false,
        };
        return announcingMoney(
          payment,
          unchanged({ ...at, otherDeposits, returnedTransfers: [...payment.returnedTransfers, returned] }),
          "deposit_returned",
          source,
        );
      }
      if (!expiring) return refuse(`deposits of a ${payment.status} payment are not refunded`);
      const next = { ...at, depositsReturned: payment.depositsReturned + event.amount, refunds: [...payment.refunds, refund] };
      return announcingMoney(payment, unchanged(next), "deposit_refunded", source);
    }
    case "refunded": {
      if (!SETTLED.has(payment.status) && payment.status !== "confirming") {
        return refuse(`a ${payment.status} payment cannot be refunded`);
      }
      const refundRequested = payment.refundRequested > event.amount ? payment.refundRequested - event.amount : 0n;
      const refund = {
        kind: "merchant" as const,
        token: event.token,
        amount: event.amount,
        to: event.to,
        transactionHash: event.transactionHash,
        claimable: false,
      };
      const next: Payment = { ...at, refundedAmount: event.refundedTotal, refundRequested, refunds: [...payment.refunds, refund] };
      // A refund while still confirming is counted and announced; the status follows once the payment is paid.
      if (payment.status === "confirming") return announcingMoney(payment, { ok: true, payment: next, changes: [] }, "refunded", source);
      return announcingMoney(payment, moves(next, [[refundStatus(next), "refunded", source]]), "refunded", source);
    }
    case "deposit_address_funded": {
      const nativeWaiting = nativeWaitingAfter(payment.nativeWaiting, payment.depositAddress, event);
      if (!isOpen(payment.status) || payment.expiredBlock !== null) return { ok: true, payment: { ...at, nativeWaiting }, changes: [] };
      // Only funds the payment could take count: a token its intent accepts, and by the expiry (after it, the escrow
      // takes no deposit and the keeper collects nothing: a stray). Undated (the balance at the expiry could not be
      // read), it may have come in time.
      const takeable = accepts(payment, event.token);
      const inTime = event.timestamp === null || event.timestamp <= payment.expiry;
      const arrived = takeable && inTime && event.amount > 0n;
      const next: Payment = {
        ...at,
        nativeWaiting,
        depositAddressFunded: payment.depositAddressFunded || arrived,
        fundedByExpiry: payment.fundedByExpiry || (takeable && inTime),
      };
      return moves(next, arrived ? [["pending", "deposit_address_funded", source]] : []);
    }
    case "stray_returned": {
      const reason = returnReason(payment, event.token);
      const returned = {
        reason,
        token: event.token,
        amount: event.amount,
        from: payment.depositAddress,
        to: event.to,
        transactionHash: event.transactionHash,
        claimable: false,
      };
      const next: Payment = {
        ...at,
        nativeWaiting: nativeWaitingAfter(payment.nativeWaiting, payment.depositAddress, event),
        returnedTransfers: [...payment.returnedTransfers, returned],
        // A return sweeps all of the token that waits: every transfer of it still waiting went with it.
        unacceptedTransfers: payment.unacceptedTransfers.map((seen) =>
          seen.returnedBy === null && sameAddress(seen.token, event.token) ? { ...seen, returnedBy: event.transactionHash } : seen,
        ),
      };
      return announcingMoney(payment, unchanged(next), "stray_returned", source);
    }
    case "refund_claimable": {
      // The escrow could not push the refund or return just logged in the same transaction: it holds it for the receiver.
      const pushed = (record: { token: Address; to: Address; amount: bigint; transactionHash: Hex; claimable: boolean }) =>
        !record.claimable &&
        record.transactionHash.toLowerCase() === event.transactionHash.toLowerCase() &&
        sameAddress(record.token, event.token) &&
        sameAddress(record.to, event.account) &&
        record.amount === event.amount;
      const refund = lastIndexOf(payment.refunds, pushed);
      if (refund >= 0) {
        const refunds = payment.refunds.map((record, i) => (i === refund ? { ...record, claimable: true } : record));
        return announcingMoney(payment, unchanged({ ...at, refunds }), "refund_claimable", source);
      }
      const returned = lastIndexOf(payment.returnedTransfers, pushed);
      if (returned < 0) return unchanged(at);
      const returnedTransfers = payment.returnedTransfers.map((record, i) => (i === returned ? { ...record, claimable: true } : record));
      return announcingMoney(payment, unchanged({ ...at, returnedTransfers }), "return_claimable", source);
    }
    case "unaccepted_transfer": {
      const seen = { token: event.token, amount: event.amount, sender: event.sender, transactionHash: event.transactionHash, returnedBy: null };
      return announcingMoney(payment, unchanged({ ...at, unacceptedTransfers: [...payment.unacceptedTransfers, seen] }), "unaccepted_transfer", source);
    }
  }
}

const unchanged = (payment: Payment): Outcome => ({ ok: true, payment, changes: [] });

/** The index of the last record `matches`, or -1. */
function lastIndexOf<T>(records: readonly T[], matches: (record: T) => boolean): number {
  for (let i = records.length - 1; i >= 0; i -= 1) if (matches(records[i])) return i;
  return -1;
}

/**
 * Why the escrow returned a stray of `token` from the payment's deposit address, from what the indexer knows then: a
 * token the escrow takes for no payment (seen as an unaccepted transfer), one this intent does not offer, a payment
 * already paid, else (an offered token of an unpaid payment, which the escrow returns only once it can no longer be
 * collected) one that came after the expiry.
 */
function returnReason(payment: Payment, token: Address): ReturnReason {
  if (payment.unacceptedTransfers.some((seen) => seen.returnedBy === null && sameAddress(seen.token, token))) return "token_not_supported";
  if (!accepts(payment, token)) return "token_not_accepted";
  if (payment.completedBlock !== null) return "already_paid";
  return "after_expiry";
}

/** A settlement the indexer verified against the escrow: refused unless the payment is due exactly that. */
function applySettled(payment: Payment, event: Settled, settings: MachineSettings): Outcome {
  const due = settlementDue(payment, event.confirmed, settings.lateCollectWindow);
  if (due?.to !== event.to) return refuse(`a ${payment.status} payment is not due to be ${event.to} at block ${event.confirmed.number}`);
  if (event.to === "paid") {
    const paid = moves(payment, [["paid", "confirmed"]]);
    if (!paid.ok) return paid;
    // Refunds counted while it was confirming show once it is paid.
    const refunds = moves(paid.payment, [[refundStatus(paid.payment), "refunded"]]);
    return refunds.ok ? { ...refunds, changes: [...paid.changes, ...refunds.changes] } : refunds;
  }
  const reason = due.basis === "expired_on_chain" ? "expired_on_chain" : event.to === "failed" ? "transaction_failed" : "time_elapsed";
  return moves({ ...payment, depositAddressFunded: false }, [
    [event.to, reason, due.basis === "expired_on_chain" ? { blockNumber: payment.expiredBlock! } : {}],
  ]);
}

/**
 * The status machine: given a payment and an event, the new payment and its changes, or a refusal with its
 * reason. Pure: no clock, no I/O. Chain events at or before the payment's cursor are repeats and change nothing,
 * so re-delivered logs are harmless. `paid`, `expired` and `failed` come only from `settled` events, which the
 * indexer records once the escrow agreed (`settlement.ts`).
 */
export function applyEvent(payment: Payment, event: PaymentEvent, settings: MachineSettings): Outcome {
  if (isChainEvent(event)) {
    if (payment.cursor && comparePositions(event.position, payment.cursor) <= 0) return { ok: true, payment, changes: [] };
    return applyChainEvent(payment, event);
  }
  switch (event.kind) {
    case "settled":
      return applySettled(payment, event, settings);
    case "checkout_opened":
      if (payment.status !== "initiated") return { ok: true, payment, changes: [] };
      return moves(payment, [["pending", "checkout_opened"]]);
    case "transaction_failed":
      if (!isOpen(payment.status)) return { ok: true, payment, changes: [] };
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

/** What a replay did with an event the machine refused. */
export interface Superseded {
  /** The event's index in the list replayed. */
  index: number;
  event: PaymentEvent;
  reason: string;
}

/**
 * Rebuilds a payment from its recorded events, in the order given (chain events in chain order, the others where
 * they were recorded: `eventsOf`). Never throws: after a reorganisation an event may no longer apply (a refund asked
 * for a payment the chain no longer completes); it is skipped and returned as superseded, for the caller to record.
 */
export function replay(
  start: Payment,
  events: readonly PaymentEvent[],
  settings: MachineSettings,
): { payment: Payment; changes: Array<{ change: StatusChange; payment: Payment }>; superseded: Superseded[] } {
  let payment = start;
  const changes: Array<{ change: StatusChange; payment: Payment }> = [];
  const superseded: Superseded[] = [];
  events.forEach((event, index) => {
    const outcome = applyEvent(payment, event, settings);
    if (!outcome.ok) {
      superseded.push({ index, event, reason: outcome.reason });
      return;
    }
    payment = outcome.payment;
    for (const change of outcome.changes) changes.push({ change, payment });
  });
  return { payment, changes, superseded };
}

/**
 * After a reorganisation, or a log that arrived late: the payment rebuilt from its events, continuing the sequence
 * of the payment as merchants last saw it. A different status, or different money, is one change with `reason`,
 * whatever the lifecycle table says, because the chain took back (or showed late) what had been seen.
 */
export function reconcile(current: Payment, rebuilt: Payment, reason: ChangeReason = "chain_reorganised"): { payment: Payment; changes: StatusChange[] } {
  if (rebuilt.status === current.status && !moneyDiffers(current, rebuilt)) {
    return { payment: { ...rebuilt, sequence: current.sequence, previousStatus: current.previousStatus }, changes: [] };
  }
  const sequence = current.sequence + 1;
  const previousStatus = rebuilt.status === current.status ? current.previousStatus : current.status;
  return {
    payment: { ...rebuilt, sequence, previousStatus },
    changes: [{ paymentId: current.id, sequence, from: current.status, to: rebuilt.status, reason }],
  };
}
