import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { TestToken } from "../typechain-types";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import {
  addBnb,
  BNB,
  DEFAULT_ADMIN_ROLE,
  deployBlacklistToken,
  deployRevertingReceiver,
  expectLedger,
  passExpiry,
  payBnb,
  payToken,
} from "./support/scenarios";

describe("rescue", function () {
  /**
   * USDT owed: 100 to the merchant (a completed payment) and 20 to the customer (an open deposit).
   * BNB owed: 0.1 to the merchant.
   */
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    await payToken(f.escrow, f.other, await f.signed(), f.usdt, TOKENS("100"));
    const open = await f.signed();
    await payToken(f.escrow, f.customer, open, f.usdt, TOKENS("20"));
    await payBnb(f.escrow, f.customer, await f.signed({ amountUsd: USD("60") }), BNB("0.1"));
    return { ...f, open, stranger: signers[9], rescuer: signers[10] };
  }

  describe("tokens", function () {
    it("moves tokens sent to the escrow by plain transfer, up to balance − owed", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await f.usdt.connect(f.other).transfer(f.escrow, TOKENS("50"));
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(TOKENS("170"));
      await expectLedger(f.escrow, usdt, TOKENS("120"), 0n);

      await expect(f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("50") + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(usdt, TOKENS("50") + 1n, TOKENS("50"));

      const tx = f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("50"));
      await expect(tx).to.emit(f.escrow, "Rescued").withArgs(usdt, f.rescuer.address, TOKENS("50"));
      await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.rescuer], [-TOKENS("50"), TOKENS("50")]);
      await expectLedger(f.escrow, usdt, TOKENS("120"), 0n);

      await expect(f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(usdt, 1n, 0n);

      // Everything owed is still paid out.
      await expect(f.escrow.connect(f.merchant).withdraw(usdt, TOKENS("100"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.payout],
        [-TOKENS("100"), TOKENS("100")],
      );
      await passExpiry(f.open.intent);
      await expect(f.escrow.expire(f.open.intent, f.usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("20"), TOKENS("20")],
      );
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(0n);
    });

    it("rescues a surplus in several parts", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await f.usdt.connect(f.other).transfer(f.escrow, TOKENS("50"));
      await f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("30"));
      await expect(f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("21")))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(usdt, TOKENS("21"), TOKENS("20"));
      await f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("20"));
      expect(await f.usdt.balanceOf(f.rescuer.address)).to.equal(TOKENS("50"));
    });

    it("reverts with RescueExceedsSurplus(surplus 0) when nothing beyond what is owed is held", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(usdt, 1n, 0n);
      await expect(f.escrow.connect(f.admin).rescue(usdt, f.rescuer.address, TOKENS("120")))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(usdt, TOKENS("120"), 0n);
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(TOKENS("120"));
    });

    it("counts merchant balances, open deposits, claimable refunds and fees as owed", async function () {
      const f = await loadFixture(fixture);
      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      await f.escrow.connect(f.admin).setFee(100);
      const paid = await f.signed();
      await payToken(f.escrow, f.customer, paid, bl, TOKENS("100")); // merchant 99, fees 1
      await payToken(f.escrow, f.other, await f.signed(), bl, TOKENS("20")); // open deposit 20
      await bl.setBlacklisted(f.customer.address, true);
      await f.escrow.connect(f.merchant).refund(paid.intent.paymentId, f.customer.address, TOKENS("30")); // claimable 30
      expect(await f.escrow.claimableOf(bl, f.customer.address)).to.equal(TOKENS("30"));
      await expectLedger(f.escrow, bl, TOKENS("120"), TOKENS("1"));

      await bl.mint(f.escrow, TOKENS("5"));
      await expect(f.escrow.connect(f.admin).rescue(blAddress, f.rescuer.address, TOKENS("6")))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(blAddress, TOKENS("6"), TOKENS("5"));
      await expect(f.escrow.connect(f.admin).rescue(blAddress, f.rescuer.address, TOKENS("5"))).to.changeTokenBalances(
        bl,
        [f.escrow, f.rescuer],
        [-TOKENS("5"), TOKENS("5")],
      );
      expect(await bl.balanceOf(f.escrow)).to.equal(TOKENS("120"));
    });

    it("rescues all of a token the escrow never accepted", async function () {
      const f = await loadFixture(fixture);
      const stray = (await (await ethers.getContractFactory("TestToken")).deploy("Stray", "STR", 6)) as unknown as TestToken;
      const strayAddress = await stray.getAddress();
      await stray.mint(f.escrow, 10_000_000n);
      await expect(f.escrow.connect(f.admin).rescue(strayAddress, f.rescuer.address, 10_000_001n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(strayAddress, 10_000_001n, 10_000_000n);
      await expect(f.escrow.connect(f.admin).rescue(strayAddress, f.rescuer.address, 10_000_000n))
        .to.emit(f.escrow, "Rescued")
        .withArgs(strayAddress, f.rescuer.address, 10_000_000n);
      expect(await stray.balanceOf(f.rescuer.address)).to.equal(10_000_000n);
    });
  });

  describe("BNB", function () {
    it("refuses plain BNB transfers, so BNB beyond what is owed can only be forced in", async function () {
      const f = await loadFixture(fixture);
      await expect(f.other.sendTransaction({ to: await f.escrow.getAddress(), value: BNB("1") })).to.be.reverted;
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("0.1"));
    });

    it("moves BNB forced into the escrow, up to balance − owed", async function () {
      const f = await loadFixture(fixture);
      await addBnb(f.escrow, BNB("1"));
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("1.1"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);

      await expect(f.escrow.connect(f.admin).rescue(NATIVE, f.rescuer.address, BNB("1") + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(NATIVE, BNB("1") + 1n, BNB("1"));

      const tx = f.escrow.connect(f.admin).rescue(NATIVE, f.rescuer.address, BNB("1"));
      await expect(tx).to.emit(f.escrow, "Rescued").withArgs(NATIVE, f.rescuer.address, BNB("1"));
      await expect(tx).to.changeEtherBalances([f.escrow, f.rescuer], [-BNB("1"), BNB("1")]);

      await expect(f.escrow.connect(f.admin).rescue(NATIVE, f.rescuer.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
        .withArgs(NATIVE, 1n, 0n);
      await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.1"), BNB("0.1")]);
    });

    it("reverts with NativeTransferFailed when the recipient rejects BNB", async function () {
      const f = await loadFixture(fixture);
      const receiver = await deployRevertingReceiver();
      await addBnb(f.escrow, BNB("1"));
      await expect(f.escrow.connect(f.admin).rescue(NATIVE, receiver, BNB("1")))
        .to.be.revertedWithCustomError(f.escrow, "NativeTransferFailed")
        .withArgs(await receiver.getAddress(), BNB("1"));
    });
  });

  describe("access and arguments", function () {
    it("refuses every non-admin with AccessControlUnauthorizedAccount", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await f.usdt.connect(f.other).transfer(f.escrow, TOKENS("50"));
      for (const caller of [f.signerManager, f.pauser, f.merchant, f.payout, f.treasury, f.customer, f.stranger]) {
        await expect(f.escrow.connect(caller).rescue(usdt, caller.address, TOKENS("50")))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
      expect(await f.usdt.balanceOf(f.escrow)).to.equal(TOKENS("170"));
    });

    it("reverts with ZeroAmount for a rescue of nothing", async function () {
      const f = await loadFixture(fixture);
      await f.usdt.connect(f.other).transfer(f.escrow, TOKENS("50"));
      await expect(f.escrow.connect(f.admin).rescue(f.usdt, f.rescuer.address, 0n)).to.be.revertedWithCustomError(f.escrow, "ZeroAmount");
    });

    it('reverts with ZeroAddress("recipient") for a zero recipient', async function () {
      const f = await loadFixture(fixture);
      await f.usdt.connect(f.other).transfer(f.escrow, TOKENS("50"));
      await expect(f.escrow.connect(f.admin).rescue(f.usdt, ethers.ZeroAddress, TOKENS("50")))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("recipient");
      await addBnb(f.escrow, BNB("1"));
      await expect(f.escrow.connect(f.admin).rescue(NATIVE, ethers.ZeroAddress, BNB("1")))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("recipient");
    });
  });
});
