import { zeroAddress, type Address, type Hex } from "viem";
import { acceptedMask, balanceOf, depositIn, isPaid, paymentOf, STATUS, type EscrowState, type Intent, type ModelPayment } from "../simulatedChain/modelEscrow";
import type { ChainTransaction } from "../simulatedChain/simulatedBlock";
import { acceptedChoices, TOKEN_CHOICES, type PaymentPlan, type PlanStep, type TokenChoice, type TokenRole } from "./paymentPlans";

/**
 * When a payment's next step happens and which transaction it is. Customers pay only before the expiry; the keeper
 * behaves as Open Pay's keeper does, which the indexer relies on: after the expiry it collects only funds that had
 * reached the deposit address by the expiry (never later arrivals), it returns as strays only funds it could not
 * collect, and once a payment is paid or expired it sends back, token by token, the deposits in the tokens that did
 * not pay it. A step either happens now, waits for its moment, or is dropped (its moment passed, or the chain made it
 * pointless).
 */

/** The tokens of a history: the allowed ones with their USD prices and indexes (BNB is the zero address), and one that is not. */
export interface TokenBook {
  USDT: Address;
  USDC: Address;
  /** A token the escrow does not allow: only ever a stray. */
  CAKE: Address;
  /** USD per whole token, 18 decimals, by lowercase address; the zero address is BNB. */
  prices: ReadonlyMap<string, bigint>;
  /** Each allowed token's index in the escrow (`tokenAt`), by lowercase address: its bit in an intent's `acceptedTokens`. */
  indexes: ReadonlyMap<Address, number>;
}

export function tokenAddress(book: TokenBook, choice: TokenChoice): Address {
  return choice === "BNB" ? zeroAddress : book[choice];
}

/** The tokens a plan's intent accepts, the customer's first. */
export function acceptedTokensOf(book: TokenBook, plan: PaymentPlan): Address[] {
  return acceptedChoices(plan).map((choice) => tokenAddress(book, choice));
}

/** The plan's intent's `acceptedTokens` bit mask. */
export function acceptedTokenMaskOf(book: TokenBook, plan: PaymentPlan): bigint {
  return acceptedMask(book.indexes, acceptedTokensOf(book, plan));
}

/** The token a step moves (see `TokenRole`). */
export function tokenForRole(book: TokenBook, plan: PaymentPlan, role: TokenRole): Address {
  const accepted = acceptedChoices(plan);
  if (role === "cake") return book.CAKE;
  if (role === "plan") return tokenAddress(book, plan.token);
  if (role === "other" && accepted.length > 1) return tokenAddress(book, accepted[1]);
  const unaccepted = TOKEN_CHOICES.find((choice) => !accepted.includes(choice));
  return unaccepted === undefined ? book.CAKE : tokenAddress(book, unaccepted);
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
  /** The tokens its intent accepts (`intent.acceptedTokens` by address), the customer's first. */
  acceptedTokens: readonly Address[];
  /** Who sends its steps: the customer (who also receives the keeper's refunds), a second customer who tops up, a third party. */
  payers: readonly [Address, Address, Address];
  /** Whom the third party names as its beneficiary when it pays for one. */
  beneficiary: Address;
}

