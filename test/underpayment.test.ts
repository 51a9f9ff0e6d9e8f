import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, PRICE, TOKENS, USD } from "./support/fixture";
import { Status, INDEX, atNextBlock, expectLedger, expectPayment } from "./support/payments";

describe("underpayment and top-ups", function () {
  it("reports the full amount as remaining before any deposit", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent } = await f.signed({ amountUsd: USD("123.45") });
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("123.45"));
    expect(await f.escrow.depositOf(intent.paymentId, f.usdt, f.customer.address)).to.equal(0n);
  });

  it("keeps an underpaid payment open and adds up deposits across payers: events, remainingUsd, depositOf, stored payment", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();

    const first = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("30"), ethers.ZeroAddress);
    await expect(first)
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("30"), USD("30"), USD("30"), USD("70"));
    await expect(first).not.to.emit(f.escrow, "PaymentCompleted");
    await expect(first).to.changeTokenBalances(f.usdt, [f.customer, f.escrow], [-TOKENS("30"), TOKENS("30")]);
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("70"));

    const second = await f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("25.5"), ethers.ZeroAddress);
    await expect(second)
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdt, TOKENS("25.5"), USD("25.5"), USD("55.5"), USD("44.5"));

    const third = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("4.5"), ethers.ZeroAddress);
    await expect(third)
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("4.5"), USD("4.5"), USD("60"), USD("40"));

    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Open,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("60"),
      receivedUsd: USD("60"),
    });
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("40"));
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("34.5"));
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.other.address)).to.equal(TOKENS("25.5"));
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.merchant.address)).to.equal(0n);
    // Nothing is credited to the merchant until the payment completes, but the escrow owes every deposit.
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
    await expectLedger(f.escrow, usdt, TOKENS("60"));
  });

  it("completes on the top-up that reaches the amount, crediting every deposit to the merchant", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("30"), ethers.ZeroAddress);
    await f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("25"), ethers.ZeroAddress);

    const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("45"), ethers.ZeroAddress);
    await expect(tx)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("45"), USD("45"), USD("100"), 0n, 0n);
    await expect(tx).not.to.emit(f.escrow, "PaymentDeposited");

    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("100"),
      receivedUsd: USD("100"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    await expectLedger(f.escrow, usdt, TOKENS("100"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
    // Deposits of a completed payment belong to the merchant: none is refundable to its payer any more.
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(0n);
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.other.address)).to.equal(0n);
    // The completed payment can neither be topped up nor expired, and nothing of the token that paid it refunded.
    await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, 1n, ethers.ZeroAddress))
      .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
      .withArgs(intent.paymentId, Status.Completed);
    await expect(f.escrow.expire(intent, usdt, [f.customer.address]))
      .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
      .withArgs(intent.paymentId, Status.Completed, usdt);
  });

  it("completes on a top-up that brings it within the tolerance (99 of 100 USD)", async function () {
    const f = await loadFixture(deployEscrow);
    const usdc = await f.usdc.getAddress();
    const { intent, signature } = await f.signed();
    await f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("50"), ethers.ZeroAddress);
    await expect(f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("49"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdc, TOKENS("49"), USD("49"), USD("99"), 0n, 0n);
    expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(TOKENS("99"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
  });

  it("values everything received again at each deposit's price: remainingUsd follows a price move", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("50"), ethers.ZeroAddress); // 50 USD at $1
    await f.usdtFeed.updateAnswer(PRICE("0.98"));
    // Before any new deposit, what is left already counts the 50 received at today's price.
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("51"));

    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("40"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("40"), USD("39.2"), USD("88.2"), USD("11.8"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("11.8"));
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Open,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("90"),
      receivedUsd: USD("88.2"),
    });
    await f.usdtFeed.updateAnswer(PRICE("1.02"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("8.2"));
    // Worth the whole amount now, though still open: nothing left to pay, one more unit completes it.
    await f.usdtFeed.updateAnswer(PRICE("1.2"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
  });

  it("accepts a top-up in the expiry second and rejects one a second later with DepositAfterExpiry", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("10"), ethers.ZeroAddress);

    await atNextBlock(intent.expiry);
    await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("10"), ethers.ZeroAddress))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdt, TOKENS("10"), USD("10"), USD("20"), USD("80"));

    await atNextBlock(intent.expiry + 1n);
    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("80"), ethers.ZeroAddress))
      .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
      .withArgs(intent.paymentId, intent.expiry, intent.expiry + 1n);
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Open,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("20"),
      receivedUsd: USD("20"),
    });
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("10"));
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.other.address)).to.equal(TOKENS("10"));
  });

  it("rejects a top-up of a payment expired with expire() with InvalidPaymentStatus(id, Expired); remainingUsd is then 0", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("10"), ethers.ZeroAddress);
    await atNextBlock(intent.expiry + 1n);
    await expect(f.escrow.expire(intent, usdt, []))
      .to.emit(f.escrow, "PaymentExpired")
      .withArgs(intent.paymentId, usdt, TOKENS("10"), USD("10"));

    await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("90"), ethers.ZeroAddress))
      .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
      .withArgs(intent.paymentId, Status.Expired);
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("10"));
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
  });
});
