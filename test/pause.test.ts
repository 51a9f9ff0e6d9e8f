import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import { BNB, deployBlacklistToken, expectLedger, passExpiry, payBnb, payToken, PAUSER_ROLE, Status } from "./support/scenarios";

describe("pause", function () {
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    return { ...f, stranger: signers[9] };
  }

  describe("access and events", function () {
    it("lets the pauser pause and unpause with Paused and Unpaused", async function () {
      const f = await loadFixture(fixture);
      expect((await f.escrow.settings()).paused).to.equal(false);
      await expect(f.escrow.connect(f.pauser).pause()).to.emit(f.escrow, "Paused").withArgs(f.pauser.address);
      expect((await f.escrow.settings()).paused).to.equal(true);
      await expect(f.escrow.connect(f.pauser).unpause()).to.emit(f.escrow, "Unpaused").withArgs(f.pauser.address);
      expect((await f.escrow.settings()).paused).to.equal(false);
    });

    it("refuses pause to every account without the pauser role, admin included", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.admin, f.signerManager, f.merchant, f.customer, f.stranger]) {
        await expect(f.escrow.connect(caller).pause())
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, PAUSER_ROLE);
      }
      expect((await f.escrow.settings()).paused).to.equal(false);
    });

    it("refuses unpause to every account without the pauser role, admin included", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.pauser).pause();
      for (const caller of [f.admin, f.signerManager, f.merchant, f.customer, f.stranger]) {
        await expect(f.escrow.connect(caller).unpause())
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, PAUSER_ROLE);
      }
      expect((await f.escrow.settings()).paused).to.equal(true);
    });

    it("keeps the other settings when pausing and unpausing", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(120);
      await f.escrow.connect(f.admin).setTolerance(f.usdt, 250);
      await f.escrow.connect(f.pauser).pause();
      let s = await f.escrow.settings();
      expect([s.feeBps, s.paused, s.treasury]).to.deep.equal([120n, true, f.treasury.address]);
      expect((await f.escrow.tokenConfigOf(f.usdt)).toleranceBps).to.equal(250n);
      await f.escrow.connect(f.pauser).unpause();
      s = await f.escrow.settings();
      expect([s.feeBps, s.paused, s.treasury]).to.deep.equal([120n, false, f.treasury.address]);
      expect((await f.escrow.tokenConfigOf(f.usdt)).toleranceBps).to.equal(250n);
    });
  });

  describe("what pausing stops", function () {
    it("stops pay with DepositsPaused", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.pauser).pause();
      const s = await f.signed();
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"))).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
    });

    it("stops payNative with DepositsPaused", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.pauser).pause();
      const s = await f.signed();
      await expect(payBnb(f.escrow, f.customer, s, BNB("0.2"))).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
    });

    it("stops top-ups of an open payment with DepositsPaused", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await f.escrow.connect(f.pauser).pause();
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60"))).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, f.customer.address)).to.equal(TOKENS("40"));
    });

    it("resumes deposits after unpause", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await f.escrow.connect(f.pauser).pause();
      await f.escrow.connect(f.pauser).unpause();
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [TOKENS("60"), -TOKENS("60")],
      );
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));

      const b = await f.signed({ amountUsd: USD("60") });
      await expect(payBnb(f.escrow, f.customer, b, BNB("0.1"))).to.changeEtherBalances([f.escrow, f.customer], [BNB("0.1"), -BNB("0.1")]);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
    });
  });

  describe("what pausing does not stop", function () {
    it("does not stop expire", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await f.escrow.connect(f.pauser).pause();
      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.stranger).expire(s.intent, f.usdt, [f.customer.address]);
      await expect(tx)
        .to.emit(f.escrow, "PaymentExpired")
        .withArgs(s.intent.paymentId, await f.usdt.getAddress(), TOKENS("40"), USD("40"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("40"), TOKENS("40")]);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Expired);
    });

    it("does not stop refund", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      await f.escrow.connect(f.pauser).pause();
      const tx = f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("100"));
      await expect(tx)
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), TOKENS("100"), TOKENS("100"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.customer], [-TOKENS("100"), TOKENS("100")]);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Refunded);
    });

    it("does not stop claim", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, bl, TOKENS("100"));
      await bl.setBlacklisted(f.customer.address, true);
      await f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("100"));
      await f.escrow.connect(f.pauser).pause();
      const tx = f.escrow.connect(f.customer).claim(bl, f.other.address);
      await expect(tx)
        .to.emit(f.escrow, "RefundClaimed")
        .withArgs(f.customer.address, f.other.address, await bl.getAddress(), TOKENS("100"));
      await expect(tx).to.changeTokenBalances(bl, [f.escrow, f.other], [-TOKENS("100"), TOKENS("100")]);
      await expectLedger(f.escrow, bl, 0n, 0n);
    });

    it("does not stop withdraw", async function () {
      const f = await loadFixture(fixture);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await payBnb(f.escrow, f.customer, await f.signed({ amountUsd: USD("60") }), BNB("0.1"));
      await f.escrow.connect(f.pauser).pause();
      await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100")))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(f.merchant.address, f.payout.address, await f.usdt.getAddress(), TOKENS("100"));
      await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.1"), BNB("0.1")]);
    });

    it("does not stop withdrawFees", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(200);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await f.escrow.connect(f.pauser).pause();
      const tx = f.escrow.connect(f.stranger).withdrawFees(f.usdt);
      await expect(tx)
        .to.emit(f.escrow, "FeesWithdrawn")
        .withArgs(f.treasury.address, await f.usdt.getAddress(), TOKENS("2"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.treasury], [-TOKENS("2"), TOKENS("2")]);
      await expectLedger(f.escrow, f.usdt, TOKENS("98"), 0n);
    });

    it("does not stop merchant and operator administration", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.pauser).pause();
      await expect(f.escrow.connect(f.merchant).setPayout(f.stranger.address))
        .to.emit(f.escrow, "PayoutUpdated")
        .withArgs(f.merchant.address, f.stranger.address);
      await expect(f.escrow.connect(f.merchant).setSigner(f.stranger.address, true))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.stranger.address, true);
      await expect(f.escrow.connect(f.signerManager).revokeSigner(f.merchant.address, f.stranger.address))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.stranger.address, false);
      await expect(f.escrow.connect(f.admin).setFee(100)).to.emit(f.escrow, "FeeUpdated").withArgs(0n, 100n);
    });
  });
});
