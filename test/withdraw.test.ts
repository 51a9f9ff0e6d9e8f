import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import { signIntent } from "./support/intents";
import { BNB, deployRevertingReceiver, expectLedger, payBnb, payToken } from "./support/scenarios";

describe("withdraw", function () {
  /** The merchant holds 100 USDT (a $100 payment) and 0.1 BNB (a $60 payment). */
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
    await payBnb(f.escrow, f.customer, await f.signed({ amountUsd: USD("60") }), BNB("0.1"));
    return { ...f, stranger: signers[9], newPayout: signers[10], merchant2: signers[11], signer2: signers[12] };
  }

  it("sends tokens to the payout wallet, not to the merchant's address", async function () {
    const f = await loadFixture(fixture);
    const tx = f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"));
    await expect(tx)
      .to.emit(f.escrow, "Withdrawn")
      .withArgs(f.merchant.address, f.payout.address, await f.usdt.getAddress(), TOKENS("100"));
    await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.payout, f.merchant], [-TOKENS("100"), TOKENS("100"), 0n]);
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(0n);
    await expectLedger(f.escrow, f.usdt, 0n, 0n);
    // The BNB balance is untouched.
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
  });

  it("sends BNB to the payout wallet", async function () {
    const f = await loadFixture(fixture);
    const tx = f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"));
    await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(f.merchant.address, f.payout.address, NATIVE, BNB("0.1"));
    await expect(tx).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.1"), BNB("0.1")]);
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, 0n, 0n);
    expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
  });

  it("withdraws part of the balance, then the rest", async function () {
    const f = await loadFixture(fixture);
    const usdt = await f.usdt.getAddress();
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("35")))
      .to.emit(f.escrow, "Withdrawn")
      .withArgs(f.merchant.address, f.payout.address, usdt, TOKENS("35"));
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("65"));
    await expectLedger(f.escrow, f.usdt, TOKENS("65"), 0n);
    expect(await f.usdt.balanceOf(f.payout.address)).to.equal(TOKENS("35"));

    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("65"))).to.changeTokenBalances(
      f.usdt,
      [f.escrow, f.payout],
      [-TOKENS("65"), TOKENS("65")],
    );
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(0n);
    await expectLedger(f.escrow, f.usdt, 0n, 0n);
    expect(await f.usdt.balanceOf(f.payout.address)).to.equal(TOKENS("100"));

    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.025"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.025"), BNB("0.025")]);
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.075"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.075"), BNB("0.075")]);
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
  });

  it("reverts with InsufficientMerchantBalance above the balance", async function () {
    const f = await loadFixture(fixture);
    const usdt = await f.usdt.getAddress();
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100") + 1n))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
      .withArgs(f.merchant.address, usdt, TOKENS("100") + 1n, TOKENS("100"));
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.2")))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
      .withArgs(f.merchant.address, NATIVE, BNB("0.2"), BNB("0.1"));
    // A token the merchant was never paid in.
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdc, 1n))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
      .withArgs(f.merchant.address, await f.usdc.getAddress(), 1n, 0n);
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
  });

  it("reverts with InsufficientMerchantBalance after the balance was withdrawn", async function () {
    const f = await loadFixture(fixture);
    await f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"));
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, 1n))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
      .withArgs(f.merchant.address, await f.usdt.getAddress(), 1n, 0n);
  });

  it("reverts with ZeroAmount for zero", async function () {
    const f = await loadFixture(fixture);
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, 0n)).to.be.revertedWithCustomError(f.escrow, "ZeroAmount");
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, 0n)).to.be.revertedWithCustomError(f.escrow, "ZeroAmount");
  });

  it("reverts with MerchantNotRegistered for accounts that are not merchants (payout wallet and signer included)", async function () {
    const f = await loadFixture(fixture);
    for (const caller of [f.stranger, f.customer, f.payout, f.intentSigner]) {
      await expect(f.escrow.connect(caller).withdraw(f.usdt, TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered")
        .withArgs(caller.address);
    }
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
  });

  it("keeps merchants' balances apart", async function () {
    const f = await loadFixture(fixture);
    await f.escrow.connect(f.signerManager).registerMerchant(f.merchant2.address, f.merchant2.address, f.signer2.address);
    const own = await f.intent({ merchant: f.merchant2.address, amountUsd: USD("10") });
    await payToken(f.escrow, f.other, { intent: own, signature: await signIntent(f.signer2, f.escrow, own) }, f.usdt, TOKENS("10"));
    await expect(f.escrow.connect(f.merchant2).withdraw(f.usdt, TOKENS("11")))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
      .withArgs(f.merchant2.address, await f.usdt.getAddress(), TOKENS("11"), TOKENS("10"));
    await expect(f.escrow.connect(f.merchant2).withdraw(f.usdt, TOKENS("10"))).to.changeTokenBalances(
      f.usdt,
      [f.escrow, f.merchant2, f.payout],
      [-TOKENS("10"), TOKENS("10"), 0n],
    );
    expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
    await expectLedger(f.escrow, f.usdt, TOKENS("100"), 0n);
  });

  it("sends to the new payout wallet after setPayout", async function () {
    const f = await loadFixture(fixture);
    await expect(f.escrow.connect(f.merchant).setPayout(f.newPayout.address))
      .to.emit(f.escrow, "PayoutUpdated")
      .withArgs(f.merchant.address, f.newPayout.address);
    const m = await f.escrow.merchantOf(f.merchant.address);
    expect([m.id, m.payout]).to.deep.equal([1n, f.newPayout.address]);

    const tx = f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"));
    await expect(tx)
      .to.emit(f.escrow, "Withdrawn")
      .withArgs(f.merchant.address, f.newPayout.address, await f.usdt.getAddress(), TOKENS("100"));
    await expect(tx).to.changeTokenBalances(f.usdt, [f.escrow, f.newPayout, f.payout], [-TOKENS("100"), TOKENS("100"), 0n]);
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"))).to.changeEtherBalances(
      [f.escrow, f.newPayout, f.payout],
      [-BNB("0.1"), BNB("0.1"), 0n],
    );
  });

  it("works while deposits are paused", async function () {
    const f = await loadFixture(fixture);
    await f.escrow.connect(f.pauser).pause();
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"))).to.changeTokenBalances(
      f.usdt,
      [f.escrow, f.payout],
      [-TOKENS("100"), TOKENS("100")],
    );
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.1"), BNB("0.1")]);
  });

  it("reverts with NativeTransferFailed when the payout wallet rejects BNB, keeping the balance", async function () {
    const f = await loadFixture(fixture);
    const receiver = await deployRevertingReceiver();
    const receiverAddress = await receiver.getAddress();
    await f.escrow.connect(f.merchant).setPayout(receiverAddress);

    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.04")))
      .to.be.revertedWithCustomError(f.escrow, "NativeTransferFailed")
      .withArgs(receiverAddress, BNB("0.04"));
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
    await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
    expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("0.1"));

    // Tokens still reach a contract payout wallet, and pointing the payout back at an EOA frees the BNB.
    await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"))).to.changeTokenBalances(
      f.usdt,
      [f.escrow, receiver],
      [-TOKENS("100"), TOKENS("100")],
    );
    await f.escrow.connect(f.merchant).setPayout(f.payout.address);
    await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.1"))).to.changeEtherBalances([f.escrow, f.payout], [-BNB("0.1"), BNB("0.1")]);
  });
});
