import fc from "fast-check";
import { describePlan, PLAN_KINDS, TOKEN_CHOICES, type Intruder, type PaymentPlan, type PlanKind } from "./paymentPlans";

/**
 * A random history: a handful of payments (`PaymentPlan`) and a schedule of what happens, in order: blocks carrying
 * the payments' next steps, empty blocks, reorganisations, indexer steps and restarts, provider faults and checkouts
 * opened. Payments are named by index modulo their number, so that fast-check can shrink either list freely.
 */

/**
 * What the misbehaving provider does until it is healed (`times`: only its next n answers; 0: until healed). With
 * `nudge`, the healthy provider also fails its next request, which sends the indexer over to the misbehaving one.
 */
export type FaultChoice =
  /** Its head is `blocks` behind the chain's. */
  | { kind: "lag"; blocks: number; nudge: boolean }
  /** Its log index is `blocks` behind its headers: no logs for its newest blocks. */
  | { kind: "logLag"; blocks: number; nudge: boolean }
  /** `eth_getLogs` answers nothing, a subset, or the logs of an orphaned branch: by range, by block hash, or both. */
  | { kind: "logs"; by: "range" | "hash" | "both"; answer: "nothing" | "subset" | "other-branch"; times: number; nudge: boolean }
  /** The provider's next request fails with a JSON-RPC error or HTTP 503: honest failures (on `healthy`, it sends the indexer over to the other). */
  | { kind: "failure"; on: "healthy" | "faulty"; answer: "rpc-error" | "http-503" };

export type HistoryStep =
  /** One block with the next step of each payment named (a payment named twice takes two steps); `gap` extra seconds. */
  | { kind: "block"; payments: number[]; gap: number }
  | { kind: "empty"; count: number }
  /**
   * The last `depth` blocks replaced (kept within depth − 1 of the highest head, so that no block that was ever
   * confirmed is replaced) by `length` blocks at other times: the same transactions re-ordered, some dropped (their
   * senders send them again later), or none of them.
   */
  | { kind: "reorg"; depth: number; length: number; mode: "reorder" | "drop" | "replace"; salt: number }
  /** The indexer takes `count` steps (it may stay behind the head). */
  | { kind: "step"; count: number }
  /** The indexer steps until it reports it is at its provider's head. */
  | { kind: "catchUp" }
  /** A new Indexer over the same store (the process restarted), its providers in the order given. */
  | { kind: "restart"; faultyFirst: boolean }
  | { kind: "fault"; fault: FaultChoice }
  | { kind: "heal" }
  /** The customer opened the payment's checkout page. */
  | { kind: "checkout"; payment: number };

export interface History {
  /** Seeds the providers' random choices (which logs a subset keeps): a history replays alike wherever it runs. */
  seed: number;
  /** Whether the first indexer starts on the misbehaving provider. */
  faultyFirst: boolean;
  /** Confirmations: the completing block and depth − 1 after it. */
  depth: number;
  /** The escrow's LATE_COLLECT_WINDOW, seconds. */
  lateCollectWindow: number;
  payments: PaymentPlan[];
  steps: HistoryStep[];
}

const PAYMENT_NAMES = 8;

/** A third party's small deposit, in about one plan of three. */
const intruder: fc.Arbitrary<Intruder | null> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.record({
      when: fc.constantFrom("before" as const, "after" as const),
      via: fc.constantFrom("pay" as const, "send" as const),
      token: fc.constantFrom("other" as const, "other" as const, "unaccepted" as const),
      beneficiary: fc.boolean(),
      percent: fc.constantFrom(1, 5, 20),
    }),
  },
);

const plan = (kinds: readonly PlanKind[]): fc.Arbitrary<PaymentPlan> =>
  fc
    .record({
      kind: fc.constantFrom(...kinds),
      token: fc.constantFrom(...TOKEN_CHOICES),
      // The intent accepts the customer's token and a random subset of the others (none in a quarter of plans).
      alsoAccepts: fc.subarray([...TOKEN_CHOICES]),
      usd: fc.integer({ min: 5, max: 400 }),
      ttl: fc.integer({ min: 10, max: 120 }),
      refundTo: fc.boolean(),
      intruder,
    })
    .map((plan) => ({ ...plan, alsoAccepts: plan.alsoAccepts.filter((choice) => choice !== plan.token) }));

/** Mostly: a lie is worth injecting only while the indexer reads from the liar. */
const nudge = fc.constantFrom(true, true, true, false);

const fault: fc.Arbitrary<FaultChoice> = fc.oneof(
  fc.record({ kind: fc.constant("lag" as const), blocks: fc.integer({ min: 1, max: 8 }), nudge }),
  fc.record({ kind: fc.constant("logLag" as const), blocks: fc.integer({ min: 1, max: 4 }), nudge }),
  fc.record({
    kind: fc.constant("logs" as const),
    by: fc.constantFrom("range" as const, "hash" as const, "both" as const),
    answer: fc.constantFrom("nothing" as const, "subset" as const, "other-branch" as const),
    times: fc.constantFrom(0, 0, 1, 2, 3),
    nudge,
  }),
  fc.record({
    kind: fc.constant("failure" as const),
    on: fc.constantFrom("healthy" as const, "faulty" as const),
    answer: fc.constantFrom("rpc-error" as const, "http-503" as const),
  }),
);

type StepWeights = Partial<Record<HistoryStep["kind"], number>>;

