/**
 * What a payment of a random history does on chain: its kind picks a script of steps (a customer's payments and
 * transfers, the keeper's collects, expiries and returns, the merchant's refunds), which the history runner performs
 * one step at a time, when the history says and when the step's moment has come (`planActions.ts`). A plan may add a
 * third party's small deposit (`Intruder`) before or after the customer's, and the keeper then sends back what the
 * payment holds in the tokens that did not pay it (docs/contracts.md, "token-choice").
 */

export const TOKEN_CHOICES = ["USDT", "USDC", "BNB"] as const;
export type TokenChoice = (typeof TOKEN_CHOICES)[number];

/**
 * Which token a step moves: the customer's (`plan`), another token the intent accepts (`other`; a token the escrow
 * allows but the intent does not, when it accepts one only), one the escrow allows but the intent does not accept
 * (`unaccepted`; CAKE when it accepts all three), or one the escrow does not allow at all (`cake`).
 */
export type TokenRole = "plan" | "other" | "unaccepted" | "cake";

/** Who sends a customer step: the customer, a second customer topping up, or a third party. */
export type PayerRole = 0 | 1 | 2;

export type PlanStep =
  /**
   * `percent` of the price paid straight into the escrow (`pay` / `payNative`) before the expiry, in the customer's
   * token unless `token` says otherwise; with `beneficiary`, recorded for an address that is not the sender's.
   */
  | { act: "pay"; percent: bigint; payer: PayerRole; token?: TokenRole; beneficiary?: boolean }
  /** A plain transfer (or BNB sent) to the deposit address: before the expiry, or only after it (`late`). */
  | { act: "send"; percent: bigint; token: TokenRole; late: boolean; from?: PayerRole }
  /** The keeper collects the deposit address's funds (the customer's token by default): as soon as they are there, or only after the expiry. */
  | { act: "collect"; afterExpiry: boolean; token?: TokenRole }
  /** The keeper expires the payment on chain once its expiry passed, refunding its deposits in its record's token. */
  | { act: "expire" }
  /** The keeper refunds the deposit address's own deposit (in the record's token) of an expired payment. */
  | { act: "refundDepositAddress" }
  /** The merchant refunds `percent` of what was paid (100: all that is left) once the payment completed. */
  | { act: "refund"; percent: bigint }
  /** The keeper returns funds at the deposit address that the payment cannot take. */
  | { act: "returnStray"; token: TokenRole }
  /** The keeper collects what waits at the deposit address in `token` if the payment can take it, else returns it as a stray. */
  | { act: "collectOrReturn"; token: TokenRole }
  /**
   * The keeper, once the payment is paid or expired (expiring it first if it is still open past its expiry), sends
   * back one by one what it holds in the tokens that did not pay it: `expire(intent, token, payers)`, and
   * `refundDepositAddress` for the deposit address's own deposits. Taken again until nothing is left.
   */
  | { act: "refundLeftovers" };

const pay = (percent: bigint, payer: PayerRole = 0, token: TokenRole = "plan"): PlanStep => ({ act: "pay", percent, payer, token });
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
  /** Paid, with a token the escrow does not take and another token sent to its deposit address, both returned. */
  strays: [pay(100n), send(20n, "cake"), { act: "returnStray", token: "cake" }, send(20n, "other"), { act: "returnStray", token: "other" }],
  /**
   * Part paid in the customer's token, then the whole price in another token it accepts (the customer changed its
   * mind): the other token pays it, and the first token's deposit goes back.
   */
  switched: [pay(40n), pay(100n, 0, "other"), { act: "refundLeftovers" }],
} as const satisfies Record<string, readonly PlanStep[]>;

export type PlanKind = keyof typeof PLAN_SCRIPTS;
export const PLAN_KINDS = Object.keys(PLAN_SCRIPTS) as PlanKind[];

/**
 * A third party's small deposit into the payment, before the customer's first step or after it: paid into the
 * escrow (`pay`, for a beneficiary or for itself) or sent to the deposit address (which the keeper then collects or
 * returns), in another token the intent accepts or in one it does not (a deposit it refuses, a stray).
 */
export interface Intruder {
  when: "before" | "after";
  via: "pay" | "send";
  token: "other" | "unaccepted";
  /** Paid for a beneficiary (as a router would): refunds go to it. */
  beneficiary: boolean;
  /** Percent of the price. */
  percent: number;
}

/** One payment of a history: what it does, in which tokens, for how much, and how long it is open. */
export interface PaymentPlan {
  kind: PlanKind;
  /** The customer's token. */
  token: TokenChoice;
  /** The other tokens its intent accepts (besides `token`; none, one or both). */
  alsoAccepts: readonly TokenChoice[];
  /** The price in whole dollars. */
  usd: number;
  /** Seconds from the history's start to the expiry. */
  ttl: number;
  /** Whether its intent names a refund address (deposit refunds go there rather than back to each payer). */
  refundTo: boolean;
  /** A third party's deposit, if any. */
  intruder: Intruder | null;
}

/** The tokens the plan's intent accepts, the customer's first (the order the checkout offers them). */
export function acceptedChoices(plan: PaymentPlan): TokenChoice[] {
  return [plan.token, ...TOKEN_CHOICES.filter((choice) => choice !== plan.token && plan.alsoAccepts.includes(choice))];
}

/** The index of the customer's first money step (`pay` or `send` by the customer): where an intruder comes `after`. */
function firstCustomerStep(script: readonly PlanStep[]): number {
  return script.findIndex((step) => (step.act === "pay" && step.payer !== 2) || (step.act === "send" && (step.from ?? 0) !== 2));
}

/**
 * The plan's steps: its kind's script, with the intruder's steps before the customer's first step or just after it,
 * and the keeper's refund of leftovers at the end when the payment may hold deposits in a token that did not pay it.
 */
export function planSteps(plan: PaymentPlan): PlanStep[] {
  const script: PlanStep[] = [...PLAN_SCRIPTS[plan.kind]];
  const { intruder } = plan;
  if (intruder) {
    const percent = BigInt(intruder.percent);
    const steps: PlanStep[] =
      intruder.via === "pay"
        ? [{ act: "pay", percent, payer: 2, token: intruder.token, beneficiary: intruder.beneficiary }]
        : [
            { act: "send", percent, token: intruder.token, late: false, from: 2 },
            { act: "collectOrReturn", token: intruder.token },
          ];
    const first = firstCustomerStep(script);
    const at = intruder.when === "before" || first < 0 ? (intruder.when === "before" ? 0 : script.length) : first + 1;
    script.splice(at, 0, ...steps);
  }
  const leftovers = plan.alsoAccepts.length > 0 && !script.some((step) => step.act === "refundLeftovers");
  if (leftovers) script.push({ act: "refundLeftovers" });
  return script;
}

/** The plan in a few words, for a history's description. */
export function describePlan(plan: PaymentPlan): string {
  const { intruder } = plan;
  const third = intruder
    ? `, third party ${intruder.when}: ${intruder.percent}% by ${intruder.via} in an ${intruder.token === "other" ? "other accepted" : "unaccepted"} token${
        intruder.beneficiary ? " for a beneficiary" : ""
      }`
    : "";
  return `${plan.kind} in ${plan.token}${plan.alsoAccepts.length > 0 ? ` (also accepts ${plan.alsoAccepts.join(", ")})` : ""}, $${plan.usd}, expires +${plan.ttl}s${
    plan.refundTo ? ", refund address" : ""
  }${third}`;
}
