import { zeroAddress, type Address, type Hex } from "viem";
import { balanceOf, paymentOf, STATUS, type EscrowState, type Intent } from "../simulatedChain/modelEscrow";
import type { ChainTransaction } from "../simulatedChain/simulatedBlock";
import type { PaymentPlan, PlanStep, TokenChoice, TokenRole } from "./paymentPlans";

/**
 * When a payment's next step happens and which transaction it is. Customers pay only before the expiry; the keeper
 * behaves as Open Pay's keeper does, which the indexer relies on: after the expiry it collects only funds that had
 * reached the deposit address by the expiry (never later arrivals), and it returns as strays only funds it could not
 * collect. A step either happens now, waits for its moment, or is dropped (its moment passed, or the chain made it
 * pointless).
 */

/** The tokens of a history: the accepted ones with their USD prices (BNB is the zero address), and one that is not. */
export interface TokenBook {
  USDT: Address;
  USDC: Address;
  /** A token the escrow does not accept: only ever a stray. */
  CAKE: Address;
  /** USD per whole token, 18 decimals, by lowercase address; the zero address is BNB. */
  prices: ReadonlyMap<string, bigint>;
}

export function tokenAddress(book: TokenBook, choice: TokenChoice): Address {
  return choice === "BNB" ? zeroAddress : book[choice];
}

/** The token a step moves: the payment's own, another accepted one, or the unaccepted one. */
export function tokenForRole(book: TokenBook, plan: PaymentPlan, role: TokenRole): Address {
  if (role === "cake") return book.CAKE;
  if (role === "plan") return tokenAddress(book, plan.token);
  return plan.token === "USDT" ? book.USDC : book.USDT;
}

/** Token units worth `percent` of `usd` (18 decimals), rounded up; the unaccepted token counts at $1. */
export function unitsFor(book: TokenBook, token: Address, usd: bigint, percent: bigint): bigint {
  const price = book.prices.get(token.toLowerCase()) ?? 10n ** 18n;
  const value = (usd * percent) / 100n;
  return (value * 10n ** 18n + price - 1n) / price;
}

/** A payment of a history with what its steps need. */
export interface PaymentSetup {
  plan: PaymentPlan;
  intent: Intent;
  /** Its customers: the first pays and receives refunds, the second tops up. */
  payers: readonly [Address, Address];
}

/** The moment a step is judged at: the block being made, and the chain as it stands before the transaction. */
export interface Moment {
  timestamp: bigint;
  /** The state before the transaction (the block's earlier transactions applied). */
  state: EscrowState;
  /** The state at the last block at or before the payment's expiry; undefined while the block is in time. */
  atExpiry: EscrowState | undefined;
  lateCollectWindow: bigint;
}

export type Decision = { now: ChainTransaction } | "wait" | "drop";

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Whether the keeper could still collect `token` at the deposit address: then it collects rather than return it. */
function keeperMayCollect(book: TokenBook, setup: PaymentSetup, token: Address, moment: Moment): boolean {
  const { intent } = setup;
  if (!book.prices.has(token.toLowerCase())) return false;
  const payment = paymentOf(moment.state, intent.paymentId);
  const takes = !payment || payment.status === STATUS.None || (payment.status === STATUS.Open && sameAddress(payment.token, token));
  if (!takes || moment.timestamp > intent.expiry + moment.lateCollectWindow) return false;
  if (moment.timestamp <= intent.expiry) return true;
  return moment.atExpiry !== undefined && balanceOf(moment.atExpiry, token, intent.depositAddress) > 0n;
}

/**
 * What a payment's step does at `moment`. Once the late-collect window closed nothing a step waits for can come
 * (no deposit, no collect, no completion), so a step still waiting then is dropped.
 */
export function decide(book: TokenBook, setup: PaymentSetup, step: PlanStep, moment: Moment): Decision {
  const decision = decideNow(book, setup, step, moment);
  return decision === "wait" && moment.timestamp > setup.intent.expiry + moment.lateCollectWindow ? "drop" : decision;
}

function decideNow(book: TokenBook, setup: PaymentSetup, step: PlanStep, moment: Moment): Decision {
  const { intent, plan, payers } = setup;
  const inTime = moment.timestamp <= intent.expiry;
  const payment = paymentOf(moment.state, intent.paymentId);
  const status = payment?.status ?? STATUS.None;
  const usd = intent.amountUsd;
  switch (step.act) {
    case "pay": {
      if (!inTime) return "drop";
      const token = tokenAddress(book, plan.token);
      return { now: { kind: "pay", intent, payer: payers[step.payer], token, amount: unitsFor(book, token, usd, step.percent) } };
    }
    case "send": {
      if (step.late && inTime) return "wait";
      if (!step.late && !inTime) return "drop";
      const token = tokenForRole(book, plan, step.token);
      const amount = unitsFor(book, token, usd, step.percent);
      if (token === zeroAddress) return { now: { kind: "sendNative", to: intent.depositAddress, amount } };
      return { now: { kind: "transfer", token, from: payers[0], to: intent.depositAddress, amount } };
    }
    case "collect": {
      const token = tokenAddress(book, plan.token);
      if (status !== STATUS.None && !(status === STATUS.Open && sameAddress(payment!.token, token))) return "drop";
      if (step.afterExpiry && inTime) return "wait";
      if (balanceOf(moment.state, token, intent.depositAddress) === 0n) return "wait";
      if (!keeperMayCollect(book, setup, token, moment)) return "drop";
      return { now: { kind: "collect", intent, token, byOperator: true } };
    }
    case "expire":
      if (inTime) return "wait";
      if (status === STATUS.Open) return { now: { kind: "expire", intent, payers: [payers[0], payers[1], intent.depositAddress], byOperator: true } };
      // Nothing deposited yet: a late collect may still open it within the window.
      return status === STATUS.None ? "wait" : "drop";
    case "refundDepositAddress": {
      if (status === STATUS.None || status === STATUS.Open) return "wait";
      const deposit = status === STATUS.Expired ? payment!.deposits.get(intent.depositAddress.toLowerCase() as Address) ?? 0n : 0n;
      if (deposit === 0n) return "drop";
      return { now: { kind: "refundDepositAddress", intent, to: payers[0], amount: deposit, byOperator: true } };
    }
    case "refund": {
      if (status === STATUS.None || status === STATUS.Open) return "wait";
      if (status !== STATUS.Completed && status !== STATUS.PartiallyRefunded) return "drop";
      const refundable = payment!.amount - payment!.refunded;
      const amount = step.percent >= 100n ? refundable : (payment!.amount * step.percent) / 100n;
      if (amount === 0n || amount > refundable) return "drop";
      return { now: { kind: "refund", paymentId: intent.paymentId as Hex, to: payers[0], amount } };
    }
    case "returnStray": {
      const token = tokenForRole(book, plan, step.token);
      if (balanceOf(moment.state, token, intent.depositAddress) === 0n) return "wait";
      if (keeperMayCollect(book, setup, token, moment)) return "wait";
      return { now: { kind: "returnStray", intent, token, to: payers[0], byOperator: true } };
    }
  }
}

/** Transactions only the keeper sends: re-planned from their step after a reorganisation rather than re-sent as they were. */
export function isKeeperTransaction(transaction: ChainTransaction): boolean {
  return ["collect", "expire", "refundDepositAddress", "returnStray"].includes(transaction.kind);
}
