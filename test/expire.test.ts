import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import {
  BNB,
  deployBlacklistToken,
  deployRevertingReceiver,
  expectLedger,
  expectPayment,
  passExpiry,
  payBnb,
  payToken,
  relayPayBnb,
  Status,
} from "./support/scenarios";

describe("expire", function () {
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    return { ...f, keeper: signers[9], third: signers[10], refundWallet: signers[11] };
  }

  describe("refunds", function () {
    it("lets anyone expire an open payment after its expiry and sends the deposit back to its payer", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]);
      await expect(tx)
        .to.emit(f.escrow, "PaymentExpired")
        .withArgs(s.intent.paymentId, await f.usdt.getAddress(), TOKENS("40"), USD("40"));
      await expect(tx)
        .to.emit(f.escrow, "DepositRefunded")
        .withArgs(s.intent.paymentId, f.customer.address, f.customer.address, await f.usdt.getAddress(), TOKENS("40"));
      await expect(tx).not.to.emit(f.escrow, "RefundClaimable");
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.keeper, f.merchant], [-TOKENS("40"), TOKENS("40"), 0n, 0n]);

      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: 1n,
        merchantId: 1n,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(0n);
      expect(await f.escrow.claimableOf(f.usdt, f.customer.address)).to.equal(0n);
      expect(await f.escrow.remainingUsd(s.intent)).to.equal(0n);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("refunds partial token deposits of several payers, each receiving exactly what it deposited", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdc, TOKENS("30"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("20"));
      await payToken(f.escrow, f.customer, s, f.usdc, TOKENS("10"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, f.customer.address)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, f.other.address)).to.equal(TOKENS("20"));

      await passExpiry(s.intent);
      const usdc = await f.usdc.getAddress();
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdc, [f.customer.address, f.other.address]);
      await expect(tx).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, usdc, TOKENS("60"), USD("60"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, usdc, TOKENS("40"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, usdc, TOKENS("20"));
      await expect(tx).to.changeTokenBalances(f.usdc, [f.escrow, f.customer, f.other], [-TOKENS("60"), TOKENS("40"), TOKENS("20")]);

      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, f.customer.address)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, f.other.address)).to.equal(0n);
      await expectLedger(f.escrow, f.usdc, 0n, 0n);
      expect(await f.usdc.balanceOf(f.escrow)).to.equal(0n);
    });

    it("refunds partial BNB deposits of several payers", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed(); // $100 at $600 per BNB
      await payBnb(f.escrow, f.customer, s, BNB("0.05")); // $30
      await payBnb(f.escrow, f.other, s, BNB("0.03")); // $18
      await payBnb(f.escrow, f.customer, s, BNB("0.02")); // $12
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [f.customer.address, f.other.address]);
      await expect(tx).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, NATIVE, BNB("0.1"), USD("60"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, NATIVE, BNB("0.07"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, NATIVE, BNB("0.03"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.customer, f.other], [-BNB("0.1"), BNB("0.07"), BNB("0.03")]);

      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: 3n,
        merchantId: 1n,
        amount: BNB("0.1"),
        receivedUsd: USD("60"),
      });
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
    });

    it("sends every payer's refund to the intent's refundTo when it is set", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("25"));
      await payToken(f.escrow, f.other, s, f.usdt, TOKENS("15"));

      await passExpiry(s.intent);
      const usdt = await f.usdt.getAddress();
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.refundWallet.address, usdt, TOKENS("25"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.refundWallet.address, usdt, TOKENS("15"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.refundWallet, f.customer, f.other], [-TOKENS("40"), TOKENS("40"), 0n, 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.other.address)).to.equal(0n);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("sends BNB refunds to refundTo when it is set", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      await payBnb(f.escrow, f.customer, s, BNB("0.04"));

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [f.customer.address]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.refundWallet.address, NATIVE, BNB("0.04"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.refundWallet, f.customer], [-BNB("0.04"), BNB("0.04"), 0n]);
    });

    it("still expires and refunds an open payment in a token the admin has since disallowed", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("50"));
      await f.escrow.connect(f.admin).disallowToken(f.usdt);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]);
      await expect(tx)
        .to.emit(f.escrow, "PaymentExpired")
        .withArgs(s.intent.paymentId, await f.usdt.getAddress(), TOKENS("50"), USD("50"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("50"), TOKENS("50")]);
    });
  });

  describe("timing", function () {
    it("reverts with PaymentNotExpired before the expiry", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));

      await time.setNextBlockTimestamp(s.intent.expiry - 100n);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotExpired")
        .withArgs(s.intent.paymentId, s.intent.expiry, s.intent.expiry - 100n);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("40"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Open);
    });

    it("reverts with PaymentNotExpired at exactly the expiry and expires one second later", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));

      await time.setNextBlockTimestamp(s.intent.expiry);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotExpired")
        .withArgs(s.intent.paymentId, s.intent.expiry, s.intent.expiry);
      expect(await time.latest()).to.equal(Number(s.intent.expiry));

      await time.setNextBlockTimestamp(s.intent.expiry + 1n);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("40"), TOKENS("40")],
      );
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Expired);
    });
  });

  describe("status and intent checks", function () {
    it("reverts with NotRefundable(id, Completed, token) for a payment paid in full, even long after its expiry", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));

      await time.increaseTo(s.intent.expiry + 86_400n);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, await f.usdt.getAddress());
      // Nor in a token it received nothing in: a payment paid in one token has nothing else to refund.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdc, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, await f.usdc.getAddress());
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, f.usdt, TOKENS("100"), 0n);
    });

    it("reverts with NotRefundable(id, Completed, token) for a payment topped up to completion", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await payToken(f.escrow, f.other, s, f.usdt, TOKENS("60"));

      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, await f.usdt.getAddress());
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
    });

    it("reverts with NotRefundable(id, None, token) for a payment id that never received a deposit", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.None, await f.usdt.getAddress());
    });

    it("reverts with NotRefundable(id, Refunded, token) for a paid payment the merchant refunded", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      await f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("100"));

      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Refunded, await f.usdt.getAddress());
    });

    for (const [field, change] of [
      ["an earlier expiry", { expiry: -1000n }],
      ["a different refundTo", { refundTo: "other" }],
      ["a different amount", { amountUsd: 1n }],
      ["a different merchant", { merchant: "other" }],
    ] as const) {
      it(`reverts with IntentMismatch when the intent is altered (${field})`, async function () {
        const f = await loadFixture(fixture);
        const s = await f.signed();
        await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
        const altered = { ...s.intent };
        if ("expiry" in change) altered.expiry = s.intent.expiry + change.expiry;
        if ("amountUsd" in change) altered.amountUsd = s.intent.amountUsd + change.amountUsd;
        if ("refundTo" in change) altered.refundTo = f.other.address;
        if ("merchant" in change) altered.merchant = f.other.address;

        // Even once the real expiry has passed, only the bound intent is accepted.
        await passExpiry(s.intent);
        await expect(f.escrow.connect(f.other).expire(altered, f.usdt, [f.customer.address]))
          .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
          .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
        expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("40"));
        expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Open);
      });
    }

    it("does not let an altered intent with a past expiry expire an open payment early", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      const early = { ...s.intent, expiry: BigInt(await time.latest()) - 1n };
      await expect(f.escrow.connect(f.other).expire(early, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(early));
    });
  });

  describe("deposits in several tokens", function () {
    it("refunds an expired payment's deposits token by token: each call refunds the listed payers' deposits in the token it names", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await payBnb(f.escrow, f.other, s, BNB("0.05")); // $30
      await payToken(f.escrow, f.customer, s, f.usdc, TOKENS("20"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("10"));

      await passExpiry(s.intent);
      // The payment's record is its first deposit's token: the event names it; the other tokens wait their call.
      const first = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]);
      await expect(first).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, usdt, TOKENS("40"), USD("40"));
      await expect(first).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, usdt, TOKENS("40"));
      await expect(first).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("40"), TOKENS("40")]);
      await expect(first).to.changeEtherBalances([f.escrow, f.other], [0n, 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, f.other.address)).to.equal(BNB("0.05"));
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, f.customer.address)).to.equal(TOKENS("20"));

      const bnb = f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [f.customer.address, f.other.address]);
      await expect(bnb).not.to.emit(f.escrow, "PaymentExpired");
      await expect(bnb).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, NATIVE, BNB("0.05"));
      await expect(bnb).to.changeEtherBalances([f.escrow, f.other], [-BNB("0.05"), BNB("0.05")]);

      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdc, [f.customer.address, f.other.address])).to.changeTokenBalances(
        f.usdc,
        [f.escrow, f.customer, f.other],
        [-TOKENS("30"), TOKENS("20"), TOKENS("10")],
      );
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
      await expectLedger(f.escrow, f.usdc, 0n, 0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: 1n,
        merchantId: 1n,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
    });

    it("refunds the deposits in a token that did not pay a completed payment, at once, without expiring it", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("30"));
      await payToken(f.escrow, f.other, s, f.usdt, TOKENS("10"));
      await payBnb(f.escrow, f.other, s, BNB("0.2")); // $120: completes it in BNB

      // Before the expiry: the USDT is not the merchant's and is owed back now.
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]);
      await expect(tx).not.to.emit(f.escrow, "PaymentExpired");
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, usdt, TOKENS("30"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, usdt, TOKENS("10"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.other], [-TOKENS("40"), TOKENS("30"), TOKENS("10")]);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(0n);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
      // Calling again moves nothing; the BNB that paid it is the merchant's.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address])).not.to.emit(f.escrow, "DepositRefunded");
      await expect(f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [f.other.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, NATIVE);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.2"));
    });

    it("sends a completed payment's deposits in other tokens to the intent's refundTo when it names one", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      await payBnb(f.escrow, f.customer, s, BNB("0.05"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("100"));

      const tx = f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [f.customer.address]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.refundWallet.address, NATIVE, BNB("0.05"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.refundWallet, f.customer], [-BNB("0.05"), BNB("0.05"), 0n]);
    });

    for (const [status, refunded] of [
      ["PartiallyRefunded", TOKENS("40")],
      ["Refunded", TOKENS("100")],
    ] as const) {
      it(`still refunds deposits in other tokens once the merchant has refunded the payment (${status})`, async function () {
        const f = await loadFixture(fixture);
        const s = await f.signed();
        await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("20"));
        await payToken(f.escrow, f.other, s, f.usdc, TOKENS("100"));
        await f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.other.address, refunded);
        expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status[status]);

        await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdc, [f.other.address]))
          .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
          .withArgs(s.intent.paymentId, Status[status], await f.usdc.getAddress());
        await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address])).to.changeTokenBalances(
          f.usdt,
          [f.escrow, f.customer],
          [-TOKENS("20"), TOKENS("20")],
        );
      });
    }

    it("reverts with IntentMismatch on a paid payment for any intent but the one it was paid under", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("20"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("100"));
      const altered = { ...s.intent, refundTo: f.third.address };

      await expect(f.escrow.connect(f.third).expire(altered, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("20"));
    });

    it("reverts with IntentMismatch on an expired payment for any intent but the one it was opened with", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("20"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []);
      const altered = { ...s.intent, refundTo: f.third.address };

      await expect(f.escrow.connect(f.third).expire(altered, f.usdt, [f.customer.address]))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("20"));
    });
  });

  describe("refunds that cannot be pushed", function () {
    it("makes a blacklisted payer's refund claimable without blocking the other payer in the same call", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, bl, TOKENS("30"));
      await payToken(f.escrow, f.other, s, bl, TOKENS("20"));
      await bl.setBlacklisted(f.customer.address, true);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, bl, [f.customer.address, f.other.address]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, blAddress, TOKENS("30"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, f.customer.address, blAddress, TOKENS("30"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, blAddress, TOKENS("20"));
      await expect(tx).to.changeTokenBalances(bl, [f.escrow, f.customer, f.other], [-TOKENS("20"), 0n, TOKENS("20")]);

      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.claimableOf(bl, f.other.address)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, bl, f.customer.address)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, bl, f.other.address)).to.equal(0n);
      // Owed fell by the 20 pushed only: the 30 is still owed, as a claimable refund.
      await expectLedger(f.escrow, bl, TOKENS("30"), 0n);
      expect(await bl.balanceOf(f.escrow)).to.equal(TOKENS("30"));
    });

    it("makes a BNB refund to a RevertingReceiver claimable without blocking the other payer", async function () {
      const f = await loadFixture(fixture);
      const receiver = await deployRevertingReceiver();
      const receiverAddress = await receiver.getAddress();
      const s = await f.signed();
      await relayPayBnb(receiver, f.third, f.escrow, s, BNB("0.05"));
      await payBnb(f.escrow, f.other, s, BNB("0.03"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, receiverAddress)).to.equal(BNB("0.05"));

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [receiverAddress, f.other.address]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, receiverAddress, receiverAddress, NATIVE, BNB("0.05"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, receiverAddress, NATIVE, BNB("0.05"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, NATIVE, BNB("0.03"));
      await expect(tx).to.changeEtherBalances([f.escrow, receiver, f.other], [-BNB("0.03"), 0n, BNB("0.03")]);

      expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(BNB("0.05"));
      await expectLedger(f.escrow, NATIVE, BNB("0.05"), 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("0.05"));
    });

    it("credits the claimable refund to refundTo when refundTo cannot receive", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      await payToken(f.escrow, f.customer, s, bl, TOKENS("30"));
      await bl.setBlacklisted(f.refundWallet.address, true);

      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, bl, [f.customer.address]))
        .to.emit(f.escrow, "RefundClaimable")
        .withArgs(s.intent.paymentId, f.refundWallet.address, await bl.getAddress(), TOKENS("30"));
      expect(await f.escrow.claimableOf(bl, f.refundWallet.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(0n);
      await expectLedger(f.escrow, bl, TOKENS("30"), 0n);
    });
  });

  describe("calling again", function () {
    it("refunds payers not listed the first time and skips those already refunded", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("30"));
      await payToken(f.escrow, f.other, s, f.usdt, TOKENS("20"));

      await passExpiry(s.intent);
      const first = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address]);
      await expect(first).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.other], [-TOKENS("30"), TOKENS("30"), 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.other.address)).to.equal(TOKENS("20"));
      await expectLedger(f.escrow, f.usdt, TOKENS("20"), 0n);

      const usdt = await f.usdt.getAddress();
      const second = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]);
      await expect(second).not.to.emit(f.escrow, "PaymentExpired");
      await expect(second).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, usdt, TOKENS("20"));
      await expect(second).not.to.emit(f.escrow, "RefundClaimable");
      await expect(second).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.other], [-TOKENS("20"), 0n, TOKENS("20")]);
      const receipt = await (await second).wait();
      const refunds = receipt!.logs.filter((log) => f.escrow.interface.parseLog(log)?.name === "DepositRefunded");
      expect(refunds).to.have.length(1);

      // A third call is harmless: nothing moves and nothing is emitted.
      const third = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address, f.other.address]);
      await expect(third).not.to.emit(f.escrow, "DepositRefunded");
      await expect(third).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.other], [0n, 0n, 0n]);
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: 1n,
        merchantId: 1n,
        amount: TOKENS("50"),
        receivedUsd: USD("50"),
      });
    });

    it("expires with an empty payer list, leaving the deposits to refund later", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("30"));

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []);
      await expect(tx)
        .to.emit(f.escrow, "PaymentExpired")
        .withArgs(s.intent.paymentId, await f.usdt.getAddress(), TOKENS("30"), USD("30"));
      await expect(tx).not.to.emit(f.escrow, "DepositRefunded");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Expired);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("30"));
      await expectLedger(f.escrow, f.usdt, TOKENS("30"), 0n);

      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("30"), TOKENS("30")],
      );
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("ignores listed addresses that never deposited and duplicates in the list", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("30"));

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.third.address, f.customer.address, f.customer.address, f.merchant.address]);
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.third, f.merchant], [-TOKENS("30"), TOKENS("30"), 0n, 0n]);
      const receipt = await (await tx).wait();
      const refunds = receipt!.logs.filter((log) => f.escrow.interface.parseLog(log)?.name === "DepositRefunded");
      expect(refunds).to.have.length(1);
    });

    it("decreases the ledger's owed by what was pushed only, across mixed calls", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      // A second, completed payment in the same token stays owed to the merchant throughout.
      const paid = await f.signed();
      await payToken(f.escrow, f.other, paid, bl, TOKENS("100"));
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, bl, TOKENS("30"));
      await payToken(f.escrow, f.other, s, bl, TOKENS("20"));
      await expectLedger(f.escrow, bl, TOKENS("150"), 0n);
      await bl.setBlacklisted(f.customer.address, true);

      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, bl, [f.customer.address]);
      await expectLedger(f.escrow, bl, TOKENS("150"), 0n); // nothing pushed: 30 became claimable
      await f.escrow.connect(f.keeper).expire(s.intent, bl, [f.other.address]);
      await expectLedger(f.escrow, bl, TOKENS("130"), 0n); // 20 pushed
      expect(await bl.balanceOf(f.escrow)).to.equal(TOKENS("130"));
      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.balanceOf(f.merchant.address, bl)).to.equal(TOKENS("100"));
    });
  });
});
