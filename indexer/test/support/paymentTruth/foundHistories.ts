import type { History } from "./histories";

/**
 * The smallest histories found so far on which the indexer failed the truth (shrunk by hand from random ones). The
 * property tests play them first, every run: each stays a failing example until the indexer is fixed, and a
 * regression example after. The `subset` faults keep or drop each log by the provider's seeded generator, so those
 * two lose a log only while the indexer asks for logs as it did when they were found (2026-12-05). They were found
 * before intents named their accepted tokens: each intent accepts its plan's token only, and no third party deposits.
 */
export const FOUND_HISTORIES: ReadonlyArray<{ found: string; history: History }> = [
  {
    found:
      "a false `expired`: after a reorganisation that replaced a block past the expiry with one before it, the indexer " +
      "judged the expiry by the orphaned block's timestamp (its kept blocks outrank the segment's headers) and expired a " +
      "payment that was then paid in time",
    history: {
      seed: 1,
      faultyFirst: false,
      depth: 4,
      lateCollectWindow: 30,
      payments: [
        { kind: "full", token: "USDT", alsoAccepts: [], usd: 100, ttl: 30, refundTo: false, intruder: null },
        { kind: "nothing", token: "USDT", alsoAccepts: [], usd: 10, ttl: 200, refundTo: false, intruder: null },
      ],
      steps: [
        { kind: "catchUp" },
        // An empty block 43 s after the start, past #0's expiry (30 s); the indexer follows it.
        { kind: "block", payments: [1], gap: 40 },
        { kind: "step", count: 1 },
        // Replaced by a block at +4 s: on the final chain the expiry is still ahead.
        { kind: "reorg", depth: 1, length: 1, mode: "reorder", salt: 0 },
        { kind: "empty", count: 3 },
        { kind: "block", payments: [0], gap: 0 },
        { kind: "empty", count: 3 },
        { kind: "catchUp" },
      ],
    },
  },
  {
    found:
      "a refund lost for good: a provider answered a range's logs with a subset that kept the block's completion and " +
      "left out its refund (the bloom check catches only blocks left with no log); the payment stays paid with nothing refunded",
    history: {
      seed: 1,
      faultyFirst: true,
      depth: 4,
      lateCollectWindow: 30,
      payments: [{ kind: "partiallyRefunded", token: "USDT", alsoAccepts: [], usd: 100, ttl: 120, refundTo: false, intruder: null }],
      steps: [
        { kind: "fault", fault: { kind: "logs", by: "range", answer: "subset", times: 0, nudge: false } },
        { kind: "block", payments: [0, 0], gap: 0 },
        { kind: "empty", count: 12 },
        { kind: "catchUp" },
      ],
    },
  },
  {
    found:
      "an expiry lost for good: a subset answer kept the expired payment's DepositRefunded and left out its " +
      "PaymentExpired; the payment stays pending, with no settlement due that would ask the escrow",
    history: {
      seed: 7,
      faultyFirst: true,
      depth: 4,
      lateCollectWindow: 30,
      payments: [{ kind: "partialExpired", token: "USDT", alsoAccepts: [], usd: 100, ttl: 10, refundTo: false, intruder: null }],
      steps: [
        { kind: "block", payments: [0], gap: 0 },
        { kind: "fault", fault: { kind: "logs", by: "range", answer: "subset", times: 0, nudge: false } },
        { kind: "block", payments: [0], gap: 15 },
        { kind: "empty", count: 12 },
        { kind: "catchUp" },
      ],
    },
  },
  {
    found:
      "BNB that reached the deposit address and was collected within one catch-up range is never announced " +
      "(`pending`, deposit_address_funded): balances are read only at a segment's end and expiry blocks",
    history: {
      seed: 1,
      faultyFirst: false,
      depth: 4,
      lateCollectWindow: 30,
      payments: [{ kind: "depositAddress", token: "BNB", alsoAccepts: [], usd: 100, ttl: 120, refundTo: false, intruder: null }],
      steps: [
        { kind: "block", payments: [0], gap: 0 },
        { kind: "block", payments: [0], gap: 0 },
        { kind: "empty", count: 4 },
      ],
    },
  },
  {
    found:
      "a deposit-address transfer never announced (`pending`, deposit_address_funded): a provider answered a block's " +
      "logs by hash with a subset that kept one deposit address's transfer and left out another's, and the bloom check " +
      "looked only for blocks left with no transfer (found by seed 714942098, 2026-12-06)",
    history: {
      seed: 686595,
      faultyFirst: false,
      depth: 6,
      lateCollectWindow: 15,
      payments: [
        { kind: "uncollected", token: "USDT", alsoAccepts: [], usd: 397, ttl: 94, refundTo: true, intruder: null },
        { kind: "lateCollect", token: "USDT", alsoAccepts: [], usd: 143, ttl: 118, refundTo: true, intruder: null },
        { kind: "uncollected", token: "USDT", alsoAccepts: [], usd: 11, ttl: 13, refundTo: false, intruder: null },
        { kind: "depositAddressPartial", token: "USDT", alsoAccepts: [], usd: 59, ttl: 116, refundTo: false, intruder: null },
      ],
      steps: [
        { kind: "fault", fault: { kind: "logs", by: "hash", answer: "subset", times: 1, nudge: true } },
        { kind: "step", count: 3 },
        { kind: "catchUp" },
        { kind: "block", payments: [5, 2, 7], gap: 40 },
        { kind: "catchUp" },
        { kind: "fault", fault: { kind: "lag", blocks: 2, nudge: false } },
        { kind: "block", payments: [3, 2], gap: 0 },
        { kind: "fault", fault: { kind: "logLag", blocks: 4, nudge: true } },
      ],
    },
  },
  {
    found:
      "a deposit-address arrival announced out of order: BNB reached the deposit address of a payment that accepts BNB and " +
      "USDC, then a third party paid 1% in USDC; read in one range, the indexer announced the USDC deposit (`pending`, " +
      "deposit) and never the BNB's arrival before it, which the chain shows first (`pending`, deposit_address_funded; " +
      "found by seed 12345, 2026-12-06)",
    history: {
      seed: 0,
      faultyFirst: false,
      depth: 4,
      lateCollectWindow: 15,
      payments: [
        {
          kind: "lateCollect",
          token: "BNB",
          alsoAccepts: ["USDC"],
          usd: 5,
          ttl: 10,
          refundTo: false,
          intruder: { when: "after", via: "pay", token: "other", beneficiary: false, percent: 1 },
        },
        { kind: "nothing", token: "USDT", alsoAccepts: [], usd: 5, ttl: 10, refundTo: false, intruder: null },
      ],
      // The BNB, then the USDC payment; the indexer reads both blocks (and the rest) in one range at the end.
      steps: [
        { kind: "block", payments: [0], gap: 0 },
        { kind: "block", payments: [0], gap: 0 },
      ],
    },
  },
];
