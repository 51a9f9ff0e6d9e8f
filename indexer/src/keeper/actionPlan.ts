import { zeroAddress, type Address, type Hex } from "viem";
import type { Payment } from "../payments/payment";

/** What the keeper may send for a payment. */
export type KeeperAction =
  | { kind: "collect"; paymentId: Hex; token: Address; stateKey: string }
  | { kind: "expire"; paymentId: Hex; payers: Address[]; stateKey: string }
  | { kind: "returnStray"; paymentId: Hex; token: Address; to: Address; stateKey: string }
  | { kind: "refundDepositAddress"; paymentId: Hex; to: Address; amount: bigint; stateKey: string };

/** A payment as the keeper sees it: its state, its terms, what waits at its deposit address and who deposited. */
export interface KeeperView {
  payment: Payment;
  expiry: bigint;
  refundTo: Address;
  depositAddress: Address;
  /** Balances at the deposit address, by token (zero address: BNB). */
  holdings: ReadonlyArray<{ token: Address; amount: bigint }>;
  /** The last sender of each token to the deposit address (BNB transfers leave no log: none for BNB). */
  senders: ReadonlyMap<Address, Address>;
  /** Payers of the escrow's recorded deposits (for expire). */
  payers: readonly Address[];
  /** Token units the escrow holds for this payment's deposit address after an expiry (refundDepositAddress). */
  heldForDepositAddress: bigint;
  /** The first sender to the deposit address in the payment's token: where its collected deposits go back. */
  depositAddressSender?: Address;
}

/**
 * What the keeper should do for one payment now (pure: the caller supplies the chain's time and the balances):
 *
 * - collect funds waiting at an open payment's deposit address while the escrow still accepts them (until the
 *   late-collect window closes, in the payment's token once it has one);
 * - expire a payment with deposits once its time is up and nothing is left to collect, refunding its payers;
 * - send back what an expired payment's deposit address contributed, to whoever sent it;
 * - return anything else at a deposit address (wrong token, too late, after completion) to the intent's refund
 *   address or its sender; BNB without a refund address waits for the operator (docs/operations.md).
 *
 * Each action carries a state key: the keeper sends an action at most once per payment and state.
 */
export function planActions(view: KeeperView, now: bigint, lateCollectWindow: bigint): KeeperAction[] {
  const { payment } = view;
  const id = payment.id;
  const actions: KeeperAction[] = [];
  const open = payment.status === "initiated" || payment.status === "pending";
  const collectable = (token: Address) => open && now <= view.expiry + lateCollectWindow && (payment.token === null || payment.token === token);
  let collecting = false;

  for (const { token, amount } of view.holdings) {
    if (amount === 0n) continue;
    const stateKey = `${token.toLowerCase()}:${amount}`;
    if (collectable(token)) {
      // What the payment had received is part of the state: a top-up of the same amount after a collect is a new
      // deposit to collect, not the one already collected.
      actions.push({ kind: "collect", paymentId: id, token, stateKey: `${stateKey}:${payment.paidAmount}` });
      collecting = true;
      continue;
    }
    // A payment still open and inside the window may yet take its own token: only other tokens are strays then.
    const to = view.refundTo !== zeroAddress ? view.refundTo : view.senders.get(token);
    if (to) actions.push({ kind: "returnStray", paymentId: id, token, to, stateKey });
  }

  if (open && payment.receivedUsd > 0n && now > view.expiry && !collecting) {
    actions.push({ kind: "expire", paymentId: id, payers: [...view.payers], stateKey: "expire" });
  }

  if (payment.status === "expired" && view.refundTo === zeroAddress && view.heldForDepositAddress > 0n && view.depositAddressSender) {
    actions.push({
      kind: "refundDepositAddress",
      paymentId: id,
      to: view.depositAddressSender,
      amount: view.heldForDepositAddress,
      stateKey: `refund:${view.heldForDepositAddress}`,
    });
  }
  return actions;
}
