import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, newEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import { BNB, DEFAULT_ADMIN_ROLE, expectLedger, passExpiry, payBnb, payToken, Status } from "./support/scenarios";

describe("fees", function () {
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    return { ...f, stranger: signers[9], newTreasury: signers[10] };
  }

  async function zeroTreasuryFixture() {
    const [admin] = await ethers.getSigners();
    const escrow = await newEscrow(admin.address, ethers.ZeroAddress);
    return { escrow, admin };
  }

  describe("setFee", function () {
    it("sets the fee up to MAX_FEE_BPS and emits FeeUpdated with the previous and new values", async function () {
      const f = await loadFixture(fixture);
      expect(await f.escrow.MAX_FEE_BPS()).to.equal(500n);
      expect((await f.escrow.settings()).feeBps).to.equal(0n);

      await expect(f.escrow.connect(f.admin).setFee(250)).to.emit(f.escrow, "FeeUpdated").withArgs(0n, 250n);
      expect((await f.escrow.settings()).feeBps).to.equal(250n);
      await expect(f.escrow.connect(f.admin).setFee(500)).to.emit(f.escrow, "FeeUpdated").withArgs(250n, 500n);
      expect((await f.escrow.settings()).feeBps).to.equal(500n);
      await expect(f.escrow.connect(f.admin).setFee(0)).to.emit(f.escrow, "FeeUpdated").withArgs(500n, 0n);
      expect((await f.escrow.settings()).feeBps).to.equal(0n);
    });

    it("reverts with FeeTooHigh above MAX_FEE_BPS", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(100);
      await expect(f.escrow.connect(f.admin).setFee(501)).to.be.revertedWithCustomError(f.escrow, "FeeTooHigh").withArgs(501n, 500n);
      await expect(f.escrow.connect(f.admin).setFee(65535)).to.be.revertedWithCustomError(f.escrow, "FeeTooHigh").withArgs(65535n, 500n);
      expect((await f.escrow.settings()).feeBps).to.equal(100n);
    });

    it("refuses non-admins with AccessControlUnauthorizedAccount", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.signerManager, f.pauser, f.merchant, f.treasury, f.stranger]) {
        await expect(f.escrow.connect(caller).setFee(100))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it('reverts with ZeroAddress("treasury") for a non-zero fee while no treasury is set', async function () {
      const { escrow, admin } = await loadFixture(zeroTreasuryFixture);
      expect((await escrow.settings()).treasury).to.equal(ethers.ZeroAddress);
      await expect(escrow.connect(admin).setFee(1)).to.be.revertedWithCustomError(escrow, "ZeroAddress").withArgs("treasury");
      await expect(escrow.connect(admin).setFee(500)).to.be.revertedWithCustomError(escrow, "ZeroAddress").withArgs("treasury");
      // A zero fee needs no treasury.
      await expect(escrow.connect(admin).setFee(0)).to.emit(escrow, "FeeUpdated").withArgs(0n, 0n);

      const [, , , , , , , , treasury] = await ethers.getSigners();
      await escrow.connect(admin).setTreasury(treasury.address);
      await expect(escrow.connect(admin).setFee(1)).to.emit(escrow, "FeeUpdated").withArgs(0n, 1n);
    });
  });

  describe("fee on completion", function () {
    it("takes the fee rounded down and credits the merchant the rest", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(30); // 0.30%
      const s = await f.signed();
      const amount = TOKENS("99") + 9_999n; // within the 1% tolerance of $100
      // 99e18 + 9,999 units × 30 / 10,000 = 297e15 + 29.997 → 297e15 + 29
      const fee = 297_000_000_000_000_029n;
      const tx = payToken(f.escrow, f.customer, s, f.usdt, amount);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), amount, amount, amount, 0n, fee);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(98_703_000_000_000_009_970n);
      await expectLedger(f.escrow, f.usdt, amount, fee);
    });

    it("takes no fee when the fee rounds down to zero", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(30);
      const s = await f.signed({ amountUsd: 333n });
      await expect(payToken(f.escrow, f.customer, s, f.usdt, 333n))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), 333n, 333n, 333n, 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(333n);
      await expectLedger(f.escrow, f.usdt, 333n, 0n);
    });

    it("takes the fee on all deposits of a payment completed by a top-up, at the fee in force at completion", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(100);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await f.escrow.connect(f.admin).setFee(200);
      await expect(payToken(f.escrow, f.other, s, f.usdt, TOKENS("70")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(
          s.intent.paymentId,
          f.merchant.address,
          f.other.address,
          await f.usdt.getAddress(),
          TOKENS("70"),
          USD("70"),
          USD("110"),
          USD("10"),
          TOKENS("2.2"),
        );
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("107.8"));
      await expectLedger(f.escrow, f.usdt, TOKENS("110"), TOKENS("2.2"));
    });

    it("takes the fee on BNB payments", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(500);
      const s = await f.signed({ amountUsd: USD("60") });
      await expect(payBnb(f.escrow, f.customer, s, BNB("0.1")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.1"), USD("60"), USD("60"), 0n, BNB("0.005"));
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.095"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), BNB("0.005"));
    });

    it("does not change already-completed payments when the fee changes", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(100);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("99"));
      await expectLedger(f.escrow, f.usdt, TOKENS("100"), TOKENS("1"));

      await f.escrow.connect(f.admin).setFee(500);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("99"));
      await expectLedger(f.escrow, f.usdt, TOKENS("100"), TOKENS("1"));

      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("194"));
      await expectLedger(f.escrow, f.usdt, TOKENS("200"), TOKENS("6"));

      await f.escrow.connect(f.admin).setFee(0);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("194"));
      await expectLedger(f.escrow, f.usdt, TOKENS("200"), TOKENS("6"));
      await expect(f.escrow.withdrawFees(f.usdt)).to.changeTokenBalances(f.usdt, [f.escrow, f.treasury], [-TOKENS("6"), TOKENS("6")]);
    });

    it("takes no fee from deposits refunded on expiry", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(500);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await expect(f.escrow.expire(s.intent, f.usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("40"), TOKENS("40")],
      );
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
    });

    it("limits a merchant's refund of a fee-bearing payment by its balance: the fee stays with the treasury", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(100);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
        .withArgs(f.merchant.address, await f.usdt.getAddress(), TOKENS("100"), TOKENS("99"));
      await f.escrow.connect(f.merchant).refund(s.intent.paymentId, f.customer.address, TOKENS("99"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.PartiallyRefunded);
      await expectLedger(f.escrow, f.usdt, TOKENS("1"), TOKENS("1"));
    });
  });

  describe("withdrawFees", function () {
    it("sends the accumulated fees to the treasury, callable by anyone, leaving merchant balances owed", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(150);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await payToken(f.escrow, f.other, await f.signed(), f.usdt, TOKENS("200"));
      await expectLedger(f.escrow, f.usdt, TOKENS("300"), TOKENS("4.5"));

      const tx = f.escrow.connect(f.stranger).withdrawFees(f.usdt);
      await expect(tx)
        .to.emit(f.escrow, "FeesWithdrawn")
        .withArgs(f.treasury.address, await f.usdt.getAddress(), TOKENS("4.5"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.treasury, f.stranger], [-TOKENS("4.5"), TOKENS("4.5"), 0n]);
      await expectLedger(f.escrow, f.usdt, TOKENS("295.5"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("295.5"));

      // The merchant can still withdraw everything credited to it.
      await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("295.5"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.payout],
        [-TOKENS("295.5"), TOKENS("295.5")],
      );
      await expectLedger(f.escrow, f.usdt, 0n, 0n);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
    });

    it("sends BNB fees to the treasury", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(500);
      await payBnb(f.escrow, f.customer, await f.signed({ amountUsd: USD("60") }), BNB("0.1"));
      const tx = f.escrow.connect(f.merchant).withdrawFees(NATIVE);
      await expect(tx).to.emit(f.escrow, "FeesWithdrawn").withArgs(f.treasury.address, NATIVE, BNB("0.005"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.treasury], [-BNB("0.005"), BNB("0.005")]);
      await expectLedger(f.escrow, NATIVE, BNB("0.095"), 0n);
    });

    it("sends fees to the treasury in force when withdrawn", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setFee(100);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.admin).setTreasury(f.newTreasury.address)).to.emit(f.escrow, "TreasuryUpdated").withArgs(f.newTreasury.address);
      await expect(f.escrow.withdrawFees(f.usdt)).to.changeTokenBalances(f.usdt, [f.escrow, f.newTreasury, f.treasury], [-TOKENS("1"), TOKENS("1"), 0n]);
    });

    it("reverts with NothingToClaim when no fees accrued, and after they were withdrawn", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.withdrawFees(usdt)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(usdt, f.treasury.address);
      // A payment at a zero fee accrues nothing.
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await expect(f.escrow.withdrawFees(usdt)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(usdt, f.treasury.address);

      await f.escrow.connect(f.admin).setFee(100);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
      await f.escrow.withdrawFees(usdt);
      await expect(f.escrow.withdrawFees(usdt)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(usdt, f.treasury.address);
      await expect(f.escrow.withdrawFees(NATIVE)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(NATIVE, f.treasury.address);
    });

    it('reverts with ZeroAddress("treasury") while no treasury is set', async function () {
      const { escrow } = await loadFixture(zeroTreasuryFixture);
      await expect(escrow.withdrawFees(NATIVE)).to.be.revertedWithCustomError(escrow, "ZeroAddress").withArgs("treasury");
    });
  });
});
