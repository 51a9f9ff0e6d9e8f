import { zeroAddress, type Address, type Hex } from "viem";
import type { Payment } from "../payments/payment";

/** What the keeper may send for a payment. */
export type KeeperAction =
  | { kind: "collect"; paymentId: Hex; token: Address; stateKey: string }
  | { kind: "expire"; paymentId: Hex; payers: Address[]; stateKey: string }
  | { kind: "returnStray"; paymentId: Hex; token: Address; to: Address; stateKey: string }
  | { kind: "refundDepositAddress"; paymentId: Hex; to: Address; amount: bigint; stateKey: string };

/**
 * Something that arrived at a deposit address: a token's `Transfer` log, or for BNB (no log) a rise of its balance
 * the indexer saw (sender the zero address).
 */
export interface DepositTransfer {
  token: Address;
  sender: Address;
  amount: bigint;
  /** Its block's timestamp (seconds), to tell whether it arrived by the expiry; null when not known. */
  timestamp: bigint | null;
}

/**
 * Why the keeper leaves what waits at (or was collected from) a deposit address to the operator:
 *
 * - `late_and_on_time`: within the late-collect window, funds that arrived by the expiry and funds that arrived
 *   after it wait together; `collect` would take both and `returnStray` would send both back;
 * - `arrival_unknown`: within the late-collect window, the keeper cannot tell whether what waits arrived by the
 *   expiry (BNB whose balance at the expiry's block the node no longer has), so it does not collect it;
 * - `several_senders`: a stray made of several senders' transfers (`returnStray` sends all of it to one address);
 * - `unknown_sender`: units no recorded transfer accounts for (a mint, a transfer not seen), so no one to send them to;
 * - `bnb_without_refund_address`: BNB leaves no sender in any log and the intent names no refund address;
 * - `transaction_reverted`: the keeper's transaction for this state reverted, and it never sends an action twice for
 *   one state.
 */
export const OPERATOR_REASONS = [
  "late_and_on_time",
  "arrival_unknown",
  "several_senders",
  "unknown_sender",
  "bnb_without_refund_address",
  "transaction_reverted",
] as const;
export type OperatorReason = (typeof OPERATOR_REASONS)[number];

/** What the keeper's log line says of each reason. */
export const OPERATOR_REASON_TEXT: Record<OperatorReason, string> = {
  late_and_on_time:
    "funds that reached the deposit address by the expiry and funds that came after it wait together: collect would take both, returnStray would send both back; collect by hand before the late-collect window closes, or let them be returned as a stray after it",
  arrival_unknown: "within the late-collect window, the keeper cannot tell whether what waits reached the deposit address by the expiry, so it does not collect it",
  several_senders: "what waits came from several senders, and returnStray sends all of it to one address",
  unknown_sender: "no transfer the keeper recorded accounts for these units, so it knows no one to send them back to",
  bnb_without_refund_address: "BNB leaves no sender in any log and the intent names no refund address",
  transaction_reverted: "the keeper's transaction for this state reverted, and it never sends the same action twice for one state",
};

/** Something at a payment's deposit address the keeper does not act on: the operator must. */
export interface OperatorCase {
  paymentId: Hex;
  token: Address;
  amount: bigint;
  reason: OperatorReason;
  /** Changes when the situation does: the keeper reports each case once per state. */
  stateKey: string;
}

/** What the keeper should send for a payment, and what it leaves to the operator. */
export interface KeeperPlan {
  actions: KeeperAction[];
  leftToOperator: OperatorCase[];
}

