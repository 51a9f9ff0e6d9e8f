import { zeroAddress, type Address, type Hex } from "viem";
import { sameAddress } from "../payments/addresses";
import type { Payment } from "../payments/payment";
import { accepts } from "../payments/statusMachine";
import type { PaymentStatus } from "../payments/statuses";

/**
 * What the keeper may send for a payment. `expire` and `refundDepositAddress` name the token whose deposits they
 * send back: each accepted token adds up apart on chain (docs/contracts.md, "token-choice").
 */
export type KeeperAction =
  | { kind: "collect"; paymentId: Hex; token: Address; stateKey: string }
  | { kind: "expire"; paymentId: Hex; token: Address; payers: Address[]; stateKey: string }
  | { kind: "returnStray"; paymentId: Hex; token: Address; to: Address; stateKey: string }
  | { kind: "refundDepositAddress"; paymentId: Hex; token: Address; to: Address; amount: bigint; stateKey: string };

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
 *   one state;
 * - `unaccepted_token`: a token the escrow does not take reached the deposit address. `returnStray` can move it, but
 *   the keeper does not: its contract is arbitrary code (its transfer may revert, take a fee or burn the gas), it
 *   has no price to tell a customer's mistake from spam, and anyone could make the keeper pay a return for each
 *   worthless token sent to each deposit address.
 */
export const OPERATOR_REASONS = [
  "late_and_on_time",
  "arrival_unknown",
  "several_senders",
  "unknown_sender",
  "bnb_without_refund_address",
  "transaction_reverted",
  "unaccepted_token",
] as const;
export type OperatorReason = (typeof OPERATOR_REASONS)[number];

/** What the keeper's log line says of each reason. */
export const OPERATOR_REASON_TEXT: Record<OperatorReason, string> = {
  late_and_on_time:
    "funds that reached the deposit address by the expiry and funds that came after it wait together: collect would take both, returnStray would send both back; collect by hand before the late-collect window closes, or let them be returned as a stray after it",
  arrival_unknown:
    "within the late-collect window, the keeper cannot tell whether what waits reached the deposit address by the expiry, so it does not collect it",
  several_senders: "what waits came from several senders, and returnStray sends all of it to one address",
  unknown_sender: "no transfer the keeper recorded accounts for these units, so it knows no one to send them back to",
  bnb_without_refund_address: "BNB leaves no sender in any log and the intent names no refund address",
  transaction_reverted: "the keeper's transaction for this state reverted, and it never sends the same action twice for one state",
  unaccepted_token:
    "a token the escrow does not take reached the deposit address: the keeper does not send arbitrary tokens back; return it with returnStray if it is worth it",
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
  /**
   * The escrow's recorded deposits not sent back yet, by token, then by payer (`PaymentDeposited` less
   * `DepositRefunded`; a completing deposit is the merchant's and records none): whom `expire` refunds, token by token.
   */
  deposits: ReadonlyMap<Address, ReadonlyMap<Address, bigint>>;
  /** Units the escrow collected from the deposit address (its deposits with the deposit address as payer), by token. */
  collectedFromDepositAddress: ReadonlyMap<Address, bigint>;
  /**
   * Deposit-address deposits the escrow sent back so far (`DepositRefunded` with it as payer), by token, then by
   * receiver.
   */
  refundedFromDepositAddress: ReadonlyMap<Address, ReadonlyMap<Address, bigint>>;
  /** What the escrow returned from the deposit address as strays so far (`StrayReturned`), by token. */
  returnedStrays: ReadonlyMap<Address, bigint>;
}

/** The entry of `token` (or any address) in a map keyed by addresses, whatever their case. */
function entryOf<T>(map: ReadonlyMap<Address, T>, key: Address): T | undefined {
  for (const [known, value] of map) if (sameAddress(known, key)) return value;
  return undefined;
}

/** Statuses of a payment the escrow counts as paid (Completed, PartiallyRefunded, Refunded), confirmed or not. */
const PAID: ReadonlySet<PaymentStatus> = new Set(["confirming", "paid", "refunding", "partially_refunded", "refunded"]);

/**
 * Whether the escrow would send back deposits in `token` of this payment now (`expire` on a payment already expired
 * or paid, `refundDepositAddress`): every token of an expired payment, the tokens that did not pay a paid one.
 * Expired means settled expired here: until the expiry's block is confirmed a reorganisation may take it back.
 */
