/**
 * A merchant's escrow balance per token, worked out from the escrow's own events (docs/api.md, "Balances"). The
 * escrow credits a completed payment with every deposit of it in the token that completed it, less the platform fee
 * (`PaymentCompleted` names only the completing deposit and the fee: the earlier ones are in `PaymentDeposited`), and
 * debits the balance by the merchant's refunds (`PaymentRefunded`) and withdrawals (`Withdrawn`). Pure: the callers
 * read the movements from the database and the chain.
 */

import type { Address, Hex } from "viem";

/**
 * One escrow log that moves a merchant's balance (docs/api.md, "Balances"). The deposits a completion's credit is
 * worked out from are the payment's own events (`PaymentLedgerEntry`).
 */
export interface MerchantLog {
  kind: "completed" | "refunded" | "withdrawn";
  merchant: Address;
  token: Address;
  /** Token units of the log: the completing deposit, the refund, the withdrawal. */
  amount: bigint;
  /** `completed`: the platform fee taken from all the payment's deposits in the token. */
  fee: bigint;
  /** The payment (all but `withdrawn`). */
  paymentId: Hex | null;
  /** The refund's receiver, or the withdrawal's payout wallet. */
  counterparty: Address | null;
  blockNumber: number;
  logIndex: number;
  blockHash: Hex;
  transactionHash: Hex;
}

/** One change of a merchant's balance in one token, or the sum of several of the same kind. */
export type BalanceMovement =
  | { kind: "credit"; token: string /** Units credited, the fee taken off. */; amount: bigint; fee: bigint; confirmed: boolean }
  | { kind: "refund" | "withdrawal"; token: string; amount: bigint; confirmed: boolean };

/** Where a merchant's balance stands in one token. */
export interface TokenBalance {
  token: string;
  /** The escrow's balance at the indexed block: what `balanceOf(merchant, token)` answers there. */
  balance: bigint;
  /** The part of it made of movements at or below the confirmed block (final under the confirmation policy). */
  confirmed: bigint;
  /** Credits of payments still confirming (completed above the confirmed block): in `balance`, not yet final. */
  pendingCredits: bigint;
  /** Refunds and withdrawals above the confirmed block: already out of `balance`, not yet final. */
  pendingDebits: bigint;
  /** Refunds the merchant asked for through the API and has not sent yet: they will leave the balance. */
  refundsRequested: bigint;
  /** What a withdrawal may take now: the balance less the refunds asked for (never below zero). */
  withdrawable: bigint;
  /** Platform fees the escrow took from this merchant's payments. */
  fees: bigint;
  /** Totals since the first indexed block: credited (fees off), refunded, withdrawn. */
  credited: bigint;
  refunded: bigint;
  withdrawn: bigint;
}

/**
 * What a completed payment credits: every deposit of it in the completing token (the earlier ones and the completing
 * one), less the fee. Throws when the fee is more than the deposits, which the escrow can never do: a log is missing.
 */
export function completionCredit(completingAmount: bigint, earlierDeposits: readonly bigint[], fee: bigint): bigint {
  const gross = earlierDeposits.reduce((sum, amount) => sum + amount, completingAmount);
  if (fee > gross) throw new Error(`a fee of ${fee} exceeds the ${gross} deposited: a deposit log is missing`);
  return gross - fee;
}

/** A payment's deposit (a payment event) or completion (the ledger's), as recorded, in chain order. */
export interface PaymentLedgerEntry {
  kind: "deposited" | "completed";
  paymentId: string;
  token: string;
  amount: bigint;
  fee: bigint;
}

/**
 * The credit of every completion among `entries` (in chain order, any number of payments), by its index there:
 * each counts the deposits of its payment in its token before it.
 */
export function completionCredits(entries: readonly PaymentLedgerEntry[]): Map<number, bigint> {
  const deposits = new Map<string, bigint[]>();
  const credits = new Map<number, bigint>();
  entries.forEach((entry, index) => {
    const key = `${entry.paymentId}/${entry.token.toLowerCase()}`;
    if (entry.kind === "deposited") deposits.set(key, [...(deposits.get(key) ?? []), entry.amount]);
    else credits.set(index, completionCredit(entry.amount, deposits.get(key) ?? [], entry.fee));
  });
  return credits;
}

/**
 * The balance in each token: every token of `tokens` (in that order, zero when nothing moved), then any other token
 * a movement names. `refundsRequested` is by token.
 */
export function tokenBalances(
  movements: readonly BalanceMovement[],
  tokens: readonly string[],
  refundsRequested: ReadonlyMap<string, bigint> = new Map(),
): TokenBalance[] {
  const byToken = new Map<string, TokenBalance>();
  const entry = (token: string) => {
    const key = token.toLowerCase();
    let found = byToken.get(key);
    if (!found) {
      found = {
        token,
        balance: 0n,
        confirmed: 0n,
        pendingCredits: 0n,
        pendingDebits: 0n,
        refundsRequested: 0n,
        withdrawable: 0n,
        fees: 0n,
        credited: 0n,
        refunded: 0n,
        withdrawn: 0n,
      };
      byToken.set(key, found);
    }
    return found;
  };
  for (const token of tokens) entry(token);
  for (const movement of movements) {
    const balance = entry(movement.token);
    const delta = movement.kind === "credit" ? movement.amount : -movement.amount;
    balance.balance += delta;
    if (movement.confirmed) balance.confirmed += delta;
    if (movement.kind === "credit") {
      balance.credited += movement.amount;
      balance.fees += movement.fee;
      if (!movement.confirmed) balance.pendingCredits += movement.amount;
    } else {
      if (movement.kind === "refund") balance.refunded += movement.amount;
      else balance.withdrawn += movement.amount;
      if (!movement.confirmed) balance.pendingDebits += movement.amount;
    }
  }
  for (const [token, requested] of refundsRequested) entry(token).refundsRequested += requested;
  for (const balance of byToken.values()) {
    const left = balance.balance - balance.refundsRequested;
    balance.withdrawable = left > 0n ? left : 0n;
  }
  return [...byToken.values()];
}

/** A withdrawal's amount: `"all"` (everything withdrawable) or units, checked against what may be withdrawn. */
export type WithdrawalCheck = { ok: true; amount: bigint } | { ok: false; reason: "zero" | "exceeds"; amount: bigint; withdrawable: bigint };

export function checkWithdrawal(requested: bigint | "all", withdrawable: bigint): WithdrawalCheck {
  const amount = requested === "all" ? withdrawable : requested;
  if (amount <= 0n) return { ok: false, reason: "zero", amount, withdrawable };
  if (amount > withdrawable) return { ok: false, reason: "exceeds", amount, withdrawable };
  return { ok: true, amount };
}
