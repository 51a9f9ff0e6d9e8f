import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS } from "./support/fixture";
import { BNB, deployBlacklistToken, deployRevertingReceiver, expectLedger, passExpiry, payToken, relayEscrowCall, relayPayBnb } from "./support/scenarios";

describe("claim", function () {
  /**
   * The customer is owed a claimable 30 BUSD (its expired deposit could not be pushed while it was blacklisted),
   * and a RevertingReceiver payer is owed a claimable 0.05 BNB (it rejects BNB).
   */
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    const bl = await deployBlacklistToken(f);
    const receiver = await deployRevertingReceiver();

    const tokenPayment = await f.signed();
    await payToken(f.escrow, f.customer, tokenPayment, bl, TOKENS("30"));
    const bnbPayment = await f.signed();
    await relayPayBnb(receiver, f.other, f.escrow, bnbPayment, BNB("0.05"));

    await bl.setBlacklisted(f.customer.address, true);
    await passExpiry(bnbPayment.intent);
    await f.escrow.expire(tokenPayment.intent, bl, [f.customer.address]);
    await f.escrow.expire(bnbPayment.intent, NATIVE, [await receiver.getAddress()]);
    return { ...f, bl, receiver, stranger: signers[9], clean: signers[10] };
  }

  it("starts from the claimable refunds the fixture created", async function () {
    const f = await loadFixture(fixture);
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(TOKENS("30"));
    expect(await f.escrow.claimableOf(NATIVE, await f.receiver.getAddress())).to.equal(BNB("0.05"));
    await expectLedger(f.escrow, f.bl, TOKENS("30"), 0n);
    await expectLedger(f.escrow, NATIVE, BNB("0.05"), 0n);
  });

  it("claims to the caller itself once it can receive again", async function () {
    const f = await loadFixture(fixture);
    await f.bl.setBlacklisted(f.customer.address, false);
    const tx = f.escrow.connect(f.customer).claim(f.bl, f.customer.address);
    await expect(tx)
      .to.emit(f.escrow, "RefundClaimed")
      .withArgs(f.customer.address, f.customer.address, await f.bl.getAddress(), TOKENS("30"));
    await expect(tx).to.changeTokenBalances(f.bl, [f.escrow, f.customer], [-TOKENS("30"), TOKENS("30")]);
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(0n);
    await expectLedger(f.escrow, f.bl, 0n, 0n);
  });

  it("lets a blacklisted account claim its tokens to a clean address", async function () {
    const f = await loadFixture(fixture);
    const tx = f.escrow.connect(f.customer).claim(f.bl, f.clean.address);
    await expect(tx)
      .to.emit(f.escrow, "RefundClaimed")
      .withArgs(f.customer.address, f.clean.address, await f.bl.getAddress(), TOKENS("30"));
    await expect(tx).to.changeTokenBalances(f.bl, [f.escrow, f.clean, f.customer], [-TOKENS("30"), TOKENS("30"), 0n]);
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(0n);
    await expectLedger(f.escrow, f.bl, 0n, 0n);
  });

  it("lets a contract that rejects BNB claim its BNB to another address", async function () {
    const f = await loadFixture(fixture);
    const receiverAddress = await f.receiver.getAddress();
    const tx = relayEscrowCall(f.receiver, f.other, f.escrow, "claim", [NATIVE, f.clean.address]);
    await expect(tx).to.emit(f.escrow, "RefundClaimed").withArgs(receiverAddress, f.clean.address, NATIVE, BNB("0.05"));
    await expect(tx).to.changeEtherBalances([f.escrow, f.clean, f.receiver], [-BNB("0.05"), BNB("0.05"), 0n]);
    expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, 0n, 0n);
  });

  it("reverts with NativeTransferFailed when the claim is sent to an address that rejects BNB, keeping the claim", async function () {
    const f = await loadFixture(fixture);
    const receiverAddress = await f.receiver.getAddress();
    await expect(relayEscrowCall(f.receiver, f.other, f.escrow, "claim", [NATIVE, receiverAddress]))
      .to.be.revertedWithCustomError(f.escrow, "NativeTransferFailed")
      .withArgs(receiverAddress, BNB("0.05"));
    expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(BNB("0.05"));
  });

  it("reverts with NothingToClaim for an account with nothing owed, and after a claim", async function () {
    const f = await loadFixture(fixture);
    const bl = await f.bl.getAddress();
    await expect(f.escrow.connect(f.stranger).claim(bl, f.stranger.address))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(bl, f.stranger.address);
    // Owed in another token only.
    await expect(f.escrow.connect(f.customer).claim(NATIVE, f.clean.address))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(NATIVE, f.customer.address);

    await f.escrow.connect(f.customer).claim(bl, f.clean.address);
    await expect(f.escrow.connect(f.customer).claim(bl, f.clean.address))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(bl, f.customer.address);
  });

  it('reverts with ZeroAddress("recipient") for a zero recipient', async function () {
    const f = await loadFixture(fixture);
    await expect(f.escrow.connect(f.customer).claim(f.bl, ethers.ZeroAddress)).to.be.revertedWithCustomError(f.escrow, "ZeroAddress").withArgs("recipient");
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(TOKENS("30"));
  });

  it("works while deposits are paused", async function () {
    const f = await loadFixture(fixture);
    await f.escrow.connect(f.pauser).pause();
    await expect(f.escrow.connect(f.customer).claim(f.bl, f.clean.address)).to.changeTokenBalances(f.bl, [f.escrow, f.clean], [-TOKENS("30"), TOKENS("30")]);
    await expect(relayEscrowCall(f.receiver, f.other, f.escrow, "claim", [NATIVE, f.clean.address])).to.changeEtherBalances(
      [f.escrow, f.clean],
      [-BNB("0.05"), BNB("0.05")],
    );
  });

  it("adds up claimable refunds from expiries and merchant refunds and claims them at once", async function () {
    const f = await loadFixture(fixture);
    const paid = await f.signed();
    await f.bl.setBlacklisted(f.customer.address, false);
    await payToken(f.escrow, f.customer, paid, f.bl, TOKENS("100"));
    await f.bl.setBlacklisted(f.customer.address, true);
    await f.escrow.connect(f.merchant).refund(paid.intent.paymentId, f.customer.address, TOKENS("15"));
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(TOKENS("45"));
    await expectLedger(f.escrow, f.bl, TOKENS("130"), 0n);

    await expect(f.escrow.connect(f.customer).claim(f.bl, f.clean.address))
      .to.emit(f.escrow, "RefundClaimed")
      .withArgs(f.customer.address, f.clean.address, await f.bl.getAddress(), TOKENS("45"));
    expect(await f.bl.balanceOf(f.clean.address)).to.equal(TOKENS("45"));
    // What is left is the merchant's balance.
    await expectLedger(f.escrow, f.bl, TOKENS("85"), 0n);
    expect(await f.escrow.balanceOf(f.merchant.address, f.bl)).to.equal(TOKENS("85"));
  });

  it("pays only the caller's own claim: the account that relayed the receiver's deposit cannot take it", async function () {
    const f = await loadFixture(fixture);
    await expect(f.escrow.connect(f.other).claim(NATIVE, f.other.address))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(NATIVE, f.other.address);
    await expect(f.escrow.connect(f.stranger).claim(f.bl, f.stranger.address))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(await f.bl.getAddress(), f.stranger.address);
    expect(await f.escrow.claimableOf(NATIVE, await f.receiver.getAddress())).to.equal(BNB("0.05"));
    expect(await f.escrow.claimableOf(f.bl, f.customer.address)).to.equal(TOKENS("30"));
  });
});
