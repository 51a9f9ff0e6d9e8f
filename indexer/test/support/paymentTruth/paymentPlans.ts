/**
 * What a payment of a random history does on chain: its kind picks a script of steps (a customer's payments and
 * transfers, the keeper's collects, expiries and returns, the merchant's refunds), which the history runner performs
 * one step at a time, when the history says and when the step's moment has come (`keeperPolicy.ts`).
 */

export const TOKEN_CHOICES = ["USDT", "USDC", "BNB"] as const;
export type TokenChoice = (typeof TOKEN_CHOICES)[number];

/** Which token a step moves: the payment's own, another accepted one, or one the escrow does not accept (CAKE). */
export type TokenRole = "plan" | "other" | "cake";

export type PlanStep =
  /** The customer pays `percent` of the price straight into the escrow (`pay` / `payNative`), before the expiry. */
  | { act: "pay"; percent: bigint; payer: 0 | 1 }
  /** A plain transfer (or BNB sent) to the deposit address: before the expiry, or only after it (`late`). */
  | { act: "send"; percent: bigint; token: TokenRole; late: boolean }
  /** The keeper collects the deposit address's funds: as soon as they are there, or only after the expiry. */
  | { act: "collect"; afterExpiry: boolean }
  /** The keeper expires the payment on chain once its expiry passed, refunding its deposits. */
  | { act: "expire" }
  /** The keeper refunds the deposit address's own deposit of an expired payment. */
  | { act: "refundDepositAddress" }
  /** The merchant refunds `percent` of what was paid (100: all that is left) once the payment completed. */
  | { act: "refund"; percent: bigint }
  /** The keeper returns funds at the deposit address that the payment cannot take. */
  | { act: "returnStray"; token: TokenRole };

const pay = (percent: bigint, payer: 0 | 1 = 0): PlanStep => ({ act: "pay", percent, payer });
const send = (percent: bigint, token: TokenRole = "plan", late = false): PlanStep => ({ act: "send", percent, token, late });

/** Each kind of payment a history may hold, with its script. */
export const PLAN_SCRIPTS = {
  /** Paid in one deposit. */
  full: [pay(100n)],
  /** Part paid; the keeper expires it after its expiry, refunding the deposit. */
  partialExpired: [pay(40n), { act: "expire" }],
  /** Part paid, then topped up by another payer. */
  topUp: [pay(40n), pay(60n, 1)],
  /** Three deposits, a little over the price. */
  threeDeposits: [pay(30n), pay(30n, 1), pay(45n)],
  /** Overpaid in one deposit: an excess. */
  over: [pay(150n)],
  /** Paid by a transfer to the deposit address, collected by the keeper. */
  depositAddress: [send(100n), { act: "collect", afterExpiry: false }],
  /** Part paid at the deposit address, collected, then expired and the deposit address's deposit refunded. */
  depositAddressPartial: [send(50n), { act: "collect", afterExpiry: false }, { act: "expire" }, { act: "refundDepositAddress" }],
  /** Paid at the deposit address by the expiry, collected late (within the late-collect window). */
  lateCollect: [send(100n), { act: "collect", afterExpiry: true }],
  /** Paid at the deposit address by the expiry and never collected: returned once the window closed. */
  uncollected: [send(100n), { act: "returnStray", token: "plan" }],
  /** Nothing ever arrives. */
  nothing: [],
  /** Funds arrive at the deposit address only after the expiry: a stray the keeper returns. */
  lateTransfer: [send(100n, "plan", true), { act: "returnStray", token: "plan" }],
  /** Paid, then refunded by the merchant in two parts. */
  refunded: [pay(100n), { act: "refund", percent: 30n }, { act: "refund", percent: 100n }],
  /** Paid, then half refunded. */
  partiallyRefunded: [pay(100n), { act: "refund", percent: 50n }],
  /** Paid, with a token the escrow does not take and another accepted token sent to its deposit address, both returned. */
  strays: [pay(100n), send(20n, "cake"), { act: "returnStray", token: "cake" }, send(20n, "other"), { act: "returnStray", token: "other" }],
} as const satisfies Record<string, readonly PlanStep[]>;

export type PlanKind = keyof typeof PLAN_SCRIPTS;
export const PLAN_KINDS = Object.keys(PLAN_SCRIPTS) as PlanKind[];

/** One payment of a history: what it does, in which token, for how much, and how long it is open. */
export interface PaymentPlan {
  kind: PlanKind;
  token: TokenChoice;
  /** The price in whole dollars. */
  usd: number;
  /** Seconds from the history's start to the expiry. */
  ttl: number;
  /** Whether its intent names a refund address (deposit refunds go there rather than back to each payer). */
  refundTo: boolean;
}
