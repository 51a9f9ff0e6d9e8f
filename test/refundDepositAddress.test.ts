import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { NATIVE, TOKENS, USD } from "./support/fixture";
import { INDEX, MERCHANT_ID } from "./support/payments";
import { BNB, deployBlacklistToken, deployRevertingReceiver, expectLedger, expectPayment, passExpiry, payBnb, payToken, Status } from "./support/scenarios";
import { depositAndCollect, depositFixture, plainTransfer } from "./support/depositAddresses";

const START = TOKENS("1000000"); // what the fixture mints each customer in USDT and USDC

describe("refundDepositAddress", function () {
  describe("with refundTo set in the intent", function () {
    it("has expire refund the deposit-address deposit to refundTo, leaving nothing for refundDepositAddress", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress]);
      await expect(tx).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, usdt, TOKENS("40"), USD("40"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, usdt, TOKENS("40"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.refundWallet, f.customer, depositAddress], [-TOKENS("40"), TOKENS("40"), 0n, 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, usdt, 0n, 0n);

      for (const caller of [f.stranger, f.operator]) {
        await expect(f.escrow.connect(caller).refundDepositAddress(s.intent, f.usdt, caller.address, 1n))
          .to.be.revertedWithCustomError(f.escrow, "RefundExceedsDeposit")
          .withArgs(s.intent.paymentId, 1n, 0n);
      }
      expect(await f.usdt.balanceOf(f.refundWallet.address)).to.equal(TOKENS("40"));
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("40"));
    });

    it("lets anyone refund a deposit-address deposit expire did not list, always to refundTo whatever `to` says", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));

      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));

      const first = f.escrow.connect(f.stranger).refundDepositAddress(s.intent, f.usdt, f.stranger.address, TOKENS("15"));
      await expect(first).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, usdt, TOKENS("15"));
      await expect(first).to.changeTokenBalances(f.usdt, [f.escrow, f.refundWallet, f.stranger], [-TOKENS("15"), TOKENS("15"), 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("25"));
      await expectLedger(f.escrow, usdt, TOKENS("25"), 0n);

      // A zero `to` is ignored too.
      const second = f.escrow.connect(f.stranger).refundDepositAddress(s.intent, f.usdt, ethers.ZeroAddress, TOKENS("25"));
      await expect(second).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, usdt, TOKENS("25"));
      await expect(second).to.changeTokenBalances(f.usdt, [f.escrow, f.refundWallet], [-TOKENS("25"), TOKENS("25")]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, usdt, 0n, 0n);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
    });

    it("reverts ZeroAmount for a zero amount", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []);
      await expect(f.escrow.connect(f.stranger).refundDepositAddress(s.intent, f.usdt, f.stranger.address, 0n)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAmount",
      );
    });
  });

  describe("with no refundTo (the operator chooses the receiver)", function () {
    it("has expire skip the deposit-address deposit, then lets the operator refund it to a chosen address", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await payToken(f.escrow, f.other, s, usdt, TOKENS("20")); // a direct payer
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await expectLedger(f.escrow, usdt, TOKENS("60"), 0n);

      await passExpiry(s.intent);
      const expiry = f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [f.other.address, depositAddress]);
      await expect(expiry).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, usdt, TOKENS("60"), USD("60"));
      await expect(expiry).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.other.address, f.other.address, usdt, TOKENS("20"));
      await expect(expiry).to.changeTokenBalances(f.usdt, [f.escrow, f.other, depositAddress, f.customer], [-TOKENS("20"), TOKENS("20"), 0n, 0n]);
      const receipt = await (await expiry).wait();
      const refunds = receipt!.logs.filter((log) => f.escrow.interface.parseLog(log)?.name === "DepositRefunded");
      expect(refunds).to.have.length(1);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.other.address)).to.equal(0n);
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);

      // Listing it again changes nothing.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress])).not.to.emit(f.escrow, "DepositRefunded");
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));

      const tx = f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("40"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, TOKENS("40"));
      await expect(tx).not.to.emit(f.escrow, "RefundClaimable");
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer, f.operator, depositAddress], [-TOKENS("40"), TOKENS("40"), 0n, 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, usdt, 0n, 0n);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START);
      expect(await f.usdt.balanceOf(f.other.address)).to.equal(START);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("60"),
        receivedUsd: USD("60"),
      });

      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsDeposit")
        .withArgs(s.intent.paymentId, 1n, 0n);
    });

    it("refunds two senders of one deposit address in two parts", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdc = await f.usdc.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdc, TOKENS("30"), f.customer);
      await depositAndCollect(f, s, f.usdc, TOKENS("25"), f.other, "0x");
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, depositAddress)).to.equal(TOKENS("55"));

      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdc, [depositAddress]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, depositAddress)).to.equal(TOKENS("55"));

      const first = f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdc, f.customer.address, TOKENS("30"));
      await expect(first).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdc, TOKENS("30"));
      await expect(first).to.changeTokenBalances(f.usdc, [f.escrow, f.customer, f.other], [-TOKENS("30"), TOKENS("30"), 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, depositAddress)).to.equal(TOKENS("25"));
      await expectLedger(f.escrow, usdc, TOKENS("25"), 0n);

      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdc, f.other.address, TOKENS("26")))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsDeposit")
        .withArgs(s.intent.paymentId, TOKENS("26"), TOKENS("25"));

      const second = f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdc, f.other.address, TOKENS("25"));
      await expect(second).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.other.address, usdc, TOKENS("25"));
      await expect(second).to.changeTokenBalances(f.usdc, [f.escrow, f.customer, f.other], [-TOKENS("25"), 0n, TOKENS("25")]);
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdc, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, usdc, 0n, 0n);
      expect(await f.usdc.balanceOf(f.customer.address)).to.equal(START);
      expect(await f.usdc.balanceOf(f.other.address)).to.equal(START);
    });

    it("refunds BNB collected from the deposit address", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, NATIVE, BNB("0.1"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [depositAddress]);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(BNB("0.1"));

      const tx = f.escrow.connect(f.operator).refundDepositAddress(s.intent, NATIVE, f.customer.address, BNB("0.1"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.customer.address, NATIVE, BNB("0.1"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.customer, depositAddress], [-BNB("0.1"), BNB("0.1"), 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
    });

    it("refuses everyone without OPERATOR_ROLE, including the admin, the merchant and the customer", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress]);

      for (const caller of [f.stranger, f.admin, f.merchant, f.customer, f.keeper, f.pauser, f.signerManager]) {
        await expect(f.escrow.connect(caller).refundDepositAddress(s.intent, f.usdt, caller.address, TOKENS("40")))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, f.OPERATOR_ROLE);
      }
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
      await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);

      // Once granted the role, the admin can.
      await f.escrow.connect(f.admin).grantRole(f.OPERATOR_ROLE, f.admin.address);
      await expect(f.escrow.connect(f.admin).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("40"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("40"), TOKENS("40")],
      );
    });

    it('reverts ZeroAmount for a zero amount and ZeroAddress("recipient") for a zero receiver', async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress]);

      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, 0n)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAmount",
      );
      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, ethers.ZeroAddress, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("recipient");
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
    });

    it("reverts RefundExceedsDeposit for more than was collected", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      await payToken(f.escrow, f.other, s, f.usdt, TOKENS("20")); // direct deposits are not the deposit address's
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []);

      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("40") + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsDeposit")
        .withArgs(s.intent.paymentId, TOKENS("40") + 1n, TOKENS("40"));
      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("60")))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsDeposit")
        .withArgs(s.intent.paymentId, TOKENS("60"), TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.other.address)).to.equal(TOKENS("20"));
      await expectLedger(f.escrow, f.usdt, TOKENS("60"), 0n);
    });
  });

  describe("deposits in a token that did not pay the payment", function () {
    it("has expire skip them when the intent names no refundTo, and lets the operator send them back at once", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await payBnb(f.escrow, f.other, s, BNB("0.2")); // completes it in BNB
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);

      // expire cannot send them back to the deposit address, which does not say who paid.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress])).not.to.emit(f.escrow, "DepositRefunded");
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
      await expect(f.escrow.connect(f.stranger).refundDepositAddress(s.intent, f.usdt, f.stranger.address, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.stranger.address, f.OPERATOR_ROLE);

      const tx = f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("40"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, TOKENS("40"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("40"), TOKENS("40")]);
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START);
      await expectLedger(f.escrow, usdt, 0n, 0n);
      // Not the token that paid it.
      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, NATIVE, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, NATIVE);
    });

    it("lets anyone send them to the intent's refundTo once another token paid the payment", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const depositAddress = await depositAndCollect(f, s, NATIVE, BNB("0.05"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("100"));

      const tx = f.escrow.connect(f.stranger).refundDepositAddress(s.intent, NATIVE, f.stranger.address, BNB("0.05"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, NATIVE, BNB("0.05"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.refundWallet, f.stranger], [-BNB("0.05"), BNB("0.05"), 0n]);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
    });

    it("reverts IntentMismatch on a paid payment for an intent other than the one it was paid under", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await payToken(f.escrow, f.other, s, f.usdc, TOKENS("100"));
      const altered = { ...s.intent, amountUsd: s.intent.amountUsd + 1n };
      await expect(f.escrow.connect(f.operator).refundDepositAddress(altered, f.usdt, f.customer.address, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
    });
  });

  describe("status and intent checks", function () {
    it("reverts NotRefundable(id, status, token) for a payment with no deposit, an open one (before and after its expiry time) and one paid in that token", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();

      const none = await f.signed();
      await expect(f.escrow.connect(f.operator).refundDepositAddress(none.intent, f.usdt, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(none.intent.paymentId, Status.None, usdt);

      const open = await f.signed();
      const openAddress = await depositAndCollect(f, open, f.usdt, TOKENS("40"));
      await expect(f.escrow.connect(f.operator).refundDepositAddress(open.intent, f.usdt, f.customer.address, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(open.intent.paymentId, Status.Open, usdt);

      const completed = await f.signed({ refundTo: f.refundWallet.address });
      await depositAndCollect(f, completed, f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.stranger).refundDepositAddress(completed.intent, f.usdt, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(completed.intent.paymentId, Status.Completed, usdt);

      // Past its expiry time but not yet expired by expire(): still Open.
      await time.increaseTo(open.intent.expiry + 1n);
      await expect(f.escrow.connect(f.operator).refundDepositAddress(open.intent, f.usdt, f.customer.address, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(open.intent.paymentId, Status.Open, usdt);
      await expect(f.escrow.connect(f.stranger).refundDepositAddress(completed.intent, f.usdt, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(completed.intent.paymentId, Status.Completed, usdt);

      // A merchant-refunded payment is not refundable here either.
      await f.escrow.connect(f.merchant).refund(completed.intent.paymentId, f.customer.address, TOKENS("100"));
      await expect(f.escrow.connect(f.stranger).refundDepositAddress(completed.intent, f.usdt, f.customer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(completed.intent.paymentId, Status.Refunded, usdt);

      expect(await f.escrow.depositOf(open.intent.paymentId, f.usdt, openAddress)).to.equal(TOKENS("40"));
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
    });

    for (const [field, change] of [
      ["a different amount", "amountUsd"],
      ["a different expiry", "expiry"],
      ["a refundTo added", "refundTo"],
      ["a different merchant", "merchant"],
    ] as const) {
      it(`reverts IntentMismatch for an altered intent (${field})`, async function () {
        const f = await loadFixture(depositFixture);
        const s = await f.signed();
        const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
        await passExpiry(s.intent);
        await f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress]);

        const altered = { ...s.intent };
        if (change === "amountUsd") altered.amountUsd = s.intent.amountUsd + 1n;
        if (change === "expiry") altered.expiry = s.intent.expiry + 1000n;
        if (change === "refundTo") altered.refundTo = f.stranger.address;
        if (change === "merchant") altered.merchant = f.other.address;

        // Even the operator cannot use another intent; nor can a stranger naming itself as refundTo.
        for (const caller of [f.operator, f.stranger]) {
          await expect(f.escrow.connect(caller).refundDepositAddress(altered, f.usdt, caller.address, TOKENS("40")))
            .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
            .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
        }
        expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
        await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);
      });
    }
  });

  describe("refunds that cannot be pushed", function () {
    it("makes a refund to a blacklisted address claimable; the ledger owed decreases only by what was pushed", async function () {
      const f = await loadFixture(depositFixture);
      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      // A completed payment in the same token stays owed to the merchant throughout.
      const paid = await f.signed();
      await payToken(f.escrow, f.other, paid, bl, TOKENS("100"));

      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, bl, TOKENS("30"), f.customer);
      await depositAndCollect(f, s, bl, TOKENS("20"), f.other, "0x");
      await expectLedger(f.escrow, bl, TOKENS("150"), 0n);
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, bl, [depositAddress]);
      await bl.setBlacklisted(f.customer.address, true);

      const blocked = f.escrow.connect(f.operator).refundDepositAddress(s.intent, bl, f.customer.address, TOKENS("30"));
      await expect(blocked).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.customer.address, blAddress, TOKENS("30"));
      await expect(blocked).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, f.customer.address, blAddress, TOKENS("30"));
      await expect(blocked).to.changeTokenBalances(bl, [f.escrow, f.customer], [0n, 0n]);
      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.depositOf(s.intent.paymentId, bl, depositAddress)).to.equal(TOKENS("20"));
      await expectLedger(f.escrow, bl, TOKENS("150"), 0n); // nothing pushed

      const pushed = f.escrow.connect(f.operator).refundDepositAddress(s.intent, bl, f.other.address, TOKENS("20"));
      await expect(pushed).not.to.emit(f.escrow, "RefundClaimable");
      await expect(pushed).to.changeTokenBalances(bl, [f.escrow, f.other], [-TOKENS("20"), TOKENS("20")]);
      await expectLedger(f.escrow, bl, TOKENS("130"), 0n); // 20 pushed
      expect(await f.escrow.depositOf(s.intent.paymentId, bl, depositAddress)).to.equal(0n);

      // The blacklisted customer claims to another wallet.
      await expect(f.escrow.connect(f.customer).claim(bl, f.refundWallet.address))
        .to.emit(f.escrow, "RefundClaimed")
        .withArgs(f.customer.address, f.refundWallet.address, blAddress, TOKENS("30"));
      await expectLedger(f.escrow, bl, TOKENS("100"), 0n);
      expect(await bl.balanceOf(f.refundWallet.address)).to.equal(TOKENS("30"));
      expect(await bl.balanceOf(f.escrow)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, bl)).to.equal(TOKENS("100"));
    });

    it("makes a refund to a blacklisted refundTo claimable by refundTo, whoever calls", async function () {
      const f = await loadFixture(depositFixture);
      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const depositAddress = await depositAndCollect(f, s, bl, TOKENS("30"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, bl, []);
      await bl.setBlacklisted(f.refundWallet.address, true);

      const tx = f.escrow.connect(f.stranger).refundDepositAddress(s.intent, bl, f.stranger.address, TOKENS("30"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, blAddress, TOKENS("30"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, f.refundWallet.address, blAddress, TOKENS("30"));
      expect(await f.escrow.claimableOf(bl, f.refundWallet.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.claimableOf(bl, f.stranger.address)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, bl, depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, bl, TOKENS("30"), 0n);
      expect(await bl.balanceOf(f.escrow)).to.equal(TOKENS("30"));
    });

    it("makes a BNB refund to a receiver that refuses BNB claimable", async function () {
      const f = await loadFixture(depositFixture);
      const receiver = await deployRevertingReceiver();
      const receiverAddress = await receiver.getAddress();
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, NATIVE, BNB("0.1"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, NATIVE, [depositAddress]);

      const tx = f.escrow.connect(f.operator).refundDepositAddress(s.intent, NATIVE, receiverAddress, BNB("0.1"));
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, depositAddress, receiverAddress, NATIVE, BNB("0.1"));
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, receiverAddress, NATIVE, BNB("0.1"));
      await expect(tx).to.changeEtherBalances([f.escrow, receiver], [0n, 0n]);
      expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(0n);
    });
  });

  describe("alongside returnStray", function () {
    it("refunds what was collected while returnStray returns what arrived too late at the same address", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdt, f.other, depositAddress, TOKENS("30")); // never collected
      await passExpiry(s.intent);
      // Even collected late, the 30 could not complete it (40 + 30 of 100): anyone may expire it at once.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, [depositAddress])).to.emit(f.escrow, "PaymentExpired");

      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.customer.address, TOKENS("40"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer, depositAddress],
        [-TOKENS("40"), TOKENS("40"), 0n],
      );
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.other.address))
        .to.emit(f.escrow, "StrayReturned")
        .withArgs(s.intent.paymentId, depositAddress, f.other.address, usdt, TOKENS("30"));
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START);
      expect(await f.usdt.balanceOf(f.other.address)).to.equal(START);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(0n);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
      await expectLedger(f.escrow, usdt, 0n, 0n);
    });
  });
});
