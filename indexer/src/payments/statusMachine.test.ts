import { expect } from "chai";
import fc from "fast-check";
import type { Address, Hex } from "viem";
import { newPayment, type Payment } from "./payment";
import type { ChainPaymentEvent, ChainPosition, PaymentEvent } from "./paymentEvents";
import { applyEvent, reconcile, replay, transition, type MachineSettings, type Outcome } from "./statusMachine";
import { ALLOWED_TRANSITIONS, PAYMENT_STATUSES, type PaymentStatus } from "./statuses";

const SETTINGS: MachineSettings = { confirmations: { depth: 12, mode: "depth" }, lateCollectWindow: 3600n };
const ID = `0x${"11".repeat(32)}` as Hex;
const TOKEN = `0x${"22".repeat(20)}` as Address;
const PAYER = `0x${"33".repeat(20)}` as Address;
const TX = `0x${"44".repeat(32)}` as Hex;
const USD = (n: number) => BigInt(n) * 10n ** 18n;
const EXPIRY = 1_000_000n;

const created = () => newPayment({ id: ID, amountUsd: USD(100), expiry: EXPIRY });
const at = (blockNumber: number, logIndex = 0): ChainPosition => ({ blockNumber, logIndex });

function deposited(position: ChainPosition, usd: number, received: number): ChainPaymentEvent {
  return {
    kind: "deposited",
    position,
    transactionHash: TX,
    payer: PAYER,
    token: TOKEN,
    amount: USD(usd),
    valueUsd: USD(usd),
    receivedUsd: USD(received),
    remainingUsd: USD(100 - received),
  };
}

function completed(position: ChainPosition, usd: number, received: number): ChainPaymentEvent {
  return {
    kind: "completed",
    position,
    transactionHash: TX,
    payer: PAYER,
    token: TOKEN,
    amount: USD(usd),
    valueUsd: USD(usd),
    receivedUsd: USD(received),
    excessUsd: received > 100 ? USD(received - 100) : 0n,
    fee: 0n,
  };
}

const head = (number: number, timestamp = 0n, finalized?: number): PaymentEvent => ({
  kind: "head",
  head: { number, finalized },
  timestamp,
});

function ok(outcome: Outcome) {
  if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
  return outcome;
}

/** Applies events one by one, collecting every status change. */
function run(events: PaymentEvent[], start: Payment = created(), settings = SETTINGS) {
  let payment = start;
  const changes: Array<[PaymentStatus, PaymentStatus, string]> = [];
  for (const event of events) {
    const outcome = ok(applyEvent(payment, event, settings));
    payment = outcome.payment;
    for (const change of outcome.changes) changes.push([change.from, change.to, change.reason]);
  }
  return { payment, changes };
}