function refundable(payment: Payment, token: Address): boolean {
  if (payment.status === "expired") return true;
  return PAID.has(payment.status) && payment.token !== null && !sameAddress(payment.token, token);
}

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
      const sender = [...shares.keys()].find((known) => sameAddress(known, transfer.sender)) ?? transfer.sender;
      shares.set(sender, (shares.get(sender) ?? 0n) + overlap);
      covered += overlap;
    }
    start = end;
  }
  return { shares, covered };
}

/**
 * The refunds due to the senders of a deposit address in `token`, when the intent names no refund address and the
 * escrow would send that token's deposits back (the payment expired, or was paid in another token).
 *
 * Every collect sweeps all of a token that waits at the deposit address, so what the escrow collected from it in
 * `token` is the first `collectedFromDepositAddress` units of the token's transfers, in chain order (what came after
 * the last collect was never collected: a stray, returned by `returnStray`). Each sender is due its share of those
 * units less what the escrow already sent it back in that token, capped by what the escrow still holds for the
 * deposit address, in the order of each sender's first transfer. Units no recorded transfer accounts for are left
 * to the operator.
 */
export function depositAddressRefunds(view: KeeperView, token: Address): Array<{ to: Address; amount: bigint; refundedBefore: bigint }> {
  return refundPlan(view, token).refunds;
}

/**
 * `depositAddressRefunds`, what the escrow holds for the deposit address in `token` beyond every sender's due
 * (`unmatched`), and what it collected and sent back in that token (for state keys).
 */
function refundPlan(
  view: KeeperView,
  token: Address,
): { refunds: Array<{ to: Address; amount: bigint; refundedBefore: bigint }>; unmatched: bigint; collected: bigint; refunded: bigint } {
  const collected = entryOf(view.collectedFromDepositAddress, token) ?? 0n;
  const refundedTo = entryOf(view.refundedFromDepositAddress, token) ?? new Map<Address, bigint>();
  const refunded = [...refundedTo.values()].reduce((sum, amount) => sum + amount, 0n);
  let held = collected - refunded;
  if (held <= 0n) return { refunds: [], unmatched: 0n, collected, refunded };
  const inToken = view.transfers.filter((transfer) => sameAddress(transfer.token, token));
  const { shares } = sendersOf(inToken, 0n, collected);
  const refunds = [];
  for (const [to, share] of shares) {
    const refundedBefore = entryOf(refundedTo, to) ?? 0n;
    const due = share - refundedBefore;
    if (due <= 0n) continue;
    const amount = due < held ? due : held;
    refunds.push({ to, amount, refundedBefore });
    held -= amount;
    if (held === 0n) break;
  }
  return { refunds, unmatched: held, collected, refunded };
}

/**
 * The payers `expire` would send deposits in `token` back to, with what each has there: every payer whose deposit
 * was not refunded yet, except the deposit address when the intent names no refund address (the escrow keeps its
 * deposits for `refundDepositAddress`).
 */
function expirePayers(view: KeeperView, token: Address): Array<[Address, bigint]> {
  const deposits = entryOf(view.deposits, token) ?? new Map<Address, bigint>();
  return [...deposits].filter(([payer, amount]) => amount > 0n && (view.refundTo !== zeroAddress || !sameAddress(payer, view.depositAddress)));
}

/** An `expire` sending back `token`'s deposits to `payers`; its state is the token and what they hold in it. */
function expireAction(id: Hex, token: Address, payers: Array<[Address, bigint]>): KeeperAction {
  const held = payers.reduce((sum, [, amount]) => sum + amount, 0n);
  return { kind: "expire", paymentId: id, token, payers: payers.map(([payer]) => payer), stateKey: `expire:${token.toLowerCase()}:${held}` };
}

/**
 * How much of the `amount` units of `token` waiting at the deposit address arrived by the payment's expiry, and how
 * much after it; undefined when that cannot be told. Every collect and stray return takes all that waits, so what
 * waits is the last `amount` units of the token's transfers, each dated by its block. BNB leaves no log: its
 * "transfers" are the rises of the address's balance the indexer saw, each dated by the block it rose in, undated
 * where that block's state was pruned.
 */
