import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, PRICE, TOKENS, USD } from "./support/fixture";
import { Status, INDEX, expectLedger, expectPayment } from "./support/payments";

describe("overpayment", function () {
  it("completes a 100 USD payment paid with 150 USDT: excessUsd 50, the whole 150 credited to the merchant", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();

    const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("150"), ethers.ZeroAddress);
    await expect(tx)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("150"), USD("150"), USD("150"), USD("50"), 0n);
    await expect(tx).not.to.emit(f.escrow, "PaymentDeposited");
    await expect(tx).to.changeTokenBalances(f.usdt, [f.customer, f.escrow], [-TOKENS("150"), TOKENS("150")]);

    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("150"),
      receivedUsd: USD("150"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("150"));
    await expectLedger(f.escrow, usdt, TOKENS("150"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(0n);
  });

  it("reports a one-wei overpayment exactly (excessUsd = 1)", async function () {
    const f = await loadFixture(deployEscrow);
    const usdc = await f.usdc.getAddress();
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("100") + 1n, ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdc, TOKENS("100") + 1n, USD("100") + 1n, USD("100") + 1n, 1n, 0n);
    expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(TOKENS("100") + 1n);
  });

  it("measures the excess at the feed price: 100 USDT at $1.0001 overpay 100 USD by 0.01 USD", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    await f.usdtFeed.updateAnswer(PRICE("1.0001"));
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("100"), USD("100.01"), USD("100.01"), USD("0.01"), 0n);
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
  });

  it("reports no excess for a payment completed within the tolerance (99.5 of 100 USD)", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("99.5"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("99.5"), USD("99.5"), USD("99.5"), 0n, 0n);
  });

  it("overpaying through a top-up: 60 then 70 USDT complete a 100 USD payment with excessUsd 30, all 130 credited", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("60"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("60"), USD("60"), USD("60"), USD("40"));

    const tx = await f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("70"), ethers.ZeroAddress);
    await expect(tx)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdt, TOKENS("70"), USD("70"), USD("130"), USD("30"), 0n);
    await expect(tx).to.changeTokenBalances(f.usdt, [f.other, f.escrow], [-TOKENS("70"), TOKENS("70")]);

    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("130"),
      receivedUsd: USD("130"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("130"));
    await expectLedger(f.escrow, usdt, TOKENS("130"));
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(0n);
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.other.address)).to.equal(0n);
  });

  it("overpaying in BNB: 1.5 BNB at $600 for 600 USD gives excessUsd 300 and credits 1.5 BNB", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    const value = ethers.parseEther("1.5");

    const tx = await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value });
    await expect(tx)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, value, USD("900"), USD("900"), USD("300"), 0n);
    await expect(tx).to.changeEtherBalances([f.customer, f.escrow], [-value, value]);
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(value);
    await expectLedger(f.escrow, NATIVE, value);
  });

  it("takes the platform fee from the whole overpaid amount: 1 % of 200 USDT", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    await f.escrow.setFee(100);
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("200"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("200"), USD("200"), USD("200"), USD("100"), TOKENS("2"));
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("198"));
    await expectLedger(f.escrow, usdt, TOKENS("200"), TOKENS("2"));
  });
});
