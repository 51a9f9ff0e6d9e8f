import { expect } from "chai";
import type { Hex } from "viem";
import {
  deepestFinalBlock,
  nextStep,
  TRANSACTION_STATES,
  type KeeperTransaction,
  type LifecyclePolicy,
  type Observed,
  type Refusal,
  type SignedTransaction,
  type Step,
  type TransactionState,
} from "./transactionLifecycle";

const POLICY: LifecyclePolicy = { finalityDepth: 12, stuckAfterMs: 30_000, maxAttempts: 6 };
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const FIRST = hash(1);
const SECOND = hash(2);
const NOOP = hash(9);
const CALL = "0xc0ffee" as Hex;
const RAW = "0x02aa" as Hex;
const NOOP_RAW = "0x02bb" as Hex;
const NONCE = 7;
const HEAD = 1_000;
/** A block not final at HEAD, and the head at which it becomes final. */
const RECENT = 995;
const FINAL_HEAD = RECENT + POLICY.finalityDepth - 1;
const CHANGED = new Date("2026-01-01T00:00:00Z");
const later = (ms: number) => new Date(CHANGED.getTime() + ms);

/** Each state as a transaction stands in it before the round (the same call, nonce 7, sent at CHANGED). */
const sent: SignedTransaction = {
  status: "sent",
  nonce: NONCE,
  txHash: FIRST,
  gasPrice: 10n,
  attempts: 1,
  updatedAt: CHANGED,
  calldata: CALL,
  rawTx: RAW,
  txHashes: [FIRST],
  cancelTx: null,
  minedBlock: null,
};
const mined: SignedTransaction = { ...sent, status: "mined", minedBlock: RECENT };
const cancelling: SignedTransaction = { ...sent, status: "cancelling", txHash: NOOP, cancelTx: NOOP_RAW, gasPrice: 13n, attempts: 2 };
const STATES: Record<TransactionState, KeeperTransaction> = {
  planned: { status: "planned", nonce: NONCE },
  sent,
  mined,
  cancelling,
  done: { ...sent, status: "done", minedBlock: 980 },
  failed: { ...sent, status: "failed", minedBlock: 980 },
};

/** Nothing mined, the latest attempt in the node's pool, the call still wanted, the nonce unused, one second on. */
const quiet: Observed = { receipt: null, known: true, wanted: true, head: HEAD, minedNonce: NONCE, finalNonce: NONCE, now: later(1_000), refused: new Set() };
const callReceipt = { hash: FIRST, block: RECENT, reverted: false, of: "call" as const };
const stuck = later(POLICY.stuckAfterMs);

/**
 * Each observation: what the round shows. `reorganised away`: no receipt now, where one was recorded before (a mined
 * transaction's; for a cancelling one, its no-op's; a sent one has none to lose).
 */
const OBSERVATIONS: Record<string, (transaction: KeeperTransaction) => [KeeperTransaction, Observed]> = {
  receipt: (t) => [t, { ...quiet, receipt: callReceipt }],
  "final receipt": (t) => [t, { ...quiet, receipt: callReceipt, head: FINAL_HEAD }],
  reverted: (t) => [t, { ...quiet, receipt: { ...callReceipt, reverted: true }, head: FINAL_HEAD }],
  "no receipt": (t) => [t, quiet],
  "stuck past the limit": (t) => [t, { ...quiet, now: stuck }],
  "unknown to the node": (t) => [t, { ...quiet, known: false, now: stuck }],
  "unknown and no longer wanted": (t) => [t, { ...quiet, known: false, wanted: false, now: stuck }],
  "nonce used by another, final": (t) => [t, { ...quiet, minedNonce: NONCE + 1, finalNonce: NONCE + 1 }],
  "nonce used by another, not final": (t) => [t, { ...quiet, minedNonce: NONCE + 1 }],
  "reorganised away": (t) => [t.status === "cancelling" ? { ...t, minedBlock: RECENT } : t, quiet],
  // The escrow refuses the call now (its deposits paused): a replacement is refused when estimated.
  paused: (t) => [t, { ...quiet, now: stuck, refused: new Set<Refusal>(["reprice"]) }],
};

