import fc from "fast-check";

/**
 * Random command sequences for the differential test (test/differentialModel.test.ts): plain data naming the
 * run's intents, tokens and accounts by their place, with amounts as shares of what the escrow holds at that step, so
 * that a sequence keeps its meaning when fast-check shrinks it.
 */

/** How many intents a run signs; each command names one by its place. */
const INTENTS = 8;

/** 0: USDT, 1: USDC, 2: BNB, the fixture's tokens at indexes 1 to 3. */
export type TokenSlot = 0 | 1 | 2;

/** Who receives a refund, a stray or a claim; `refuser` is a contract that rejects BNB, `zero` the zero address. */
export type Receiver = "customer" | "other" | "refuser" | "zero";

export interface IntentSpec {
  merchant: 0 | 1;
  /** The price in US cents. */
  cents: number;
  /** Seconds from the run's start to the expiry. */
  expiresIn: number;
  refundTo: "none" | "wallet" | "refuser";
  /** Bit `i` accepts token slot `i`. */
  accepts: number;
}

/**
 * A deposit's size: `bps` of the intent's amount in USD (less, with `topUp`, what the payment already holds in that
 * token at today's price), in token units rounded up, then nudged by a unit to either side of the boundary.
 */
export interface Share {
  bps: bigint;
  topUp: boolean;
  nudge: bigint;
}

export type Command =
  | { kind: "pay"; intent: number; token: TokenSlot; payer: 0 | 1; forRefuser: boolean; share: Share }
  | { kind: "transfer"; intent: number; token: TokenSlot; from: 0 | 1; share: Share }
  | { kind: "collect"; intent: number; token: TokenSlot; byOperator: boolean }
  /** The token's feed answers its last answer times `bps` / 10,000, written now. */
  | { kind: "price"; token: TokenSlot; bps: bigint }
  | { kind: "wait"; seconds: bigint }
  /** Time moves so that the next transaction lands at the intent's expiry or late-collect window end, plus `offset`. */
  | { kind: "warp"; intent: number; to: "expiry" | "windowEnd"; offset: bigint }
  | { kind: "expire"; intent: number; token: TokenSlot; byOperator: boolean }
  /** `bps` of what is left to refund (above 10,000: one unit more than that). */
  | { kind: "refund"; intent: number; byOtherMerchant: boolean; to: Receiver; bps: bigint }
  | { kind: "refundDepositAddress"; intent: number; token: TokenSlot; to: Receiver; bps: bigint; byOperator: boolean }
  | { kind: "returnStray"; intent: number; token: TokenSlot; to: Receiver; byOperator: boolean }
  | { kind: "withdraw"; merchant: 0 | 1; token: TokenSlot; bps: bigint }
  | { kind: "claim"; byRefuser: boolean; token: TokenSlot; to: Receiver }
  | { kind: "withdrawFees"; token: TokenSlot }
  | { kind: "setFee"; bps: bigint }
  | { kind: "setTolerance"; token: TokenSlot; bps: bigint };

const intent = fc.integer({ min: 0, max: INTENTS - 1 });
const SLOTS: readonly TokenSlot[] = [0, 1, 2];
const token = fc.constantFrom(...SLOTS);
const two = fc.constantFrom<0 | 1>(0, 1);
/** Mostly false: a call by the wrong account only reverts. */
const rarely = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const receiver = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<Receiver>("customer", "other", "refuser") },
  { weight: 1, arbitrary: fc.constant<Receiver>("zero") },
);
/** A part of a whole, with its edges: nothing, all of it, and one unit more. */
const part = fc.oneof(fc.constantFrom(0n, 10_000n, 10_001n), fc.bigInt({ min: 1n, max: 10_000n }));
/** Full, just short within or beyond a tolerance, partial and over. */
const share: fc.Arbitrary<Share> = fc.record({
  bps: fc.oneof(fc.constantFrom(10_000n, 9_980n, 9_950n, 9_900n, 9_899n, 5_000n), fc.bigInt({ min: 1n, max: 20_000n })),
  topUp: fc.boolean(),
  nudge: fc.constantFrom(-1n, 0n, 1n),
});
/** Basis points up to 6%: the fee's and tolerance's cap is 5%. */
const capped = fc.oneof(fc.constantFrom(0n, 20n, 100n, 500n, 501n), fc.bigInt({ min: 0n, max: 600n }));