/** A payment as the keeper sees it: its state, its terms, what waits at its deposit address and who sent it. */
export interface KeeperView {
  payment: Payment;
  expiry: bigint;
  refundTo: Address;
  depositAddress: Address;
  /** Balances at the deposit address, by token (zero address: BNB). */
  holdings: ReadonlyArray<{ token: Address; amount: bigint }>;
  /** Token transfers into the deposit address, in chain order (a plain BNB transfer leaves no log: none for BNB). */
  transfers: readonly DepositTransfer[];
  /** Payers of the escrow's recorded deposits (for expire). */
  payers: readonly Address[];
  /** Token units the escrow collected from the deposit address (its deposits with the deposit address as payer). */
  collectedFromDepositAddress: bigint;
  /** Deposit-address deposits the escrow sent back so far (`DepositRefunded` with it as payer), by receiver. */
  refundedFromDepositAddress: ReadonlyMap<Address, bigint>;
  /** What the escrow returned from the deposit address as strays so far (`StrayReturned`), by token. */
  returnedStrays: ReadonlyMap<Address, bigint>;
}

const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();

/**
 * Who sent the units `from` (inclusive) to `to` (exclusive) of a sequence of transfers laid end to end in chain
 * order, by sender, in the order of each sender's first transfer in that stretch; `covered` is how many of those
 * units the transfers account for (less than `to - from` when the stretch starts before the first transfer).
 * Transfers from the zero address (a mint) name no one and count as not covered.
 */
export function sendersOf(transfers: readonly DepositTransfer[], from: bigint, to: bigint): { shares: Map<Address, bigint>; covered: bigint } {
  const shares = new Map<Address, bigint>();
  let covered = 0n;
  let start = 0n;
  for (const transfer of transfers) {
    const end = start + transfer.amount;
    const overlap = (end < to ? end : to) - (start > from ? start : from);
    if (overlap > 0n && transfer.sender !== zeroAddress) {
      const sender = [...shares.keys()].find((known) => same(known, transfer.sender)) ?? transfer.sender;
      shares.set(sender, (shares.get(sender) ?? 0n) + overlap);
      covered += overlap;
    }
    start = end;
  }
  return { shares, covered };
}

/**
 * The refunds due to the senders of an expired payment's deposit address, when the intent names no refund address.
 *
 * Every collect sweeps all that waits at the deposit address, so what the escrow collected from it is the first
 * `collectedFromDepositAddress` units of the transfers in the payment's token, in chain order (what came after the
 * last collect was never collected: a stray, returned by `returnStray`). Each sender is due its share of those
 * units less what the escrow already sent it back, capped by what the escrow still holds for the deposit address,
 * in the order of each sender's first transfer. Units no recorded transfer accounts for are left to the operator.
 */
export function depositAddressRefunds(view: KeeperView): Array<{ to: Address; amount: bigint; refundedBefore: bigint }> {
  return refundPlan(view).refunds;
}

/** `depositAddressRefunds`, and what the escrow holds for the deposit address beyond every sender's due (`unmatched`). */
function refundPlan(view: KeeperView): { refunds: Array<{ to: Address; amount: bigint; refundedBefore: bigint }>; unmatched: bigint } {
  const { payment } = view;
  if (payment.token === null) return { refunds: [], unmatched: 0n };
  let held = view.collectedFromDepositAddress;
  for (const amount of view.refundedFromDepositAddress.values()) held -= amount;
  if (held <= 0n) return { refunds: [], unmatched: 0n };
  const inToken = view.transfers.filter((transfer) => same(transfer.token, payment.token!));
  const { shares } = sendersOf(inToken, 0n, view.collectedFromDepositAddress);
  const refunds = [];
  for (const [to, share] of shares) {
    const refundedBefore = [...view.refundedFromDepositAddress].find(([receiver]) => same(receiver, to))?.[1] ?? 0n;
    const due = share - refundedBefore;
    if (due <= 0n) continue;
    const amount = due < held ? due : held;
    refunds.push({ to, amount, refundedBefore });
    held -= amount;
    if (held === 0n) break;
  }
  return { refunds, unmatched: held };
}

/**
 * How much of the `amount` units of `token` waiting at the deposit address arrived by the payment's expiry, and how
 * much after it; undefined when that cannot be told. Every collect and stray return takes all that waits, so what
 * waits is the last `amount` units of the token's transfers, each dated by its block. BNB leaves no log: its
 * "transfers" are the rises of the address's balance the indexer saw, each dated by the block it rose in, undated
 * where that block's state was pruned.
 */