const WAIT: Step = { kind: "wait" };
const recorded = (status: "mined" | "done" | "failed", block = RECENT): Step => ({
  kind: "record_receipt",
  status,
  hash: FIRST,
  block,
  reverted: status === "failed",
  repriced: false,
});
const reorganised: Step = { kind: "reorganised", status: "sent" };
const rebroadcastCall: Step = { kind: "rebroadcast", raw: RAW, status: "sent" };
const rebroadcastNoop: Step = { kind: "rebroadcast", raw: NOOP_RAW, status: "cancelling" };
const reprice: Step = { kind: "reprice", calldata: CALL, nonce: NONCE, gasPrice: 10n };
const cancelCall: Step = { kind: "cancel", nonce: NONCE, gasPrice: 10n };
const cancelAgain: Step = { kind: "cancel", nonce: NONCE, gasPrice: 13n };
const replaced: Step = { kind: "release", outcome: "replaced" };
const every = (step: Step) => Object.fromEntries(Object.keys(OBSERVATIONS).map((name) => [name, step]));

/** The lifecycle table: every state × every observation → the next step. */
const TABLE: Record<TransactionState, Record<string, Step>> = {
  // Claimed, never signed (the process stopped before recording it): nothing went out, whatever the chain shows.
  planned: every({ kind: "release", outcome: "never_sent" }),
  sent: {
    receipt: recorded("mined"),
    "final receipt": recorded("done"),
    reverted: recorded("failed"),
    "no receipt": WAIT,
    "stuck past the limit": reprice,
    "unknown to the node": rebroadcastCall,
    "unknown and no longer wanted": cancelCall,
    "nonce used by another, final": replaced,
    "nonce used by another, not final": WAIT,
    // A sent transaction had no receipt to lose.
    "reorganised away": WAIT,
    paused: WAIT,
  },
  mined: {
    receipt: WAIT,
    "final receipt": recorded("done"),
    reverted: recorded("failed"),
    // A mined transaction without its receipt: its block is gone, whatever else the round shows.
    "no receipt": reorganised,
    "stuck past the limit": reorganised,
    "unknown to the node": reorganised,
    "unknown and no longer wanted": reorganised,
    "nonce used by another, final": reorganised,
    "nonce used by another, not final": reorganised,
    "reorganised away": reorganised,
    paused: reorganised,
  },
  cancelling: {
    // The call was mined after all, before the no-op.
    receipt: recorded("mined"),
    "final receipt": recorded("done"),
    reverted: recorded("failed"),
    "no receipt": WAIT,
    "stuck past the limit": cancelAgain,
    "unknown to the node": rebroadcastNoop,
    "unknown and no longer wanted": rebroadcastNoop,
    "nonce used by another, final": replaced,
    "nonce used by another, not final": WAIT,
    "reorganised away": { kind: "reorganised", status: "cancelling" },
    // A no-op calls no escrow: a pause does not stop it.
    paused: cancelAgain,
  },
  done: every(WAIT),
  failed: every(WAIT),
};