const intentSpecs: fc.Arbitrary<IntentSpec[]> = fc.array(
  fc.record({
    merchant: two,
    cents: fc.integer({ min: 100, max: 50_000 }),
    expiresIn: fc.integer({ min: 600, max: 14_400 }),
    refundTo: fc.constantFrom<IntentSpec["refundTo"]>("none", "none", "wallet", "refuser"),
    // Mostly every token, so that most deposits are accepted; else any non-empty subset.
    accepts: fc.oneof({ weight: 3, arbitrary: fc.constant(7) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  }),
  { minLength: INTENTS, maxLength: INTENTS },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("pay" as const),
      intent,
      token,
      payer: two,
      forRefuser: fc.boolean(),
      share,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("transfer" as const), intent, token, from: two, share }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("collect" as const), intent, token, byOperator: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("price" as const),
      token,
      bps: fc.oneof(fc.constant(10_000n), fc.bigInt({ min: 8_000n, max: 12_000n })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      seconds: fc.oneof({ weight: 3, arbitrary: fc.bigInt({ min: 1n, max: 600n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 601n, max: 5_400n }) }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("warp" as const),
      intent,
      to: fc.constantFrom("expiry" as const, "windowEnd" as const),
      offset: fc.constantFrom(-1n, 0n, 1n),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("expire" as const), intent, token, byOperator: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("refund" as const),
      intent,
      byOtherMerchant: rarely,
      to: receiver,
      bps: part,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("refundDepositAddress" as const),
      intent,
      token,
      to: receiver,
      bps: part,
      byOperator: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("returnStray" as const),
      intent,
      token,
      to: receiver,
      byOperator: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), merchant: two, token, bps: part }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("claim" as const), byRefuser: fc.boolean(), token, to: receiver }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdrawFees" as const), token }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("setFee" as const), bps: capped }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("setTolerance" as const), token, bps: capped }) },
);

/** A deposit that pays the amount, or more. */
const full: fc.Arbitrary<Share> = fc.record({
  bps: fc.bigInt({ min: 10_000n, max: 15_000n }),
  topUp: fc.constant(false),
  nudge: fc.constant(0n),
});
/** A deposit short of the amount. */
const partial: fc.Arbitrary<Share> = fc.record({
  bps: fc.bigInt({ min: 1n, max: 9_800n }),
  topUp: fc.constant(false),
  nudge: fc.constant(0n),
});
const deadline = fc.constantFrom("expiry" as const, "windowEnd" as const);
/** Then, maybe, the refuser claims what could not be sent to it (a refund in BNB). */
const claimTo = fc.option(receiver, { nil: undefined });
const claim = (token: TokenSlot, to: Receiver | undefined): Command[] => (to === undefined ? [] : [{ kind: "claim", byRefuser: true, token, to }]);

/**
 * Commands that mean more together than drawn apart, on one intent and a token it accepts: a transfer then its
 * collect; a partial payment then its top-up; a partial payment, its expiry (at the expiry or past the late-collect
 * window) and a claim; a payment, its refund and a claim; a fee, a payment, its merchant's withdrawal and the fees'; a
 * transfer returned as a stray; a collected transfer, its expiry and its refund by the operator; a partial payment
 * to the deposit address, a top-up in time collected late, and expiries within and at the end of the late-collect
 * window.
 */
