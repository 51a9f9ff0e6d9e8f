import { expect } from "chai";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "./payment";
import { escrowAgreement, escrowMismatch, settlementDue, type OnChainPayment, type SettlementDue } from "./settlement";

const USD = (n: number) => BigInt(n) * 10n ** 18n;
const EXPIRY = 1_000_000n;
const WINDOW = 3_600n;
const TOKEN = `0x${"22".repeat(20)}` as Address;
const created = (): Payment =>
  newPayment({
    id: `0x${"11".repeat(32)}` as Hex,
    amountUsd: USD(100),
    expiry: EXPIRY,
    depositAddress: `0x${"55".repeat(20)}` as Address,
    acceptedTokens: [TOKEN],
  });
const with_ = (changes: Partial<Payment>): Payment => ({ ...created(), ...changes });
const confirmed = (number: number, timestamp = 0n) => ({ number, timestamp });

describe("settlements", function () {
  describe("settlementDue: when a payment may be told paid, expired or failed", function () {
    const cases: Array<[string, Payment, { number: number; timestamp: bigint }, SettlementDue | undefined]> = [
      ["confirming, completing block not confirmed", with_({ status: "confirming", completedBlock: 10 }), confirmed(9), undefined],
      ["confirming, completing block confirmed", with_({ status: "confirming", completedBlock: 10 }), confirmed(10), { to: "paid", basis: "completed" }],
      ["pending, expired on chain, not confirmed", with_({ status: "pending", receivedUsd: USD(5), expiredBlock: 30 }), confirmed(29, EXPIRY * 2n), undefined],
      [
        "pending, expired on chain, confirmed",
        with_({ status: "pending", receivedUsd: USD(5), expiredBlock: 30 }),
        confirmed(30),
        { to: "expired", basis: "expired_on_chain" },
      ],
      ["pending with deposits, time up: the escrow must expire it", with_({ status: "pending", receivedUsd: USD(5) }), confirmed(99, EXPIRY * 2n), undefined],
      ["nothing received, at the expiry", created(), confirmed(5, EXPIRY), undefined],
      ["nothing received, a block after the expiry confirmed", created(), confirmed(5, EXPIRY + 1n), { to: "expired", basis: "nothing_received" }],
      ["nothing received, the late-collect window closed", created(), confirmed(5, EXPIRY + WINDOW + 1n), { to: "expired", basis: "nothing_collected" }],
      ["nothing received, a reverted attempt", with_({ failedTransactions: 1 }), confirmed(5, EXPIRY + 1n), { to: "failed", basis: "nothing_received" }],
      [
        "nothing received, a reverted attempt, the late-collect window closed",
        with_({ status: "pending", failedTransactions: 1, fundedByExpiry: true }),
        confirmed(5, EXPIRY + WINDOW + 1n),
        { to: "failed", basis: "nothing_collected" },
      ],
      // Failed means nothing was received: a payment holding deposits ends expired, whatever reverted before.
      [
        "deposits received and a reverted attempt, expired on chain",
        with_({ status: "pending", receivedUsd: USD(5), failedTransactions: 2, expiredBlock: 30 }),
        confirmed(30),
        { to: "expired", basis: "expired_on_chain" },
      ],
      ["funded by the expiry, window open", with_({ status: "pending", fundedByExpiry: true }), confirmed(5, EXPIRY + WINDOW), undefined],
      [
        "funded by the expiry, window closed",
        with_({ status: "pending", fundedByExpiry: true }),
        confirmed(5, EXPIRY + WINDOW + 1n),
        { to: "expired", basis: "nothing_collected" },
      ],
      ["already paid", with_({ status: "paid", completedBlock: 1 }), confirmed(50, EXPIRY * 2n), undefined],
      ["already expired", with_({ status: "expired" }), confirmed(50, EXPIRY * 2n), undefined],
    ];
    for (const [name, payment, at, due] of cases) {
      it(`${name}: ${due ? `${due.to} (${due.basis})` : "nothing due"}`, function () {
        expect(settlementDue(payment, at, WINDOW)).to.deep.equal(due);
      });
    }
  });

  describe("escrowAgreement: the escrow's record must back the word", function () {
    const confirming = with_({ status: "confirming", completedBlock: 10, token: TOKEN, paidAmount: USD(100), receivedUsd: USD(100) });
    const onChain = (changes: Partial<OnChainPayment>): OnChainPayment => ({
      status: "completed",
      token: TOKEN,
      amount: USD(100),
      receivedUsd: USD(100),
      refunded: 0n,
      ...changes,
    });
    const paid: SettlementDue = { to: "paid", basis: "completed" };

    it("agrees to paid when the escrow completed the payment with the same token, units and USD", function () {
      expect(escrowAgreement(confirming, paid, { escrow: onChain({}) })).to.deep.equal({ agrees: true });
      expect(escrowAgreement(confirming, paid, { escrow: onChain({ status: "partially_refunded" }) })).to.deep.equal({ agrees: true });
    });

    for (const [name, escrow, reason] of [
      ["the escrow never saw it", onChain({ status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n }), "the escrow says none, not completed"],
      ["the escrow holds it open", onChain({ status: "open" }), "the escrow says open, not completed"],
      ["another token", onChain({ token: zeroAddress }), `the escrow says token ${zeroAddress}, the logs ${TOKEN}`],
      ["fewer units", onChain({ amount: USD(99) }), `the escrow holds ${USD(99)} units deposited, the logs ${USD(100)}`],
      ["other USD", onChain({ receivedUsd: USD(101) }), `the escrow says ${USD(101)} USD received, the logs ${USD(100)}`],
    ] as const) {
      it(`refuses paid when ${name}`, function () {
        expect(escrowAgreement(confirming, paid, { escrow })).to.deep.equal({ agrees: false, reason });
      });
    }

    it("agrees to an expiry on chain only when the escrow expired the same deposits", function () {
      const expiring = with_({ status: "pending", expiredBlock: 7, token: TOKEN, paidAmount: USD(30), receivedUsd: USD(30) });
      const due: SettlementDue = { to: "expired", basis: "expired_on_chain" };
      expect(escrowAgreement(expiring, due, { escrow: onChain({ status: "expired", amount: USD(30), receivedUsd: USD(30) }) })).to.deep.equal({ agrees: true });
      expect(escrowAgreement(expiring, due, { escrow: onChain({ status: "completed", amount: USD(30), receivedUsd: USD(30) }) })).to.deep.include({
        agrees: false,
      });
    });

    it("agrees to expired with nothing received only when the escrow has nothing and the deposit address held nothing at the expiry", function () {
      const due: SettlementDue = { to: "expired", basis: "nothing_received" };
      const none = onChain({ status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n });
      const empty = [
        { token: TOKEN, amount: 0n },
        { token: zeroAddress, amount: 0n },
      ];
      expect(escrowAgreement(created(), due, { escrow: none, depositAddressAtExpiry: empty })).to.deep.equal({ agrees: true });
      expect(escrowAgreement(created(), due, { escrow: none, depositAddressAtExpiry: [{ token: zeroAddress, amount: 5n }] })).to.deep.equal({
        agrees: false,
        reason: `the deposit address held 5 of ${zeroAddress} at the expiry, which the logs do not show`,
      });
      expect(escrowAgreement(created(), due, { escrow: none })).to.deep.equal({
        agrees: false,
        reason: "what the deposit address held at the expiry is not known",
      });
      expect(escrowAgreement(created(), due, { escrow: onChain({ status: "open" }), depositAddressAtExpiry: empty })).to.deep.include({ agrees: false });
    });

    it("agrees to expired after the late-collect window when the escrow holds no deposit", function () {
      const due: SettlementDue = { to: "expired", basis: "nothing_collected" };
      const funded = with_({ status: "pending", fundedByExpiry: true });
      expect(escrowAgreement(funded, due, { escrow: onChain({ status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n }) })).to.deep.equal({
        agrees: true,
      });
      expect(escrowAgreement(funded, due, { escrow: onChain({ status: "open" }) })).to.deep.include({ agrees: false });
    });
  });

  describe("escrowMismatch: the escrow's record of every payment a block touched must be what the logs say", function () {
    const record = (changes: Partial<OnChainPayment>): OnChainPayment => ({
      status: "none",
      token: zeroAddress,
      amount: 0n,
      receivedUsd: 0n,
      refunded: 0n,
      ...changes,
    });
    const underpaid = with_({ status: "pending", token: TOKEN, paidAmount: USD(40), receivedUsd: USD(40) });
    const paid = with_({ status: "paid", completedBlock: 5, token: TOKEN, paidAmount: USD(100), receivedUsd: USD(100) });

    it("finds nothing amiss when the stage and the money agree", function () {
      expect(escrowMismatch(created(), record({}))).to.equal(undefined);
      expect(escrowMismatch(with_({ status: "pending", fundedByExpiry: true }), record({}))).to.equal(undefined);
      expect(escrowMismatch(underpaid, record({ status: "open", token: TOKEN, amount: USD(40), receivedUsd: USD(40) }))).to.equal(undefined);
      const refunded = { ...paid, status: "partially_refunded" as const, refundedAmount: USD(30) };
      expect(
        escrowMismatch(refunded, record({ status: "partially_refunded", token: TOKEN, amount: USD(100), receivedUsd: USD(100), refunded: USD(30) })),
      ).to.equal(undefined);
      const expiring = { ...underpaid, expiredBlock: 9 };
      expect(escrowMismatch(expiring, record({ status: "expired", token: TOKEN, amount: USD(40), receivedUsd: USD(40) }))).to.equal(undefined);
    });

    for (const [name, payment, escrow, reason] of [
      [
        "a refund the logs left out",
        paid,
        record({ status: "partially_refunded", token: TOKEN, amount: USD(100), receivedUsd: USD(100), refunded: USD(50) }),
        `the escrow says ${USD(50)} units refunded, the logs 0`,
      ],
      [
        "an expiry the logs left out",
        underpaid,
        record({ status: "expired", token: TOKEN, amount: USD(40), receivedUsd: USD(40) }),
        "the escrow says expired (expired), the logs say pending",
      ],
      [
        "a completion the logs left out",
        underpaid,
        record({ status: "completed", token: TOKEN, amount: USD(100), receivedUsd: USD(100) }),
        "the escrow says completed (completed), the logs say pending",
      ],
      [
        "a deposit the logs left out",
        underpaid,
        record({ status: "open", token: TOKEN, amount: USD(60), receivedUsd: USD(60) }),
        `the escrow holds ${USD(60)} units deposited, the logs ${USD(40)}`,
      ],
      ["a deposit the escrow never had", underpaid, record({}), "the escrow says nothing deposited (none), the logs say pending"],
    ] as const) {
      it(`names ${name}`, function () {
        expect(escrowMismatch(payment, escrow)).to.equal(reason);
      });
    }
  });
});
