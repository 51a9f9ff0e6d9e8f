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

const created = () => newPayment({ id: ID, amountUsd: USD(100), expiry: EXPIRY, depositAddress: `0x${"55".repeat(20)}` as Address, acceptedTokens: [TOKEN] });
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

/** A settlement the indexer verified against the escrow, judged at confirmed block `number` (time `timestamp`). */
const settled = (to: "paid" | "expired" | "failed", number: number, timestamp = 0n): PaymentEvent => ({
  kind: "settled",
  to,
  confirmed: { number, timestamp },
});

const DEPOSIT_ADDRESS = `0x${"55".repeat(20)}` as Address;
const NATIVE = "0x0000000000000000000000000000000000000000" as Address;

function funded(
  position: ChainPosition,
  { token = TOKEN, amount = 1n, timestamp = EXPIRY - 10n }: { token?: Address; amount?: bigint; timestamp?: bigint | null } = {},
): PaymentEvent {
  return { kind: "deposit_address_funded", position, transactionHash: TX, token, amount, sender: PAYER, timestamp };
}

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
    it("goes initiated → pending → confirming → paid for a checkout, a partial deposit, the rest and a settlement", () => {
      const { payment, changes } = run([{ kind: "checkout_opened" }, deposited(at(10), 40, 40), completed(at(11), 60, 100), settled("paid", 11)]);
      expect(changes).to.deep.equal([
        ["initiated", "pending", "checkout_opened"],
        ["pending", "pending", "deposit"],
        ["pending", "confirming", "full_value_received"],
        ["confirming", "paid", "confirmed"],
      ]);
      expect(payment).to.include({ status: "paid", previousStatus: "confirming", sequence: 4, completedBlock: 11 });
      expect(payment.receivedUsd).to.equal(USD(100));
      expect(payment.paidAmount).to.equal(USD(100));
      expect(payment.remainingUsd).to.equal(0n);
    });

    it("refuses to settle paid before the completing block is confirmed", () => {
      const confirming = run([completed(at(100), 100, 100)]).payment;
      expect(applyEvent(confirming, settled("paid", 99), SETTINGS)).to.deep.equal({
        ok: false,
        reason: "a confirming payment is not due to be paid at block 99",
      });
      expect(ok(applyEvent(confirming, settled("paid", 100), SETTINGS)).payment.status).to.equal("paid");
    });

    it("announces each further partial deposit with its money, as a change that keeps the status", () => {
      const { payment, changes } = run([deposited(at(5), 10, 10), deposited(at(6), 20, 30)]);
      expect(changes).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit"],
      ]);
      expect(payment).to.include({ sequence: 2, status: "pending", previousStatus: "initiated" });
      expect(payment.receivedUsd).to.equal(USD(30));
    });

    it("records the excess of an overpayment", () => {
      const { payment } = run([completed(at(5), 150, 150)]);
      expect(payment.excessUsd).to.equal(USD(50));
      expect(payment.status).to.equal("confirming");
    });

    it("records funds waiting at the deposit address as pending, and whether they came by the expiry", () => {
      const { payment, changes } = run([funded(at(3))]);
      expect(changes).to.deep.equal([["initiated", "pending", "deposit_address_funded"]]);
      expect(payment).to.include({ depositAddressFunded: true, fundedByExpiry: true });
      // After the expiry it can pay nothing: a stray, which changes nothing.
      expect(run([funded(at(3), { timestamp: EXPIRY + 1n })])).to.deep.include({ changes: [] });
      expect(run([funded(at(3), { timestamp: EXPIRY + 1n })]).payment).to.include({ depositAddressFunded: false, fundedByExpiry: false });
      // A balance the indexer could not date might have come in time.
      expect(run([funded(at(3), { timestamp: null })]).payment.fundedByExpiry).to.equal(true);
    });

    it("does not count another token than the payment's as funding it (a stray)", () => {
      const other = `0x${"66".repeat(20)}` as Address;
      const { payment, changes } = run([deposited(at(2), 10, 10), funded(at(3), { token: other })]);
      expect(changes).to.deep.equal([["initiated", "pending", "deposit"]]);
      expect(payment).to.include({ depositAddressFunded: false, fundedByExpiry: false });
    });

    it("follows the BNB waiting at the deposit address: arrivals add, a collect of BNB and a stray return take it", () => {
      const bnb = (amount: bigint, position: ChainPosition) => funded(position, { token: NATIVE, amount });
      expect(run([bnb(5n, at(1)), bnb(7n, at(2))]).payment.nativeWaiting).to.equal(12n);
      const collected: ChainPaymentEvent = { ...deposited(at(3), 10, 10), token: NATIVE, payer: DEPOSIT_ADDRESS } as ChainPaymentEvent;
      expect(run([bnb(5n, at(1)), collected]).payment.nativeWaiting).to.equal(0n);
      const paidByWallet: ChainPaymentEvent = { ...deposited(at(3), 10, 10), token: NATIVE } as ChainPaymentEvent;
      expect(run([bnb(5n, at(1)), paidByWallet]).payment.nativeWaiting).to.equal(5n);
      const stray: PaymentEvent = { kind: "stray_returned", position: at(9), transactionHash: TX, to: PAYER, token: NATIVE, amount: 5n };
      expect(run([completed(at(2), 100, 100), bnb(5n, at(8)), stray]).payment.nativeWaiting).to.equal(0n);
    });
  });

  describe("several accepted tokens", () => {
    const OTHER = `0x${"66".repeat(20)}` as Address;
    const THIRD_PARTY = `0x${"77".repeat(20)}` as Address;
    const twoTokens = () => newPayment({ id: ID, amountUsd: USD(100), expiry: EXPIRY, depositAddress: DEPOSIT_ADDRESS, acceptedTokens: [TOKEN, OTHER] });
    const inOther = (event: ChainPaymentEvent, payer = THIRD_PARTY): ChainPaymentEvent => ({ ...event, token: OTHER, payer }) as ChainPaymentEvent;

    it("keeps a deposit in another accepted token apart: the payment stays in its first token, the other is held", () => {
      const { payment, changes } = run([deposited(at(1), 40, 40), inOther(deposited(at(2), 1, 1))], twoTokens());
      expect(payment.token).to.equal(TOKEN);
      expect(payment.paidAmount).to.equal(USD(40));
      expect(payment.receivedUsd).to.equal(USD(40));
      expect(payment.otherDeposits).to.deep.equal([{ token: OTHER, amount: USD(1) }]);
      // The held deposit is money the merchant is told of.
      expect(changes).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit"],
      ]);
    });

    it("is paid by whichever token reaches the amount: a third party's first deposit in another token is left over", () => {
      const { payment } = run([inOther(deposited(at(1), 1, 1)), completed(at(2), 100, 100)], twoTokens());
      expect(payment.status).to.equal("confirming");
      expect(payment.token).to.equal(TOKEN);
      expect(payment.paidAmount).to.equal(USD(100));
      expect(payment.otherDeposits).to.deep.equal([{ token: OTHER, amount: USD(1) }]);
    });

    it("counts what it held in the paying token, and moves its first token's deposits to the left-overs", () => {
      const { payment } = run([deposited(at(1), 30, 30), inOther(deposited(at(2), 60, 60), PAYER), inOther(completed(at(3), 40, 100), PAYER)], twoTokens());
      expect(payment.token).to.equal(OTHER);
      expect(payment.paidAmount).to.equal(USD(100));
      expect(payment.otherDeposits).to.deep.equal([{ token: TOKEN, amount: USD(30) }]);
    });

    it("announces a left-over sent back once the payment is paid, and refuses one while it is open", () => {
      const refund: ChainPaymentEvent = {
        kind: "deposit_refunded",
        position: at(5),
        transactionHash: TX,
        payer: THIRD_PARTY,
        to: THIRD_PARTY,
        token: OTHER,
        amount: USD(1),
      };
      const held = run([inOther(deposited(at(1), 1, 1))], twoTokens()).payment;
      const early = applyEvent(held, refund, SETTINGS);
      expect(early.ok).to.equal(false);
      const paid = run([completed(at(2), 100, 100), settled("paid", 20)], held).payment;
      const outcome = ok(applyEvent(paid, refund, SETTINGS));
      expect(outcome.payment.otherDeposits).to.deep.equal([]);
      expect(outcome.payment.status).to.equal("paid");
      expect(outcome.changes.map((change) => [change.from, change.to, change.reason])).to.deep.equal([["paid", "paid", "deposit_returned"]]);
      expect(outcome.payment.returnedTransfers).to.deep.equal([
        { reason: "paid_in_other_token", token: OTHER, amount: USD(1), from: THIRD_PARTY, to: THIRD_PARTY, transactionHash: TX, claimable: false },
      ]);
    });

    it("counts funds at the deposit address in any accepted token, and not in a token the intent does not accept", () => {
      const stray = run([funded(at(1), { token: `0x${"99".repeat(20)}` as Address })], twoTokens()).payment;
      expect([stray.status, stray.depositAddressFunded]).to.deep.equal(["initiated", false]);
      const held = run([deposited(at(1), 40, 40), funded(at(2), { token: OTHER })], twoTokens()).payment;
      expect(held.depositAddressFunded).to.equal(true);
    });
  });

  describe("expiry", () => {
    const late = (seconds: bigint) => EXPIRY + seconds;

    it("expires a payment with nothing received and nothing at its deposit address once a block after the expiry is confirmed", () => {
      expect(applyEvent(created(), settled("expired", 50, EXPIRY), SETTINGS)).to.deep.include({ ok: false });
      expect(run([settled("expired", 50, late(1n))]).changes).to.deep.equal([["initiated", "expired", "time_elapsed"]]);
    });

    it("keeps a payment whose deposit address was funded by the expiry until the late-collect window closes", () => {
      expect(applyEvent(run([funded(at(3))]).payment, settled("expired", 50, late(3600n)), SETTINGS)).to.deep.include({ ok: false });
      expect(run([funded(at(3)), settled("expired", 50, late(3601n))]).payment.status).to.equal("expired");
      // Funds that came after the expiry do not hold it.
      expect(run([funded(at(3), { timestamp: late(5n) }), settled("expired", 50, late(6n))]).payment.status).to.equal("expired");
    });

    it("never expires a payment whose full value arrived, however slow the confirmations", () => {
      const confirming = run([completed(at(5), 100, 100)]).payment;
      expect(applyEvent(confirming, settled("expired", 4, EXPIRY * 10n), SETTINGS)).to.deep.include({ ok: false });
    });

    it("leaves a partly paid payment to the escrow's expiry, counted once its block is confirmed, with the refunds", () => {
      const { payment, changes } = run([
        deposited(at(5), 30, 30),
        { kind: "expired", position: at(7), transactionHash: TX, token: TOKEN, amount: USD(30), receivedUsd: USD(30) },
        { kind: "deposit_refunded", position: at(7, 1), transactionHash: TX, payer: PAYER, to: PAYER, token: TOKEN, amount: USD(30) },
      ]);
      // The refund is announced at once, while the expiry's block waits for its confirmations.
      expect(changes).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit_refunded"],
      ]);
      expect(payment).to.include({ status: "pending", expiredBlock: 7 });
      expect(payment.depositsReturned).to.equal(USD(30));
      expect(payment.refunds).to.deep.equal([{ kind: "expiry", token: TOKEN, amount: USD(30), to: PAYER, transactionHash: TX, claimable: false }]);
      expect(applyEvent(payment, settled("expired", 6, late(100n)), SETTINGS)).to.deep.include({ ok: false });
      const expired = ok(applyEvent(payment, settled("expired", 7, late(100n)), SETTINGS));
      expect(expired.changes).to.deep.equal([{ paymentId: ID, sequence: 3, from: "pending", to: "expired", reason: "expired_on_chain", blockNumber: 7 }]);
    });

    it("takes no deposit once the escrow expired the payment", () => {
      const expiring = run([
        deposited(at(5), 30, 30),
        { kind: "expired", position: at(7), transactionHash: TX, token: TOKEN, amount: USD(30), receivedUsd: USD(30) },
      ]).payment;
      expect(applyEvent(expiring, deposited(at(8), 1, 31), SETTINGS)).to.deep.include({ ok: false });
    });

    it("fails a payment that saw only a reverted transaction when its time runs out", () => {
      const { changes } = run([{ kind: "transaction_failed", transactionHash: TX, reason: "StalePrice" }, settled("failed", 2, late(1n))]);
      expect(changes).to.deep.equal([["initiated", "failed", "transaction_failed"]]);
      expect(
        applyEvent(run([{ kind: "transaction_failed", transactionHash: TX, reason: "x" }]).payment, settled("expired", 2, late(1n)), SETTINGS),
      ).to.deep.include({
        ok: false,
      });
    });

    it("lets a later deposit pay a payment whose first transaction reverted", () => {
      const { payment } = run([{ kind: "transaction_failed", transactionHash: TX, reason: "x" }, completed(at(3), 100, 100), settled("paid", 20, late(1n))]);
      expect(payment.status).to.equal("paid");
    });
  });

  describe("refunds", () => {
    const paid = () => run([completed(at(1), 100, 100), settled("paid", 12)]).payment;
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
      const { changes, payment } = run([{ kind: "refund_requested", amount: USD(30) }, refundedEvent(30, 30), refundedEvent(70, 100, 21)], paid());
      expect(changes).to.deep.equal([
        ["paid", "refunding", "refund_requested"],
        ["refunding", "partially_refunded", "refunded"],
        ["partially_refunded", "refunded", "refunded"],
      ]);
      expect(payment.refundedAmount).to.equal(USD(100));
    });

    it("returns to paid when a requested refund is abandoned", () => {
      const { changes } = run(
        [
          { kind: "refund_requested", amount: USD(10) },
          { kind: "refund_abandoned", reason: "reverted" },
        ],
        paid(),
      );
      expect(changes.at(-1)).to.deep.equal(["refunding", "paid", "refund_abandoned"]);
    });

    it("announces a refund made while confirming, and shows it once the payment is paid", () => {
      const { changes } = run([completed(at(1), 100, 100), refundedEvent(40, 40, 2), settled("paid", 12)]);
      expect(changes.slice(1)).to.deep.equal([
        ["confirming", "confirming", "refunded"],
        ["confirming", "paid", "confirmed"],
        ["paid", "partially_refunded", "refunded"],
      ]);
    });

    it("announces a second partial refund although the status stays", () => {
      const { changes } = run([refundedEvent(10, 10), refundedEvent(15, 25, 21)], paid());
      expect(changes).to.deep.equal([
        ["paid", "partially_refunded", "refunded"],
        ["partially_refunded", "partially_refunded", "refunded"],
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

  describe("money sent back, and tokens the escrow does not take", () => {
    const OTHER = `0x${"66".repeat(20)}` as Address;
    const JUNK = `0x${"99".repeat(20)}` as Address;
    const RECEIVER = `0x${"77".repeat(20)}` as Address;
    const RETURN_TX = `0x${"88".repeat(32)}` as Hex;
    const expiredEvent = (position: ChainPosition): PaymentEvent => ({
      kind: "expired",
      position,
      transactionHash: RETURN_TX,
      token: TOKEN,
      amount: USD(30),
      receivedUsd: USD(30),
    });
    const depositRefunded = (position: ChainPosition, token = TOKEN): PaymentEvent => ({
      kind: "deposit_refunded",
      position,
      transactionHash: RETURN_TX,
      payer: PAYER,
      to: RECEIVER,
      token,
      amount: USD(30),
    });
    const claimable = (position: ChainPosition, amount = USD(30), token = TOKEN): PaymentEvent => ({
      kind: "refund_claimable",
      position,
      transactionHash: RETURN_TX,
      account: RECEIVER,
      token,
      amount,
    });
    const stray = (position: ChainPosition, token: Address, amount = 5n): PaymentEvent => ({
      kind: "stray_returned",
      position,
      transactionHash: RETURN_TX,
      to: RECEIVER,
      token,
      amount,
    });
    const unaccepted = (position: ChainPosition, amount = 7n): PaymentEvent => ({
      kind: "unaccepted_transfer",
      position,
      transactionHash: TX,
      token: JUNK,
      amount,
      sender: PAYER,
    });
    const partlyPaid = () => run([deposited(at(5), 30, 30)]).payment;

    it("lists an expired payment's deposit sent back as an expiry refund, and marks it claimable when the push failed", () => {
      const { payment, changes } = run([expiredEvent(at(7)), depositRefunded(at(7, 1)), claimable(at(7, 2))], partlyPaid());
      expect(changes).to.deep.equal([
        ["pending", "pending", "deposit_refunded"],
        ["pending", "pending", "refund_claimable"],
      ]);
      expect(payment.refunds).to.deep.equal([{ kind: "expiry", token: TOKEN, amount: USD(30), to: RECEIVER, transactionHash: RETURN_TX, claimable: true }]);
      // Settled expired, the refund stays listed; a refund sent after the expiry's confirmation is announced too.
      const expired = run([settled("expired", 7, EXPIRY + 100n)], payment).payment;
      expect(expired.refunds).to.have.length(1);
    });

    it("lists the merchant's refunds of a paid payment in the same list", () => {
      const paid = run([completed(at(1), 100, 100), settled("paid", 12)]).payment;
      const refund: PaymentEvent = {
        kind: "refunded",
        position: at(20),
        transactionHash: RETURN_TX,
        to: RECEIVER,
        token: TOKEN,
        amount: USD(40),
        refundedTotal: USD(40),
      };
      const { payment } = run([refund], paid);
      expect(payment.refunds).to.deep.equal([{ kind: "merchant", token: TOKEN, amount: USD(40), to: RECEIVER, transactionHash: RETURN_TX, claimable: false }]);
    });

    it("gives each returned stray the reason the indexer can tell from the payment as it stood", () => {
      const twoTokens = () => newPayment({ id: ID, amountUsd: USD(100), expiry: EXPIRY, depositAddress: DEPOSIT_ADDRESS, acceptedTokens: [TOKEN] });
      const cases: Array<[string, PaymentEvent[], Address, string]> = [
        ["a token the escrow does not take", [unaccepted(at(1))], JUNK, "token_not_supported"],
        ["a token the escrow takes, not offered by this intent", [], OTHER, "token_not_accepted"],
        ["a second payment of a paid payment", [completed(at(1), 100, 100), settled("paid", 12)], TOKEN, "already_paid"],
        ["a top-up while confirming", [completed(at(1), 100, 100)], TOKEN, "already_paid"],
        ["an offered token of an unpaid payment, returned once no longer collectable", [], TOKEN, "after_expiry"],
        ["an offered token of an expired payment", [deposited(at(1), 30, 30), expiredEvent(at(2)), settled("expired", 2, EXPIRY + 1n)], TOKEN, "after_expiry"],
      ];
      for (const [name, before, token, reason] of cases) {
        const { payment, changes } = run([...before, stray(at(30), token)], twoTokens());
        expect(
          payment.returnedTransfers.map((returned) => returned.reason),
          name,
        ).to.deep.equal([reason]);
        expect(payment.returnedTransfers[0], name).to.deep.include({
          token,
          amount: 5n,
          from: DEPOSIT_ADDRESS,
          to: RECEIVER,
          transactionHash: RETURN_TX,
          claimable: false,
        });
        expect(changes[changes.length - 1][2], name).to.equal("stray_returned");
      }
    });

    it("marks a returned stray claimable when the escrow could not push it", () => {
      const { payment, changes } = run([stray(at(30), OTHER), claimable(at(30, 1), 5n, OTHER)]);
      expect(payment.returnedTransfers[0].claimable).to.equal(true);
      expect(changes.map(([, , reason]) => reason)).to.deep.equal(["stray_returned", "return_claimable"]);
      // A claimable log that matches nothing listed changes nothing.
      expect(run([claimable(at(31), 9n, OTHER)], payment).changes).to.deep.equal([]);
    });

    it("lists a token the escrow does not take as needing the operator, whatever the status, until a return of it", () => {
      for (const before of [[], [completed(at(1), 100, 100), settled("paid", 12)], [settled("expired", 50, EXPIRY + 1n)]] as PaymentEvent[][]) {
        const { payment, changes } = run([...before, unaccepted(at(60)), unaccepted(at(61), 3n)]);
        const status = payment.status;
        expect(changes.slice(-2)).to.deep.equal([
          [status, status, "unaccepted_transfer"],
          [status, status, "unaccepted_transfer"],
        ]);
        expect(payment.unacceptedTransfers.map((seen) => [seen.amount, seen.returnedBy])).to.deep.equal([
          [7n, null],
          [3n, null],
        ]);
        // Nothing counts it: not received, not a reason to be pending.
        expect(payment.receivedUsd).to.equal(before.length === 0 ? 0n : payment.receivedUsd);
        const returned = run([stray(at(70), JUNK, 10n)], payment).payment;
        expect(returned.unacceptedTransfers.map((seen) => seen.returnedBy)).to.deep.equal([RETURN_TX, RETURN_TX]);
        expect(returned.returnedTransfers.map((entry) => entry.reason)).to.deep.equal(["token_not_supported"]);
      }
    });

    it("announces a refund or return the chain took back as a change of money", () => {
      const refunded = run([expiredEvent(at(7)), depositRefunded(at(7, 1))], partlyPaid()).payment;
      const { changes } = reconcile(refunded, { ...refunded, refunds: [], depositsReturned: 0n });
      expect(changes.map((change) => [change.from, change.to, change.reason])).to.deep.equal([["pending", "pending", "chain_reorganised"]]);
    });
  });

  describe("refusals of impossible chain events", () => {
    it("refuses a deposit on an expired or paid payment, and expiry of a paid one", () => {
      const expired = run([settled("expired", 1, EXPIRY + 1n)]).payment;
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
        for (const usd of partials) {
          received += usd;
          events.push(deposited(next(), usd, received));
        }
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
        fc.property(story, fc.array(fc.nat(), { maxLength: 6 }), (events, cuts) => {
          const once = replay(created(), events, SETTINGS);
          expect(once.superseded).to.deep.equal([]);
          expect(replay(created(), [...events, ...events], SETTINGS).payment).to.deep.equal(once.payment);
          // Chunks that each start a little before the previous one ended, as a retried range would.
          const bounds = [...new Set(cuts.map((cut) => cut % (events.length + 1)))].sort((a, b) => a - b);
          const chunked: PaymentEvent[] = [];
          let start = 0;
          for (const end of [...bounds, events.length]) {
            chunked.push(...events.slice(Math.max(0, start - 2), end));
            start = end;
          }
          expect(replay(created(), chunked, SETTINGS).payment).to.deep.equal(once.payment);
        }),
        { numRuns: 300 },
      );
    });

    it("numbers every change in order, announces every change of money, and keeps the previous status", () => {
      fc.assert(
        fc.property(story, (events) => {
          let payment = created();
          const sequences: number[] = [];
          for (const event of events) {
            const outcome = ok(applyEvent(payment, event, SETTINGS));
            for (const change of outcome.changes) sequences.push(change.sequence);
            const moneyMoved =
              outcome.payment.receivedUsd !== payment.receivedUsd ||
              outcome.payment.excessUsd !== payment.excessUsd ||
              outcome.payment.refundedAmount !== payment.refundedAmount;
            if (moneyMoved) expect(outcome.changes, `${event.kind} moved money silently`).to.not.be.empty;
            const statusChanges = outcome.changes.filter((change) => change.from !== change.to);
            if (statusChanges.length > 0) expect(outcome.payment.previousStatus).to.equal(statusChanges.at(-1)!.from);
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
      const before = run([deposited(at(5), 40, 40), completed(at(6), 60, 100)]).payment;
      const { payment: rebuilt } = replay(created(), [deposited(at(5), 40, 40)], SETTINGS);
      const { payment, changes } = reconcile(before, rebuilt);
      expect(changes).to.deep.equal([{ paymentId: ID, sequence: 3, from: "confirming", to: "pending", reason: "chain_reorganised" }]);
      expect(payment).to.include({ status: "pending", previousStatus: "confirming", sequence: 3, completedBlock: null });
      expect(payment.receivedUsd).to.equal(USD(40));
    });

    it("records nothing when the same deposit is mined again in another block", () => {
      const before = run([completed(at(6), 100, 100)]).payment;
      const { payment: rebuilt } = replay(created(), [completed(at(7), 100, 100)], SETTINGS);
      const { payment, changes } = reconcile(before, rebuilt);
      expect(changes).to.be.empty;
      expect(payment).to.include({ status: "confirming", sequence: before.sequence, completedBlock: 7 });
    });

    it("announces money a reorganisation took back although the status stays", () => {
      const before = run([deposited(at(5), 10, 10), deposited(at(6), 20, 30)]).payment;
      const { payment: rebuilt } = replay(created(), [deposited(at(5), 10, 10)], SETTINGS);
      const { payment, changes } = reconcile(before, rebuilt);
      expect(changes).to.deep.equal([{ paymentId: ID, sequence: 3, from: "pending", to: "pending", reason: "chain_reorganised" }]);
      expect(payment).to.include({ sequence: 3, previousStatus: "initiated" });
      expect(payment.receivedUsd).to.equal(USD(10));
    });

    it("replays a refund asked for after the settlement: the rebuilt payment is refunding again, not refused", () => {
      const events: PaymentEvent[] = [completed(at(1), 100, 100), settled("paid", 12), { kind: "refund_requested", amount: USD(30) }];
      const { payment, superseded } = replay(created(), events, SETTINGS);
      expect(superseded).to.deep.equal([]);
      expect(payment.status).to.equal("refunding");
    });

    it("never throws: an event that no longer applies after a reorganisation is returned as superseded, the rest applied", () => {
      const events: PaymentEvent[] = [settled("paid", 12), { kind: "refund_requested", amount: USD(30) }, deposited(at(20), 10, 10)];
      const { payment, superseded } = replay(created(), events, SETTINGS);
      expect(superseded.map(({ index, reason }) => [index, reason])).to.deep.equal([
        [0, "a initiated payment is not due to be paid at block 12"],
        [1, "a initiated payment cannot be refunded"],
      ]);
      expect(payment).to.include({ status: "pending" });
      expect(payment.receivedUsd).to.equal(USD(10));
    });
  });
});