function episodes(intents: readonly IntentSpec[]): fc.Arbitrary<Command[]> {
  const target = fc.integer({ min: 0, max: intents.length - 1 }).chain((intent) =>
    fc.record({
      intent: fc.constant(intent),
      token: fc.constantFrom(...SLOTS.filter((slot) => (intents[intent].accepts >> slot) & 1)),
    }),
  );
  const payer = { payer: two, forRefuser: fc.boolean() };
  // BNB refunds are the ones the refuser cannot take: mostly BNB, for the claims that follow.
  const native = intents.flatMap((spec, intent) => ((spec.accepts >> 2) & 1 ? [{ intent, token: 2 as const }] : []));
  const nativeTarget = native.length === 0 ? target : fc.oneof(target, fc.constantFrom(...native));
  // Deposit-address deposits of an intent without `refundTo` wait for the operator after an expiry.
  const kept = intents.flatMap((spec, intent) =>
    spec.refundTo === "none" ? SLOTS.filter((slot) => (spec.accepts >> slot) & 1).map((token) => ({ intent, token })) : [],
  );
  const keptTarget = kept.length === 0 ? target : fc.constantFrom(...kept);
  return fc.oneof(
    fc.record({ target, from: two, share, byOperator: fc.boolean() }).map(({ target, from, share, byOperator }): Command[] => [
      { kind: "transfer", ...target, from, share },
      { kind: "collect", ...target, byOperator },
    ]),
    fc.record({ target, ...payer, first: partial, second: share }).map(({ target, payer, forRefuser, first, second }): Command[] => [
      { kind: "pay", ...target, payer, forRefuser, share: first },
      { kind: "pay", ...target, payer, forRefuser, share: { ...second, topUp: true } },
    ]),
    fc
      .record({ target: nativeTarget, ...payer, share: partial, to: deadline, byOperator: fc.boolean(), claimTo })
      .map(({ target, payer, forRefuser, share, to, byOperator, claimTo }): Command[] => [
        { kind: "pay", ...target, payer, forRefuser, share },
        { kind: "warp", intent: target.intent, to, offset: 1n },
        { kind: "expire", ...target, byOperator },
        ...claim(target.token, claimTo),
      ]),
    fc
      .record({ target, payer: two, share: full, byOtherMerchant: rarely, to: receiver, bps: part, claimTo })
      .map(({ target, payer, share, byOtherMerchant, to, bps, claimTo }): Command[] => [
        { kind: "pay", ...target, payer, forRefuser: false, share },
        { kind: "refund", intent: target.intent, byOtherMerchant, to, bps },
        ...claim(target.token, claimTo),
      ]),
    fc
      .record({ fee: fc.option(capped, { nil: undefined }), target, payer: two, share: full, bps: part })
      .map(({ fee, target, payer, share, bps }): Command[] => [
        ...(fee === undefined ? [] : [{ kind: "setFee" as const, bps: fee }]),
        { kind: "pay", ...target, payer, forRefuser: false, share },
        { kind: "withdraw", merchant: intents[target.intent].merchant, token: target.token, bps },
        { kind: "withdrawFees", token: target.token },
      ]),
    fc.record({ intent, token, from: two, share, to: receiver, byOperator: fc.boolean() }).map(({ intent, token, from, share, to, byOperator }): Command[] => [
      { kind: "transfer", intent, token, from, share },
      { kind: "returnStray", intent, token, to, byOperator },
    ]),
    fc
      .record({ target: keptTarget, from: two, share: partial, to: receiver, bps: part, byOperator: fc.boolean() })
      .map(({ target, from, share, to, bps, byOperator }): Command[] => [
        { kind: "transfer", ...target, from, share },
        { kind: "collect", ...target, byOperator: false },
        { kind: "warp", intent: target.intent, to: "expiry", offset: 1n },
        { kind: "expire", ...target, byOperator: true },
        { kind: "refundDepositAddress", ...target, to, bps, byOperator },
      ]),
    fc
      .record({
        target,
        from: two,
        first: partial,
        share,
        byOperator: fc.boolean(),
        offset: fc.constantFrom(-1n, 0n, 1n),
      })
      .map(({ target, from, first, share, byOperator, offset }): Command[] => [
        { kind: "transfer", ...target, from, share: first },
        { kind: "collect", ...target, byOperator: false },
        { kind: "transfer", ...target, from, share: { ...share, topUp: true } },
        { kind: "warp", intent: target.intent, to: "expiry", offset: 1n },
        { kind: "expire", ...target, byOperator: false },
        { kind: "collect", ...target, byOperator },
        { kind: "warp", intent: target.intent, to: "windowEnd", offset },
        { kind: "expire", ...target, byOperator: false },
      ]),
  );
}

/** A run: its intents, and up to `maxLength` commands on them, drawn one by one or in episodes. */
export const runs = (maxLength: number): fc.Arbitrary<{ intents: IntentSpec[]; commands: Command[] }> =>
  intentSpecs.chain((intents) =>
    fc
      .array(fc.oneof({ weight: 3, arbitrary: command.map((one) => [one]) }, { weight: 2, arbitrary: episodes(intents) }), { maxLength, size: "max" })
      .map((parts) => ({ intents, commands: parts.flat().slice(0, maxLength) })),
  );
