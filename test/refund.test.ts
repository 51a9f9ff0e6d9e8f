import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import { signIntent } from "./support/intents";
import { BNB, deployBlacklistToken, deployRevertingReceiver, expectLedger, expectPayment, passExpiry, payBnb, payToken, Status } from "./support/scenarios";

describe("refund", function () {
  /** A $100 payment paid in full with 100 USDT by the customer: the merchant's balance is 100 USDT. */
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    const paid = await f.signed();
    await payToken(f.escrow, f.customer, paid, f.usdt, TOKENS("100"));
    return { ...f, paid, id: paid.intent.paymentId, stranger: signers[9], merchant2: signers[10], signer2: signers[11] };
  }

  describe("paid payments", function () {
    it("refunds a paid payment in full: status Refunded, refundedOf, PaymentRefunded, balances", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const tx = f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("100"));
      await expect(tx).to.emit(f.escrow, "PaymentRefunded").withArgs(f.id, f.merchant.address, f.customer.address, usdt, TOKENS("100"), TOKENS("100"));
      await expect(tx).not.to.emit(f.escrow, "RefundClaimable");
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.merchant, f.payout], [-TOKENS("100"), TOKENS("100"), 0n, 0n]);

      await expectPayment(f.escrow, f.id, {
        status: Status.Refunded,
        tokenIndex: 1n,
        merchantId: 1n,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      expect(await f.escrow.refundedOf(f.id)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(0n);
      expect(await f.escrow.claimableOf(f.usdt, f.customer.address)).to.equal(0n);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("refunds in parts: PartiallyRefunded after the first, Refunded when the rest is refunded", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();

      const first = f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("30"));
      await expect(first).to.emit(f.escrow, "PaymentRefunded").withArgs(f.id, f.merchant.address, f.customer.address, usdt, TOKENS("30"), TOKENS("30"));
      await expect(first).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("30"), TOKENS("30")]);
      expect((await f.escrow.paymentOf(f.id)).status).to.equal(Status.PartiallyRefunded);
      expect(await f.escrow.refundedOf(f.id)).to.equal(TOKENS("30"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("70"));
      await expectLedger(f.escrow, f.usdt, TOKENS("70"), 0n);

      const second = f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("25"));
      await expect(second).to.emit(f.escrow, "PaymentRefunded").withArgs(f.id, f.merchant.address, f.customer.address, usdt, TOKENS("25"), TOKENS("55"));
      expect((await f.escrow.paymentOf(f.id)).status).to.equal(Status.PartiallyRefunded);
      expect(await f.escrow.refundedOf(f.id)).to.equal(TOKENS("55"));

      const rest = f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("45"));
      await expect(rest).to.emit(f.escrow, "PaymentRefunded").withArgs(f.id, f.merchant.address, f.customer.address, usdt, TOKENS("45"), TOKENS("100"));
      await expect(rest).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("45"), TOKENS("45")]);
      expect((await f.escrow.paymentOf(f.id)).status).to.equal(Status.Refunded);
      expect(await f.escrow.refundedOf(f.id)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(0n);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("refunds to any address the merchant chooses", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.stranger.address, TOKENS("10")))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(f.id, f.merchant.address, f.stranger.address, await f.usdt.getAddress(), TOKENS("10"), TOKENS("10"));
      expect(await f.usdt.balanceOf(f.stranger.address)).to.equal(TOKENS("10"));
    });

    it("allows refunding an overpaid payment up to everything that was paid", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("120"));
      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("121")))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsPayment")
        .withArgs(s.intent.paymentId, TOKENS("121"), TOKENS("120"));
      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("120"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("120"), TOKENS("120")],
      );
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Refunded);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
    });

    it("refunds a BNB payment in BNB", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ amountUsd: USD("60") });
      await payBnb(f.escrow, f.customer, s, BNB("0.1")); // $60
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));

      const tx = f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, BNB("0.04"));
      await expect(tx)
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.04"), BNB("0.04"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.customer], [-BNB("0.04"), BNB("0.04")]);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.PartiallyRefunded);

      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, BNB("0.06"))).to.changeEtherBalances(
        [f.escrow, f.customer],
        [-BNB("0.06"), BNB("0.06")],
      );
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Refunded);
      expect(await f.escrow.refundedOf(s.intent.paymentId)).to.equal(BNB("0.1"));
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
    });
  });

  describe("limits", function () {
    it("reverts with RefundExceedsPayment above what was paid", async function () {
      const f = await loadFixture(fixture);
      // The merchant has more than enough balance from a second payment: the limit is per payment.
      await payToken(f.escrow, f.other, await f.signed(), f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("100") + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsPayment")
        .withArgs(f.id, TOKENS("100") + 1n, TOKENS("100"));
    });

    it("reverts with RefundExceedsPayment above what is left after a partial refund", async function () {
      const f = await loadFixture(fixture);
      await payToken(f.escrow, f.other, await f.signed(), f.usdt, TOKENS("100"));
      await f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("30"));
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("71")))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsPayment")
        .withArgs(f.id, TOKENS("71"), TOKENS("70"));
      expect(await f.escrow.refundedOf(f.id)).to.equal(TOKENS("30"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("170"));
    });

    it("reverts with InvalidPaymentStatus(Refunded) once fully refunded", async function () {
      const f = await loadFixture(fixture);
      await payToken(f.escrow, f.other, await f.signed(), f.usdt, TOKENS("100"));
      await f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("100"));
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(f.id, Status.Refunded);
    });

    it("reverts with ZeroAmount for a zero refund", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, 0n)).to.be.revertedWithCustomError(f.escrow, "ZeroAmount");
    });

    it('reverts with ZeroAddress("recipient") for a zero recipient', async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).refund(f.id, ethers.ZeroAddress, TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("recipient");
    });

    it("reverts with InsufficientMerchantBalance when the merchant withdrew everything", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
        .withArgs(f.merchant.address, await f.usdt.getAddress(), TOKENS("10"), 0n);
    });

    it("reverts with InsufficientMerchantBalance when the merchant withdrew part and refunds more than is left", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("95"));
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
        .withArgs(f.merchant.address, await f.usdt.getAddress(), TOKENS("10"), TOKENS("5"));
      // What is left can still be refunded.
      await expect(f.escrow.connect(f.merchant).refund(f.id, f.customer.address, TOKENS("5"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("5"), TOKENS("5")],
      );
      expect((await f.escrow.paymentOf(f.id)).status).to.equal(Status.PartiallyRefunded);
    });
  });

  describe("who and which payment", function () {
    it("reverts with NotPaymentMerchant for another registered merchant, even one with enough balance", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.signerManager).registerMerchant(f.merchant2.address, f.merchant2.address, f.signer2.address);
      const own = await f.intent({ merchant: f.merchant2.address });
      await payToken(f.escrow, f.other, { intent: own, signature: await signIntent(f.signer2, f.escrow, own) }, f.usdt, TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant2.address, f.usdt)).to.equal(TOKENS("100"));

      await expect(f.escrow.connect(f.merchant2).refund(f.id, f.merchant2.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "NotPaymentMerchant")
        .withArgs(f.id, f.merchant2.address);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant2.address, f.usdt)).to.equal(TOKENS("100"));
      expect(await f.escrow.refundedOf(f.id)).to.equal(0n);
    });

    it("reverts with NotPaymentMerchant for an account that is not a merchant (the payer included)", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.customer, f.stranger, f.payout, f.intentSigner]) {
        await expect(f.escrow.connect(caller).refund(f.id, caller.address, TOKENS("10")))
          .to.be.revertedWithCustomError(f.escrow, "NotPaymentMerchant")
          .withArgs(f.id, caller.address);
      }
    });

    it("reverts with InvalidPaymentStatus(Open) for an underpaid payment", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(s.intent.paymentId, Status.Open);
    });

    it("reverts with InvalidPaymentStatus(Expired) for an expired payment", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.expire(s.intent, f.usdt, []);
      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(s.intent.paymentId, Status.Expired);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("40"));
    });

    it("reverts with InvalidPaymentStatus(None) for an unknown payment id", async function () {
      const f = await loadFixture(fixture);
      const unknown = ethers.id("unknown payment");
      await expect(f.escrow.connect(f.merchant).refund(unknown, f.customer.address, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(unknown, Status.None);
    });
  });

  describe("refunds that cannot be pushed", function () {
    it("makes a refund to a blacklisted receiver claimable, still debiting the merchant", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, bl, TOKENS("100"));
      await bl.setBlacklisted(f.customer.address, true);

      const tx = f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("60"));
      await expect(tx)
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, blAddress, TOKENS("60"), TOKENS("60"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, f.customer.address, blAddress, TOKENS("60"));
      await expect(tx).to.changeTokenBalances(bl, [f.escrow, f.customer], [0n, 0n]);

      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(TOKENS("60"));
      expect(await f.escrow.balanceOf(f.merchant.address, bl)).to.equal(TOKENS("40"));
      expect(await f.escrow.refundedOf(s.intent.paymentId)).to.equal(TOKENS("60"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.PartiallyRefunded);
      // Still owed in full: 40 to the merchant, 60 to the customer.
      await expectLedger(f.escrow, bl, TOKENS("100"), 0n);
    });

    it("makes a BNB refund to a receiver that rejects BNB claimable", async function () {
      const f = await loadFixture(fixture);
      const receiver = await deployRevertingReceiver();
      const receiverAddress = await receiver.getAddress();
      const s = await f.signed({ amountUsd: USD("60") });
      await payBnb(f.escrow, f.customer, s, BNB("0.1"));

      const tx = f.escrow.connect(f.merchant).refund(s.intent.paymentId, receiverAddress, BNB("0.1"));
      await expect(tx).to.emit(f.escrow, "PaymentRefunded").withArgs(s.intent.paymentId, f.merchant.address, receiverAddress, NATIVE, BNB("0.1"), BNB("0.1"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, receiverAddress, NATIVE, BNB("0.1"));
      await expect(tx).to.changeEtherBalances([f.escrow, receiver], [0n, 0n]);
      expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(BNB("0.1"));
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Refunded);
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
    });
  });
});