/** A schedule's steps, each kind as often as `weights` says; without `faults`, no provider misbehaves. */
function steps(faults: boolean, weights: StepWeights): fc.Arbitrary<HistoryStep> {
  const some = <T>(arbitraries: T[]) => (faults ? arbitraries : []);
  const weight = (kind: HistoryStep["kind"], usual: number) => weights[kind] ?? usual;
  return fc.oneof(
    {
      weight: weight("block", 12),
      arbitrary: fc.record({
        kind: fc.constant("block" as const),
        payments: fc.array(fc.nat(PAYMENT_NAMES - 1), { minLength: 1, maxLength: 3 }),
        gap: fc.constantFrom(0, 0, 0, 4, 15, 40),
      }),
    },
    { weight: weight("empty", 2), arbitrary: fc.record({ kind: fc.constant("empty" as const), count: fc.integer({ min: 1, max: 4 }) }) },
    {
      weight: weight("reorg", 3),
      arbitrary: fc.record({
        kind: fc.constant("reorg" as const),
        depth: fc.integer({ min: 1, max: 5 }),
        length: fc.integer({ min: 1, max: 6 }),
        mode: fc.constantFrom("reorder" as const, "drop" as const, "replace" as const),
        salt: fc.nat(1_000),
      }),
    },
    { weight: weight("step", 7), arbitrary: fc.record({ kind: fc.constant("step" as const), count: fc.integer({ min: 1, max: 3 }) }) },
    { weight: weight("catchUp", 3), arbitrary: fc.record({ kind: fc.constant("catchUp" as const) }) },
    { weight: weight("restart", 2), arbitrary: fc.record({ kind: fc.constant("restart" as const), faultyFirst: faults ? fc.boolean() : fc.constant(false) }) },
    ...some([
      { weight: weight("fault", 8), arbitrary: fc.record({ kind: fc.constant("fault" as const), fault }) },
      { weight: weight("heal", 1), arbitrary: fc.record({ kind: fc.constant("heal" as const) }) },
    ]),
    { weight: weight("checkout", 2), arbitrary: fc.record({ kind: fc.constant("checkout" as const), payment: fc.nat(PAYMENT_NAMES - 1) }) },
  );
}

export interface HistoryShape {
  /** Kinds of payments (all by default). */
  kinds?: readonly PlanKind[];
  minSteps?: number;
  maxSteps?: number;
  maxPayments?: number;
  /** Whether providers misbehave (default true). */
  faults?: boolean;
  /** The escrow's late-collect window, when it is fixed (a real escrow's constant); else 15..60 s. */
  lateCollectWindow?: number;
  /** How often each kind of step comes, against the others (blocks 12, indexer steps 7, faults 8, reorganisations 3…). */
  weights?: StepWeights;
}

/** Random histories of the given shape. */
export function histories({
  kinds = PLAN_KINDS,
  minSteps = 8,
  maxSteps = 32,
  maxPayments = 4,
  faults = true,
  lateCollectWindow,
  weights = {},
}: HistoryShape = {}): fc.Arbitrary<History> {
  return fc
    .record({
      seed: fc.nat(1_000_000),
      faultyFirst: faults ? fc.boolean() : fc.constant(false),
      depth: fc.integer({ min: 4, max: 6 }),
      lateCollectWindow: lateCollectWindow === undefined ? fc.integer({ min: 15, max: 60 }) : fc.constant(lateCollectWindow),
      payments: fc.array(plan(kinds), { minLength: 2, maxLength: maxPayments }),
      steps: fc.array(steps(faults, weights), { minLength: minSteps, maxLength: maxSteps }),
    })
    .map(described);
}

/** The history, printed as `describeHistory` says when fast-check shows it. */
function described(history: History): History {
  return Object.assign({ ...history }, { [fc.toStringMethod]: () => describeHistory(history) });
}

/** A history as a list a person can read (and a failing run prints). */
export function describeHistory(history: History): string {
  const name = (n: number) => `#${n % history.payments.length}`;
  const lines = [
    `depth ${history.depth}, late-collect window ${history.lateCollectWindow}s${history.faultyFirst ? ", faulty provider first" : ""}, provider seed ${
      history.seed
    }`,
    ...history.payments.map((p, i) => `payment #${i}: ${describePlan(p)}`),
    ...history.steps.map((s, i) => {
      switch (s.kind) {
        case "block":
          return `${i}. block: ${s.payments.map(name).join(" ")}${s.gap ? ` (+${s.gap}s)` : ""}`;
        case "empty":
          return `${i}. ${s.count} empty block(s)`;
        case "reorg":
          return `${i}. reorg depth ${s.depth} → ${s.length} block(s), ${s.mode} (salt ${s.salt})`;
        case "step":
          return `${i}. indexer: ${s.count} step(s)`;
        case "catchUp":
          return `${i}. indexer: catch up`;
        case "restart":
          return `${i}. indexer restarted${s.faultyFirst ? ", faulty provider first" : ""}`;
        case "fault":
          return `${i}. fault: ${JSON.stringify(s.fault)}`;
        case "heal":
          return `${i}. faults healed`;
        case "checkout":
          return `${i}. checkout opened: ${name(s.payment)}`;
        default:
          throw new Error(`a step of no known kind: ${JSON.stringify(s satisfies never)}`);
      }
    }),
  ];
  return `\n    ${lines.join("\n    ")}`;
}