export function arrivals(view: KeeperView, token: Address, amount: bigint): { onTime: bigint; late: bigint } | undefined {
  const inToken = view.transfers.filter((transfer) => same(transfer.token, token));
  const total = inToken.reduce((sum, transfer) => sum + transfer.amount, 0n);
  const from = total - amount;
  // More waits than the recorded transfers brought: some arrival was not seen.
  if (from < 0n) return undefined;
  let onTime = 0n;
  let late = 0n;
  let start = 0n;
  for (const transfer of inToken) {
    const end = start + transfer.amount;
    const overlap = end - (start > from ? start : from);
    if (overlap > 0n) {
      if (transfer.timestamp === null) return undefined;
      if (transfer.timestamp <= view.expiry) onTime += overlap;
      else late += overlap;
    }
    start = end;
  }
  return { onTime, late };
}

/**
 * Where a stray of `amount` units of `token` at the deposit address goes: the intent's refund address, or the
 * one sender of the transfers it is made of (every sweep takes all that waits, so what waits is the last `amount`
 * units of the token's transfers). Undefined when that is not one known sender (BNB, a mint, several senders:
 * `returnStray` sends all to one address, so that waits for the operator rather than pay one sender with
 * another's money).
 */
export function strayReceiver(view: KeeperView, token: Address, amount: bigint): Address | undefined {
  const decision = strayDecision(view, token, amount);
  return "to" in decision ? decision.to : undefined;
}

/** `strayReceiver`, or why there is none. */
function strayDecision(view: KeeperView, token: Address, amount: bigint): { to: Address } | { reason: OperatorReason } {
  if (view.refundTo !== zeroAddress) return { to: view.refundTo };
  if (same(token, zeroAddress)) return { reason: "bnb_without_refund_address" };
  const inToken = view.transfers.filter((transfer) => same(transfer.token, token));
  const total = inToken.reduce((sum, transfer) => sum + transfer.amount, 0n);
  const { shares, covered } = sendersOf(inToken, total - amount, total);
  if (shares.size > 1) return { reason: "several_senders" };
  if (covered !== amount || shares.size === 0) return { reason: "unknown_sender" };
  return { to: [...shares.keys()][0] };
}

/**
 * What the keeper should do for one payment now (pure: the caller supplies the chain's time and the balances):
 *
 * - collect funds waiting at an open payment's deposit address while the escrow still accepts them, in the
 *   payment's token once it has one: anything until the expiry; within the late-collect window after it, only
 *   funds that arrived by the expiry (`arrivals`);
 * - expire a payment with deposits once its time is up and nothing is left to collect or to decide, refunding its
 *   payers;
 * - send back what an expired payment's deposit address contributed, to each sender its share
 *   (`depositAddressRefunds`);
 * - return anything else at a deposit address (wrong token, arrived after the expiry, after completion) to the
 *   intent's refund address or its one sender (`strayReceiver`).
 *
 * The rest is left to the operator (`leftToOperator`, docs/operations.md): funds that arrived by the expiry and
 * after it waiting together within the window (`collect` would take both, `returnStray` would send both back), an
 * arrival time it cannot tell, strays of several senders, units no transfer accounts for, BNB without a refund
 * address. While such a case holds the payment's own token within the window, the payment is not expired either,
 * so the operator may still collect; once the window closes, what waits is a stray like any other.
 *
 * Each action carries a state key: the keeper sends an action at most once per payment and state. A key changes
 * when something new arrives (so a second transfer of the same amount is acted on too) and stays while the
 * action's own transaction is on its way (so it is not sent twice).
 */