describe("a keeper transaction's lifecycle", () => {
  describe("the lifecycle table", () => {
    for (const state of TRANSACTION_STATES) {
      for (const [name, observe] of Object.entries(OBSERVATIONS)) {
        const expected = TABLE[state][name];
        it(`${state} × ${name} → ${expected.kind}`, () => {
          const [transaction, observed] = observe(STATES[state]);
          expect(nextStep(transaction, observed, POLICY)).to.deep.equal(expected);
        });
      }
    }

    it("covers every state and every observation", () => {
      expect(Object.keys(TABLE)).to.have.members([...TRANSACTION_STATES]);
      for (const state of TRANSACTION_STATES) expect(Object.keys(TABLE[state])).to.have.members(Object.keys(OBSERVATIONS));
    });
  });

  describe("receipts", () => {
    it("is final once as deep as the confirmations, not a block before", () => {
      expect(deepestFinalBlock(FINAL_HEAD, POLICY)).to.equal(RECENT);
      expect(nextStep(sent, { ...quiet, receipt: callReceipt, head: FINAL_HEAD - 1 }, POLICY)).to.deep.equal(recorded("mined"));
      expect(nextStep(sent, { ...quiet, receipt: callReceipt, head: FINAL_HEAD }, POLICY)).to.deep.equal(recorded("done"));
    });

    it("records a revert as mined until final, then failed", () => {
      const reverted = { ...callReceipt, reverted: true };
      expect(nextStep(sent, { ...quiet, receipt: reverted }, POLICY)).to.deep.equal({ ...recorded("mined"), reverted: true });
      expect(nextStep(mined, { ...quiet, receipt: reverted, head: FINAL_HEAD }, POLICY)).to.deep.equal(recorded("failed"));
    });

    it("names a receipt of a later attempt repriced, as viem does, and records the block it moved to", () => {
      const repriced = { ...sent, txHash: SECOND, txHashes: [FIRST, SECOND] };
      const receipt = { ...callReceipt, hash: SECOND };
      expect(nextStep(repriced, { ...quiet, receipt }, POLICY)).to.deep.equal({ ...recorded("mined"), hash: SECOND, repriced: true });
      // Mined again in another block (a reorganisation put it back): recorded there.
      expect(nextStep(mined, { ...quiet, receipt: { ...callReceipt, block: RECENT + 1 } }, POLICY)).to.deep.equal(recorded("mined", RECENT + 1));
      // An earlier attempt mined instead of the one recorded as mined.
      expect(nextStep({ ...mined, txHash: SECOND, txHashes: [FIRST, SECOND] }, { ...quiet, receipt: callReceipt }, POLICY)).to.deep.equal(recorded("mined"));
    });

    it("releases the claim once the no-op that took the nonce is final (cancelled), records it until then", () => {
      const noop = { hash: NOOP, block: RECENT, reverted: false, of: "noop" as const };
      expect(nextStep(cancelling, { ...quiet, receipt: noop }, POLICY)).to.deep.equal({ kind: "record_noop_receipt", hash: NOOP, block: RECENT });
      expect(nextStep({ ...cancelling, minedBlock: RECENT }, { ...quiet, receipt: noop }, POLICY)).to.deep.equal(WAIT);
      expect(nextStep({ ...cancelling, minedBlock: RECENT }, { ...quiet, receipt: noop, head: FINAL_HEAD }, POLICY)).to.deep.equal({
        kind: "release",
        outcome: "cancelled",
      });
    });
  });

  describe("transactions not mined", () => {
    const dropped: Observed = { ...quiet, known: false, now: stuck };

    it("waits the limit out to the millisecond before replacing", () => {
      expect(nextStep(sent, { ...quiet, now: later(POLICY.stuckAfterMs - 1) }, POLICY)).to.deep.equal(WAIT);
      expect(nextStep(sent, { ...quiet, now: later(POLICY.stuckAfterMs) }, POLICY)).to.deep.equal(reprice);
    });

    it("stops replacing a stuck transaction after the last attempt, and lets a refused reprice wait", () => {
      const exhausted = { ...sent, attempts: POLICY.maxAttempts };
      expect(nextStep(exhausted, { ...quiet, now: stuck }, POLICY)).to.deep.equal(WAIT);
      expect(nextStep({ ...cancelling, attempts: POLICY.maxAttempts }, { ...quiet, now: stuck }, POLICY)).to.deep.equal(WAIT);
      expect(nextStep({ ...sent, attempts: POLICY.maxAttempts - 1 }, { ...quiet, now: stuck }, POLICY)).to.deep.equal(reprice);
    });

    it("falls back from the same bytes to the same call repriced to a no-op as each is refused", () => {
      expect(nextStep(sent, dropped, POLICY)).to.deep.equal(rebroadcastCall);
      expect(nextStep(sent, { ...dropped, refused: new Set<Refusal>(["rebroadcast"]) }, POLICY)).to.deep.equal(reprice);
      expect(nextStep(sent, { ...dropped, refused: new Set<Refusal>(["rebroadcast", "reprice"]) }, POLICY)).to.deep.equal(cancelCall);
      // Out of attempts: no reprice, the no-op takes the nonce.
      expect(nextStep({ ...sent, attempts: POLICY.maxAttempts }, { ...dropped, refused: new Set<Refusal>(["rebroadcast"]) }, POLICY)).to.deep.equal(cancelCall);
    });

    it("replaces a dropped no-op the node refuses again with a dearer one, until the last attempt", () => {
      const refused = { ...dropped, refused: new Set<Refusal>(["rebroadcast"]) };
      expect(nextStep(cancelling, refused, POLICY)).to.deep.equal(cancelAgain);
      expect(nextStep({ ...cancelling, attempts: POLICY.maxAttempts }, refused, POLICY)).to.deep.equal(WAIT);
    });

    it("after a reorganisation, asked again with the transaction as recorded, waits the limit out from then", () => {
      const recordedNow: SignedTransaction = { ...mined, status: "sent", minedBlock: null, updatedAt: dropped.now };
      expect(nextStep(mined, dropped, POLICY)).to.deep.equal(reorganised);
      expect(nextStep(recordedNow, dropped, POLICY)).to.deep.equal(WAIT);
      expect(nextStep(recordedNow, dropped, { ...POLICY, stuckAfterMs: 0 })).to.deep.equal(rebroadcastCall);
    });

    it("waits for a nonce used by another transaction while no block is final yet", () => {
      expect(nextStep(sent, { ...quiet, minedNonce: NONCE + 1, finalNonce: null }, POLICY)).to.deep.equal(WAIT);
    });
  });
});