/** Everyone who may hold a deposit of the payment: its payers, the third party's beneficiary and its deposit address. */
export function depositorsOf(setup: PaymentSetup): Address[] {
  const all = [...setup.payers, setup.beneficiary, setup.intent.depositAddress];
  return all.filter((address, i) => all.findIndex((other) => sameAddress(other, address)) === i);
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

/** A transaction to send now (with `repeat`, the step stays to be taken again), or to wait, or to drop the step. */
export type Decision = { now: ChainTransaction; repeat?: boolean } | "wait" | "drop";

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

const acceptsToken = (setup: PaymentSetup, token: Address) => setup.acceptedTokens.some((accepted) => sameAddress(accepted, token));

/** Whether the keeper could still collect `token` at the deposit address: then it collects rather than return it. */
function keeperMayCollect(setup: PaymentSetup, token: Address, moment: Moment): boolean {
  const { intent } = setup;
  if (!acceptsToken(setup, token)) return false;
  const payment = paymentOf(moment.state, intent.paymentId);
  const takes = !payment || payment.status === STATUS.None || payment.status === STATUS.Open;
  if (!takes || moment.timestamp > intent.expiry + moment.lateCollectWindow) return false;
  if (moment.timestamp <= intent.expiry) return true;
  return moment.atExpiry !== undefined && balanceOf(moment.atExpiry, token, intent.depositAddress) > 0n;
}

/** Whether the escrow sends back deposits of the payment in `token` now: every token once expired, the tokens that did not pay it once paid. */
function refundable(payment: ModelPayment, token: Address): boolean {
  if (payment.status === STATUS.Expired) return true;
  return isPaid(payment) && payment.leftovers && !sameAddress(payment.token, token);
}

/**
 * The keeper's next refund of what the payment holds in the tokens that did not pay it (every token once it
 * expired): `expire` for the payers' deposits, `refundDepositAddress` for the deposit address's own when the intent
 * names no refund address; undefined when nothing is left.
 */
function leftoverRefund(setup: PaymentSetup, payment: ModelPayment): ChainTransaction | undefined {
  const { intent, payers } = setup;
  const depositors = depositorsOf(setup);
  const keptForOperator = (payer: Address) => intent.refundTo === zeroAddress && sameAddress(payer, intent.depositAddress);
  for (const token of [...payment.deposits.keys()].filter((token) => refundable(payment, token))) {
    if (depositors.some((payer) => !keptForOperator(payer) && depositIn(payment, token, payer) > 0n)) {
      return { kind: "expire", intent, token, payers: depositors, byOperator: true };
    }
    const deposit = depositIn(payment, token, intent.depositAddress);
    // Back to whoever sent it: the customer's token is the customer's, another the third party's.
    const to = sameAddress(token, setup.acceptedTokens[0]) ? payers[0] : payers[2];
    if (deposit > 0n) return { kind: "refundDepositAddress", intent, token, to, amount: deposit, byOperator: true };
  }
  return undefined;
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
  const collect = (token: Address): ChainTransaction => ({ kind: "collect", intent, token, byOperator: true });
  const returnStray = (token: Address): ChainTransaction => ({ kind: "returnStray", intent, token, to: payers[0], byOperator: true });
  switch (step.act) {
    case "pay": {
      if (!inTime) return "drop";
      const token = tokenForRole(book, plan, step.token ?? "plan");
      const beneficiary = step.beneficiary ? { beneficiary: setup.beneficiary } : {};
      return { now: { kind: "pay", intent, payer: payers[step.payer], token, amount: unitsFor(book, token, usd, step.percent), ...beneficiary } };
    }
    case "send": {
      if (step.late && inTime) return "wait";
      if (!step.late && !inTime) return "drop";
      const token = tokenForRole(book, plan, step.token);
      const amount = unitsFor(book, token, usd, step.percent);
      if (token === zeroAddress) return { now: { kind: "sendNative", to: intent.depositAddress, amount } };
      return { now: { kind: "transfer", token, from: payers[step.from ?? 0], to: intent.depositAddress, amount } };
    }
    case "collect": {
      const token = tokenForRole(book, plan, step.token ?? "plan");
      if ((status !== STATUS.None && status !== STATUS.Open) || !acceptsToken(setup, token)) return "drop";
      if (step.afterExpiry && inTime) return "wait";
      if (balanceOf(moment.state, token, intent.depositAddress) === 0n) return "wait";
      if (!keeperMayCollect(setup, token, moment)) return "drop";
      return { now: collect(token) };
    }
    case "expire":
      if (inTime) return "wait";
      if (status === STATUS.Open) return { now: { kind: "expire", intent, token: payment!.token, payers: depositorsOf(setup), byOperator: true } };
      // Nothing deposited yet: a late collect may still open it within the window.
      return status === STATUS.None ? "wait" : "drop";
    case "refundDepositAddress": {
      if (status === STATUS.None || status === STATUS.Open) return "wait";
      const deposit = status === STATUS.Expired ? depositIn(payment!, payment!.token, intent.depositAddress) : 0n;
      if (deposit === 0n) return "drop";
      return { now: { kind: "refundDepositAddress", intent, token: payment!.token, to: payers[0], amount: deposit, byOperator: true } };
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
      if (keeperMayCollect(setup, token, moment)) return "wait";
      return { now: returnStray(token) };
    }
    case "collectOrReturn": {
      const token = tokenForRole(book, plan, step.token);
      if (balanceOf(moment.state, token, intent.depositAddress) === 0n) return "wait";
      return { now: keeperMayCollect(setup, token, moment) ? collect(token) : returnStray(token) };
    }
    case "refundLeftovers": {
      if (status === STATUS.None) return "wait";
      if (status === STATUS.Open) {
        if (inTime) return "wait";
        return { now: { kind: "expire", intent, token: payment!.token, payers: depositorsOf(setup), byOperator: true }, repeat: true };
      }
      const refund = leftoverRefund(setup, payment!);
      return refund ? { now: refund, repeat: true } : "drop";
    }
  }
}

/** Transactions only the keeper sends: re-planned from their step after a reorganisation rather than re-sent as they were. */
export function isKeeperTransaction(transaction: ChainTransaction): boolean {
  return ["collect", "expire", "refundDepositAddress", "returnStray"].includes(transaction.kind);
}