describe("the payment status machine", () => {
  describe("the lifecycle table", () => {
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const allowed = ALLOWED_TRANSITIONS[from].includes(to);
        it(`${allowed ? "allows" : "refuses"} ${from} → ${to}`, () => {
          const payment: Payment = { ...created(), status: from, sequence: 4 };
          const result = transition(payment, to, "deposit");
          if (allowed) {
            if (!result.ok) throw new Error(result.reason);
            expect(result.payment.status).to.equal(to);
            expect(result.payment.previousStatus).to.equal(from);
            expect(result.change).to.include({ sequence: 5, from, to, paymentId: ID });
          } else {
            expect(result).to.deep.equal({ ok: false, reason: `a ${from} payment cannot become ${to}` });
          }
        });
      }
    }

    it("leaves nothing but refunds after a final status", () => {
      for (const status of ["failed", "expired", "refunded"] as const) expect(ALLOWED_TRANSITIONS[status]).to.be.empty;
    });
  });

  describe("paying", () => {
    it("goes initiated → pending → confirming → paid for a checkout, a partial deposit and the rest", () => {
      const { payment, changes } = run([
        { kind: "checkout_opened" },
        deposited(at(10), 40, 40),
        completed(at(11), 60, 100),
        head(21),
        head(22),
      ]);
      expect(changes).to.deep.equal([
        ["initiated", "pending", "checkout_opened"],
        ["pending", "confirming", "full_value_received"],
        ["confirming", "paid", "confirmed"],
      ]);
      expect(payment).to.include({ status: "paid", previousStatus: "confirming", sequence: 3, completedBlock: 11 });
      expect(payment.receivedUsd).to.equal(USD(100));
      expect(payment.paidAmount).to.equal(USD(100));
      expect(payment.remainingUsd).to.equal(0n);
    });

    it("is not paid at 11 confirmations of 12, and is at 12", () => {
      expect(run([completed(at(100), 100, 100), head(110)]).payment).to.include({ status: "confirming", completedBlock: 100 });
      expect(run([completed(at(100), 100, 100), head(111)]).payment.status).to.equal("paid");
    });

    it("records the excess of an overpayment", () => {
      const { payment } = run([completed(at(5), 150, 150)]);
      expect(payment.excessUsd).to.equal(USD(50));
      expect(payment.status).to.equal("confirming");
    });

    it("records a deposit waiting at the deposit address as pending", () => {
      const { payment, changes } = run([{ kind: "deposit_address_funded", position: at(3), transactionHash: TX, token: TOKEN, amount: 1n }]);
      expect(changes).to.deep.equal([["initiated", "pending", "deposit_address_funded"]]);
      expect(payment.depositAddressFunded).to.equal(true);
    });

    for (const [mode, depth, finalized, paid] of [
      ["finalized", 12, 5, true],
      ["finalized", 12, 4, false],
      ["either", 50, 5, true],
      ["both", 2, 5, false],
      ["both", 2, 6, false],
    ] as const) {
      it(`${mode} finality with depth ${depth} and block 5 at finalized ${finalized}: ${paid ? "paid" : "still confirming"}`, () => {
        const settings: MachineSettings = { ...SETTINGS, confirmations: { depth, mode } };
        const { payment } = run([completed(at(5), 100, 100), head(5, 0n, finalized)], created(), settings);
        expect(payment.status).to.equal(paid ? "paid" : "confirming");
      });
    }

    it("is paid at once with a depth of one", () => {
      const settings: MachineSettings = { ...SETTINGS, confirmations: { depth: 1, mode: "depth" } };
      const { changes } = run([completed(at(5), 100, 100)], created(), settings);
      expect(changes.map(([, to]) => to)).to.deep.equal(["confirming", "paid"]);
    });
  });

  describe("expiry", () => {
    it("expires an untouched payment once its time and the late-collect window have passed, not before", () => {
      expect(run([head(1, EXPIRY + 3600n)]).payment.status).to.equal("initiated");
      expect(run([head(1, EXPIRY + 3601n)]).changes).to.deep.equal([["initiated", "expired", "time_elapsed"]]);
    });

    it("keeps a payment whose deposit address was funded pending until the window closes", () => {
      const funded: PaymentEvent = { kind: "deposit_address_funded", position: at(3), transactionHash: TX, token: TOKEN, amount: 1n };
      expect(run([funded, head(9, EXPIRY + 3600n)]).payment.status).to.equal("pending");
      expect(run([funded, head(9, EXPIRY + 3601n)]).payment.status).to.equal("expired");
    });

    it("never expires a payment whose full value arrived, however slow the confirmations", () => {
      const { payment } = run([completed(at(5), 100, 100), head(6, EXPIRY * 10n)]);
      expect(payment.status).to.equal("confirming");
    });

    it("leaves a partly paid payment to the escrow's expiry, then records the refunds", () => {
      const { payment, changes } = run([
        deposited(at(5), 30, 30),
        head(6, EXPIRY + 10n),
        { kind: "expired", position: at(7), transactionHash: TX, token: TOKEN, amount: USD(30), receivedUsd: USD(30) },
        { kind: "deposit_refunded", position: at(7, 1), transactionHash: TX, payer: PAYER, to: PAYER, token: TOKEN, amount: USD(30) },
      ]);
      expect(changes).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "expired", "expired_on_chain"],
      ]);
      expect(payment.depositsReturned).to.equal(USD(30));
    });

    it("fails a payment that saw only a reverted transaction when its time runs out", () => {
      const { changes } = run([{ kind: "transaction_failed", transactionHash: TX, reason: "StalePrice" }, head(2, EXPIRY + 3601n)]);
      expect(changes).to.deep.equal([["initiated", "failed", "transaction_failed"]]);
    });

    it("lets a later deposit pay a payment whose first transaction reverted", () => {
      const { payment } = run([{ kind: "transaction_failed", transactionHash: TX, reason: "x" }, completed(at(3), 100, 100), head(20, EXPIRY + 1n)]);
      expect(payment.status).to.equal("paid");
    });
  });

  describe("refunds", () => {
    const paid = () => run([completed(at(1), 100, 100), head(12)]).payment;
    const refundedEvent = (amount: number, total: number, blockNumber = 20): PaymentEvent => ({
      kind: "refunded",
      position: at(blockNumber),
      transactionHash: TX,
      to: PAYER,
      token: TOKEN,
      amount: USD(amount),
      refundedTotal: USD(total),
    });

    it("goes paid → refunding → partially_refunded → refunded", () => {
      const { changes, payment } = run(
        [{ kind: "refund_requested", amount: USD(30) }, refundedEvent(30, 30), refundedEvent(70, 100, 21)],
        paid(),
      );
      expect(changes).to.deep.equal([
        ["paid", "refunding", "refund_requested"],
        ["refunding", "partially_refunded", "refunded"],
        ["partially_refunded", "refunded", "refunded"],
      ]);
      expect(payment.refundedAmount).to.equal(USD(100));
    });

    it("returns to paid when a requested refund is abandoned", () => {
      const { changes } = run([{ kind: "refund_requested", amount: USD(10) }, { kind: "refund_abandoned", reason: "reverted" }], paid());
      expect(changes.at(-1)).to.deep.equal(["refunding", "paid", "refund_abandoned"]);
    });

    it("follows a refund made while confirming once the payment is paid", () => {
      const { changes } = run([completed(at(1), 100, 100), refundedEvent(40, 40, 2), head(12)]);
      expect(changes.slice(1)).to.deep.equal([
        ["confirming", "paid", "confirmed"],
        ["paid", "partially_refunded", "refunded"],
      ]);
    });

    it("refuses refunds that cannot be", () => {
      expect(applyEvent(created(), { kind: "refund_requested", amount: 1n }, SETTINGS)).to.deep.equal({
        ok: false,
        reason: "a initiated payment cannot be refunded",
      });
      expect(applyEvent(paid(), { kind: "refund_requested", amount: USD(101) }, SETTINGS)).to.deep.equal({
        ok: false,
        reason: `a refund of ${USD(101)} exceeds the ${USD(100)} still refundable`,
      });
      expect(applyEvent(paid(), { kind: "refund_requested", amount: 0n }, SETTINGS)).to.deep.include({ ok: false });
      expect(applyEvent(paid(), { kind: "refund_abandoned", reason: "x" }, SETTINGS)).to.deep.equal({
        ok: false,
        reason: "a paid payment has no refund under way",
      });
    });
  });

  describe("refusals of impossible chain events", () => {
    it("refuses a deposit on an expired or paid payment, and expiry of a paid one", () => {
      const expired = run([head(1, EXPIRY + 3601n)]).payment;
      expect(applyEvent(expired, deposited(at(5), 1, 1), SETTINGS)).to.deep.equal({ ok: false, reason: "a deposit cannot reach a expired payment" });
      const confirming = run([completed(at(1), 100, 100)]).payment;
      expect(applyEvent(confirming, completed(at(2), 1, 101), SETTINGS)).to.deep.include({ ok: false });
      expect(
        applyEvent(confirming, { kind: "expired", position: at(3), transactionHash: TX, token: TOKEN, amount: 1n, receivedUsd: 1n }, SETTINGS),
      ).to.deep.equal({ ok: false, reason: "a confirming payment cannot be expired by the escrow" });
      expect(
        applyEvent(created(), { kind: "deposit_refunded", position: at(3), transactionHash: TX, payer: PAYER, to: PAYER, token: TOKEN, amount: 1n }, SETTINGS),
      ).to.deep.equal({ ok: false, reason: "deposits of a initiated payment are not refunded" });
    });
  });

  describe("re-delivered logs", () => {
    it("ignores a log at or before the cursor", () => {
      const once = run([deposited(at(5, 2), 10, 10)]).payment;
      const again = ok(applyEvent(once, deposited(at(5, 2), 10, 10), SETTINGS));
      expect(again.payment).to.equal(once);
      expect(again.changes).to.be.empty;
    });

    /** A random story an escrow could tell of one payment, in chain order. */
    const story = fc
      .record({
        partials: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }),
        ending: fc.constantFrom("open", "completed", "expired"),
        refunds: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }),
        strays: fc.integer({ min: 0, max: 2 }),
        gaps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 12, maxLength: 12 }),
      })
      .map(({ partials, ending, refunds, strays, gaps }) => {
        const events: ChainPaymentEvent[] = [];
        let block = 1;
        let logIndex = 0;
        let gap = 0;
        const next = () => {
          const step = gaps[gap++ % gaps.length];
          if (step > 0) [block, logIndex] = [block + step, 0];
          else logIndex += 1;
          return at(block, logIndex);
        };
        let received = 0;
        for (const usd of partials) events.push(deposited(next(), usd, (received += usd)));
        for (let i = 0; i < strays; i++) {
          events.push({ kind: "stray_returned", position: next(), transactionHash: TX, to: PAYER, token: TOKEN, amount: 1n });
        }
        if (ending === "completed") {
          events.push(completed(next(), 100 - received, 100));
          let total = 0;
          for (const amount of refunds) {
            if (total + amount > 100) break;
            total += amount;
            events.push({ kind: "refunded", position: next(), transactionHash: TX, to: PAYER, token: TOKEN, amount: USD(amount), refundedTotal: USD(total) });
          }
        } else if (ending === "expired" && received > 0) {
          events.push({ kind: "expired", position: next(), transactionHash: TX, token: TOKEN, amount: USD(received), receivedUsd: USD(received) });
        }
        return events;
      });

    it("gives the same payment for a log sequence applied once, twice, or in overlapping re-delivered chunks", () => {
      fc.assert(
        fc.property(story, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 0, max: 60 }), (events, cuts, headNumber) => {
          const finalHead = head(headNumber);
          const once = replay(created(), [...events, finalHead], SETTINGS);
          expect(replay(created(), [...events, ...events, finalHead], SETTINGS)).to.deep.equal(once);
          // Chunks that each start a little before the previous one ended, as a retried range would.
          const bounds = [...new Set(cuts.map((cut) => cut % (events.length + 1)))].sort((a, b) => a - b);
          const chunked: PaymentEvent[] = [];
          let start = 0;
          for (const end of [...bounds, events.length]) {
            chunked.push(...events.slice(Math.max(0, start - 2), end));
            start = end;
          }
          expect(replay(created(), [...chunked, finalHead], SETTINGS)).to.deep.equal(once);
        }),
        { numRuns: 300 },
      );
    });

    it("numbers every change in order, keeping the previous status", () => {
      fc.assert(
        fc.property(story, (events) => {
          let payment = created();
          const sequences: number[] = [];
          for (const event of [...events, head(1_000)]) {
            const outcome = ok(applyEvent(payment, event, SETTINGS));
            for (const change of outcome.changes) {
              sequences.push(change.sequence);
              expect(change.from).to.not.equal(change.to);
            }
            if (outcome.changes.length > 0) expect(outcome.payment.previousStatus).to.equal(outcome.changes.at(-1)!.from);
            payment = outcome.payment;
          }
          expect(sequences).to.deep.equal(sequences.map((_, i) => i + 1));
          expect(payment.sequence).to.equal(sequences.length);
        }),
      );
    });
  });

  describe("reorganisations", () => {
    it("takes a confirming payment back to pending when the completing deposit is gone, as one change", () => {
      const before = run([deposited(at(5), 40, 40), completed(at(6), 60, 100), head(8)]).payment;
      const rebuilt = replay(created(), [deposited(at(5), 40, 40), head(7)], SETTINGS);
      const { payment, changes } = reconcile(before, rebuilt);
      expect(changes).to.deep.equal([{ paymentId: ID, sequence: 3, from: "confirming", to: "pending", reason: "chain_reorganised" }]);
      expect(payment).to.include({ status: "pending", previousStatus: "confirming", sequence: 3, completedBlock: null });
      expect(payment.receivedUsd).to.equal(USD(40));
    });

    it("records nothing when the same deposit is mined again in another block", () => {
      const before = run([completed(at(6), 100, 100), head(8)]).payment;
      const rebuilt = replay(created(), [completed(at(7), 100, 100), head(8)], SETTINGS);
      const { payment, changes } = reconcile(before, rebuilt);
      expect(changes).to.be.empty;
      expect(payment).to.include({ status: "confirming", sequence: before.sequence, completedBlock: 7 });
    });
  });
});