export function planFor(view: KeeperView, now: bigint, lateCollectWindow: bigint): KeeperPlan {
  const { payment } = view;
  const id = payment.id;
  const actions: KeeperAction[] = [];
  const leftToOperator: OperatorCase[] = [];
  const open = payment.status === "initiated" || payment.status === "pending";
  const collectable = (token: Address) => open && now <= view.expiry + lateCollectWindow && (payment.token === null || same(payment.token, token));
  let collecting = false;
  let holding = false;

  for (const { token, amount } of view.holdings) {
    if (amount === 0n) continue;
    if (collectable(token)) {
      // What the payment had received is part of the state: a top-up of the same amount after a collect is a new
      // deposit to collect, not the one already collected.
      const stateKey = `${token.toLowerCase()}:${amount}:${payment.paidAmount}`;
      const arrived = now <= view.expiry ? { onTime: amount, late: 0n } : arrivals(view, token, amount);
      if (arrived !== undefined && arrived.late === 0n) {
        actions.push({ kind: "collect", paymentId: id, token, stateKey });
        collecting = true;
        continue;
      }
      if (arrived === undefined || arrived.onTime > 0n) {
        // Collect takes all that waits and returnStray returns all of it: neither separates on-time funds from late.
        leftToOperator.push({ paymentId: id, token, amount, reason: arrived === undefined ? "arrival_unknown" : "late_and_on_time", stateKey });
        holding = true;
        continue;
      }
      // All of it arrived after the expiry: a stray (the operator may return it from the expiry on).
    }
    // A payment still open and inside the window may yet take its own token: only other tokens, and its own that
    // arrived after the expiry, are strays then.
    // The transfers seen and what was returned before are part of the state: another stray of the same amount is
    // a new one to return (BNB leaves no transfer log, its returns tell them apart), not the one on its way.
    const transfers = view.transfers.filter((transfer) => same(transfer.token, token)).length;
    const returned = [...view.returnedStrays].find(([returnedToken]) => same(returnedToken, token))?.[1] ?? 0n;
    const stateKey = `${token.toLowerCase()}:${amount}:${transfers}:${returned}`;
    const decision = strayDecision(view, token, amount);
    if ("to" in decision) actions.push({ kind: "returnStray", paymentId: id, token, to: decision.to, stateKey });
    else leftToOperator.push({ paymentId: id, token, amount, reason: decision.reason, stateKey });
  }

  // Not once the escrow's expiry is on chain (its block waits for confirmations before the payment shows expired).
  if (open && payment.receivedUsd > 0n && payment.expiredBlock === null && now > view.expiry && !collecting && !holding) {
    actions.push({ kind: "expire", paymentId: id, payers: [...view.payers], stateKey: "expire" });
  }

  if (payment.status === "expired" && view.refundTo === zeroAddress) {
    // One refund per sender; a sender's next refund needs the previous one seen on chain (it is in the key).
    const { refunds, unmatched } = refundPlan(view);
    for (const { to, amount, refundedBefore } of refunds) {
      actions.push({ kind: "refundDepositAddress", paymentId: id, to, amount, stateKey: `refund:${to.toLowerCase()}:${refundedBefore}` });
    }
    if (unmatched > 0n) {
      const token = payment.token!;
      const refunded = [...view.refundedFromDepositAddress.values()].reduce((sum, amount) => sum + amount, 0n);
      leftToOperator.push({
        paymentId: id,
        token,
        amount: unmatched,
        reason: same(token, zeroAddress) ? "bnb_without_refund_address" : "unknown_sender",
        stateKey: `refund:${view.collectedFromDepositAddress}:${refunded}`,
      });
    }
  }
  return { actions, leftToOperator };
}

/** The actions of `planFor`. */
export function planActions(view: KeeperView, now: bigint, lateCollectWindow: bigint): KeeperAction[] {
  return planFor(view, now, lateCollectWindow).actions;
}

/** The token and amount an action is about, to name them when the operator must take it over. */
export function subjectOf(action: KeeperAction, view: KeeperView): { token: Address; amount: bigint } {
  const holding = (token: Address) => view.holdings.find((held) => same(held.token, token))?.amount ?? 0n;
  switch (action.kind) {
    case "collect":
    case "returnStray":
      return { token: action.token, amount: holding(action.token) };
    case "refundDepositAddress":
      return { token: view.payment.token ?? zeroAddress, amount: action.amount };
    case "expire":
      return { token: view.payment.token ?? zeroAddress, amount: view.payment.paidAmount };
  }
}