export function arrivals(view: KeeperView, token: Address, amount: bigint): { onTime: bigint; late: bigint } | undefined {
  const inToken = view.transfers.filter((transfer) => sameAddress(transfer.token, token));
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
 * units of the token's transfers). Otherwise why it waits for the operator (BNB, a mint, several senders:
 * `returnStray` sends all to one address, so that waits for the operator rather than pay one sender with
 * another's money).
 */
function strayDecision(view: KeeperView, token: Address, amount: bigint): { to: Address } | { reason: OperatorReason } {
  if (view.refundTo !== zeroAddress) return { to: view.refundTo };
  if (sameAddress(token, zeroAddress)) return { reason: "bnb_without_refund_address" };
  const inToken = view.transfers.filter((transfer) => sameAddress(transfer.token, token));
  const total = inToken.reduce((sum, transfer) => sum + transfer.amount, 0n);
  const { shares, covered } = sendersOf(inToken, total - amount, total);
  if (shares.size > 1) return { reason: "several_senders" };
  if (covered !== amount || shares.size === 0) return { reason: "unknown_sender" };
  return { to: [...shares.keys()][0] };
}

/**
 * What the keeper should do for one payment now (pure: the caller supplies the chain's time and the balances):
 *
 * - collect funds waiting at an open payment's deposit address in any token its intent accepts (each accepted token
 *   adds up apart on chain, so a third party's dust in one never stops the customer's transfer in another from being
 *   collected): anything until the expiry; within the late-collect window after it, only funds that arrived by the
 *   expiry (`arrivals`). Every such token is collected in the same round, in the order of their holdings;
 * - expire a payment with deposits once its time is up and nothing is left to collect or to decide: one `expire` per
 *   token it holds deposits in (its own token first, which expires it; then each other token whose payers `expire`
 *   would refund), each listing that token's payers;
 * - once it is expired, or paid in one token while holding deposits in others, send those deposits back: `expire`
 *   for their payers, and when the intent names no refund address, to each sender of the deposit address its share
 *   of what was collected from it (`depositAddressRefunds`), token by token;
 * - return anything else at a deposit address (a token the intent does not accept, anything arrived after the
 *   expiry or after completion) to the intent's refund address or its one sender (`strayDecision`).
 *
 * The rest is left to the operator (`leftToOperator`, docs/operations.md): funds that arrived by the expiry and
 * after it waiting together within the window (`collect` would take both, `returnStray` would send both back), an
 * arrival time it cannot tell, strays of several senders, units no transfer accounts for, BNB without a refund
 * address. While such a case holds a token the payment accepts within the window, the payment is not expired
 * either, so the operator may still collect; once the window closes, what waits is a stray like any other.
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
  const collectable = (token: Address) => open && now <= view.expiry + lateCollectWindow && accepts(payment, token);
  /** What the payment holds in `token` on chain: its record's amount, or what it keeps apart in another token. */
  const heldIn = (token: Address) =>
    payment.token === null || sameAddress(payment.token, token)
      ? payment.paidAmount
      : (payment.otherDeposits.find((held) => sameAddress(held.token, token))?.amount ?? 0n);
  let collecting = false;
  let holding = false;

  for (const { token, amount } of view.holdings) {
    if (amount === 0n) continue;
    if (collectable(token)) {
      // What the payment had received in this token is part of the state: a top-up of the same amount after a
      // collect is a new deposit to collect, not the one already collected.
      const stateKey = `${token.toLowerCase()}:${amount}:${heldIn(token)}`;
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
    // A payment still open and inside the window may yet take the tokens its intent accepts: only other tokens, and
    // accepted ones that arrived after the expiry, are strays then.
    // The transfers seen and what was returned before are part of the state: another stray of the same amount is
    // a new one to return (BNB leaves no transfer log, its returns tell them apart), not the one on its way.
    const transfers = view.transfers.filter((transfer) => sameAddress(transfer.token, token)).length;
    const returned = entryOf(view.returnedStrays, token) ?? 0n;
    const stateKey = `${token.toLowerCase()}:${amount}:${transfers}:${returned}`;
    const decision = strayDecision(view, token, amount);
    if ("to" in decision) actions.push({ kind: "returnStray", paymentId: id, token, to: decision.to, stateKey });
    else leftToOperator.push({ paymentId: id, token, amount, reason: decision.reason, stateKey });
  }

  // Not once the escrow's expiry is on chain (its block waits for confirmations before the payment shows expired).
  if (open && payment.token !== null && payment.expiredBlock === null && now > view.expiry && !collecting && !holding) {
    // Its own token first: that call expires it, even with no payer to refund (the deposit address's deposits wait
    // for refundDepositAddress); each other token's call only sends deposits back, so it goes only with payers.
    actions.push(expireAction(id, payment.token, expirePayers(view, payment.token)));
    for (const { token } of payment.otherDeposits) {
      if (sameAddress(token, payment.token)) continue;
      const payers = expirePayers(view, token);
      if (payers.length > 0) actions.push(expireAction(id, token, payers));
    }
  }

  // Expired, or paid in one token while holding deposits in others: those go back, token by token.
  const refundTokens = new Map<string, Address>();
  for (const token of [...view.deposits.keys(), ...view.collectedFromDepositAddress.keys(), ...payment.otherDeposits.map((held) => held.token)]) {
    if (refundable(payment, token) && !refundTokens.has(token.toLowerCase())) refundTokens.set(token.toLowerCase(), token);
  }
  for (const token of refundTokens.values()) {
    const payers = expirePayers(view, token);
    if (payers.length > 0) actions.push(expireAction(id, token, payers));
    // With a refund address in the intent, expire sends the deposit address's deposits there.
    if (view.refundTo !== zeroAddress) continue;
    // One refund per sender; a sender's next refund needs the previous one seen on chain (it is in the key).
    const { refunds, unmatched, collected, refunded } = refundPlan(view, token);
    for (const { to, amount, refundedBefore } of refunds) {
      actions.push({
        kind: "refundDepositAddress",
        paymentId: id,
        token,
        to,
        amount,
        stateKey: `refund:${token.toLowerCase()}:${to.toLowerCase()}:${refundedBefore}`,
      });
    }
    if (unmatched > 0n) {
      leftToOperator.push({
        paymentId: id,
        token,
        amount: unmatched,
        reason: sameAddress(token, zeroAddress) ? "bnb_without_refund_address" : "unknown_sender",
        stateKey: `refund:${token.toLowerCase()}:${collected}:${refunded}`,
      });
    }
  }
  leftToOperator.push(...unacceptedCases(payment));
  return { actions, leftToOperator };
}

/** The tokens the escrow does not take that wait at the payment's deposit address, one operator case per token. */
function unacceptedCases(payment: Payment): OperatorCase[] {
  const waiting = new Map<string, { token: Address; amount: bigint; transfers: number }>();
  for (const seen of payment.unacceptedTransfers) {
    if (seen.returnedBy !== null) continue;
    const held = waiting.get(seen.token.toLowerCase()) ?? { token: seen.token, amount: 0n, transfers: 0 };
    waiting.set(seen.token.toLowerCase(), { token: held.token, amount: held.amount + seen.amount, transfers: held.transfers + 1 });
  }
  return [...waiting.values()].map(({ token, amount, transfers }) => ({
    paymentId: payment.id,
    token,
    amount,
    reason: "unaccepted_token" as const,
    stateKey: `unaccepted:${token.toLowerCase()}:${amount}:${transfers}`,
  }));
}

/** The actions of `planFor`. */
export function planActions(view: KeeperView, now: bigint, lateCollectWindow: bigint): KeeperAction[] {
  return planFor(view, now, lateCollectWindow).actions;
}

/** The token and amount an action is about, to name them when the operator must take it over. */
export function subjectOf(action: KeeperAction, view: KeeperView): { token: Address; amount: bigint } {
  const holding = (token: Address) => view.holdings.find((held) => sameAddress(held.token, token))?.amount ?? 0n;
  switch (action.kind) {
    case "collect":
    case "returnStray":
      return { token: action.token, amount: holding(action.token) };
    case "refundDepositAddress":
      return { token: action.token, amount: action.amount };
    case "expire": {
      const deposits = entryOf(view.deposits, action.token) ?? new Map<Address, bigint>();
      const amount = action.payers.reduce((sum, payer) => sum + (entryOf(deposits, payer) ?? 0n), 0n);
      // An expire with no payer to refund only expires the payment: it is about what the payment holds.
      return { token: action.token, amount: amount > 0n ? amount : view.payment.paidAmount };
    }
  }
}
