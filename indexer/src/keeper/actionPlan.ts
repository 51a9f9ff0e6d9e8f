import { zeroAddress, type Address, type Hex } from "viem";
import type { Payment } from "../payments/payment";

/** What the keeper may send for a payment. */
export type KeeperAction =
  | { kind: "collect"; paymentId: Hex; token: Address; stateKey: string }
  | { kind: "expire"; paymentId: Hex; payers: Address[]; stateKey: string }
  | { kind: "returnStray"; paymentId: Hex; token: Address; to: Address; stateKey: string }
  | { kind: "refundDepositAddress"; paymentId: Hex; to: Address; amount: bigint; stateKey: string };

/** A token transfer into a deposit address, from its `Transfer` log. */
export interface DepositTransfer {
  token: Address;
  sender: Address;
  amount: bigint;
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
  const { payment } = view;
  if (payment.token === null) return [];
  let held = view.collectedFromDepositAddress;
  for (const amount of view.refundedFromDepositAddress.values()) held -= amount;
  if (held <= 0n) return [];
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
  return refunds;
}

/**
 * Where a stray of `amount` units of `token` at the deposit address goes: the intent's refund address, or the
 * one sender of the transfers it is made of (every sweep takes all that waits, so what waits is the last `amount`
 * units of the token's transfers). Undefined when that is not one known sender (BNB, a mint, several senders:
 * `returnStray` sends all to one address, so that waits for the operator rather than pay one sender with
 * another's money).
 */
export function strayReceiver(view: KeeperView, token: Address, amount: bigint): Address | undefined {
  if (view.refundTo !== zeroAddress) return view.refundTo;
  const inToken = view.transfers.filter((transfer) => same(transfer.token, token));
  const total = inToken.reduce((sum, transfer) => sum + transfer.amount, 0n);
  const { shares, covered } = sendersOf(inToken, total - amount, total);
  if (covered !== amount || shares.size !== 1) return undefined;
  return [...shares.keys()][0];
}

/**
 * What the keeper should do for one payment now (pure: the caller supplies the chain's time and the balances):
 *
 * - collect funds waiting at an open payment's deposit address while the escrow still accepts them (until the
 *   late-collect window closes, in the payment's token once it has one);
 * - expire a payment with deposits once its time is up and nothing is left to collect, refunding its payers;
 * - send back what an expired payment's deposit address contributed, to each sender its share
 *   (`depositAddressRefunds`);
 * - return anything else at a deposit address (wrong token, too late, after completion) to the intent's refund
 *   address or its one sender (`strayReceiver`); anything else waits for the operator (docs/operations.md).
 *
 * Each action carries a state key: the keeper sends an action at most once per payment and state. A key changes
 * when something new arrives (so a second transfer of the same amount is acted on too) and stays while the
 * action's own transaction is on its way (so it is not sent twice).
 */
export function planActions(view: KeeperView, now: bigint, lateCollectWindow: bigint): KeeperAction[] {
  const { payment } = view;
  const id = payment.id;
  const actions: KeeperAction[] = [];
  const open = payment.status === "initiated" || payment.status === "pending";
  const collectable = (token: Address) => open && now <= view.expiry + lateCollectWindow && (payment.token === null || same(payment.token, token));
  let collecting = false;

  for (const { token, amount } of view.holdings) {
    if (amount === 0n) continue;
    if (collectable(token)) {
      // What the payment had received is part of the state: a top-up of the same amount after a collect is a new
      // deposit to collect, not the one already collected.
      actions.push({ kind: "collect", paymentId: id, token, stateKey: `${token.toLowerCase()}:${amount}:${payment.paidAmount}` });
      collecting = true;
      continue;
    }
    // A payment still open and inside the window may yet take its own token: only other tokens are strays then.
    const to = strayReceiver(view, token, amount);
    if (!to) continue;
    // The transfers seen and what was returned before are part of the state: another stray of the same amount is
    // a new one to return (BNB leaves no transfer log, its returns tell them apart), not the one on its way.
    const transfers = view.transfers.filter((transfer) => same(transfer.token, token)).length;
    const returned = [...view.returnedStrays].find(([returnedToken]) => same(returnedToken, token))?.[1] ?? 0n;
    actions.push({ kind: "returnStray", paymentId: id, token, to, stateKey: `${token.toLowerCase()}:${amount}:${transfers}:${returned}` });
  }

  if (open && payment.receivedUsd > 0n && now > view.expiry && !collecting) {
    actions.push({ kind: "expire", paymentId: id, payers: [...view.payers], stateKey: "expire" });
  }

  if (payment.status === "expired" && view.refundTo === zeroAddress) {
    // One refund per sender; a sender's next refund needs the previous one seen on chain (it is in the key).
    for (const { to, amount, refundedBefore } of depositAddressRefunds(view)) {
      actions.push({ kind: "refundDepositAddress", paymentId: id, to, amount, stateKey: `refund:${to.toLowerCase()}:${refundedBefore}` });
    }
  }
  return actions;
}
