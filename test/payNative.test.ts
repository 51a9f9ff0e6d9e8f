import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, newEscrow, NATIVE, PRICE, TOKENS, USD } from "./support/fixture";
import { Status, INDEX, U104_MAX, expectLedger, expectPayment, atNextBlock } from "./support/payments";

const BNB = (amount: string) => ethers.parseEther(amount);

describe("payNative (BNB)", function () {
  it("completes a 600 USD payment paid with 1 BNB at $600: credits the merchant's BNB balance and ledger", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });

    const tx = await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("1") });

    await expect(tx).to.changeEtherBalances([f.customer, f.escrow], [-BNB("1"), BNB("1")]);
    await expect(tx)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("1"), USD("600"), USD("600"), 0n, 0n);
    await expect(tx).not.to.emit(f.escrow, "PaymentDeposited");
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.bnb,
      amount: BNB("1"),
      receivedUsd: USD("600"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("1"));
    await expectLedger(f.escrow, NATIVE, BNB("1"));
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
    expect(await ethers.provider.getBalance(await f.escrow.getAddress())).to.equal(BNB("1"));
  });

  it("values a BNB amount that is not a round number of dollars exactly (100 USD = 1/6 BNB rounded up)", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed();
    const value = 166_666_666_666_666_667n; // ceil(10^18 / 6)

    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value }))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, value, 100_000_000_000_000_000_200n, 100_000_000_000_000_000_200n, 200n, 0n);
  });

  it("keeps a partial BNB payment open and completes it with a BNB top-up from another payer", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });

    const first = await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.25") });
    await expect(first)
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.25"), USD("150"), USD("150"), USD("450"));
    await expect(first).not.to.emit(f.escrow, "PaymentCompleted");
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Open,
      tokenIndex: INDEX.bnb,
      amount: BNB("0.25"),
      receivedUsd: USD("150"),
    });
    expect(await f.escrow.remainingUsd(intent)).to.equal(USD("450"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.customer.address)).to.equal(BNB("0.25"));
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, BNB("0.25"));

    const second = await f.escrow.connect(f.other).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.75") });
    await expect(second).to.changeEtherBalances([f.other, f.escrow], [-BNB("0.75"), BNB("0.75")]);
    await expect(second)
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, NATIVE, BNB("0.75"), USD("450"), USD("600"), 0n, 0n);
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.bnb,
      amount: BNB("1"),
      receivedUsd: USD("600"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("1"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.customer.address)).to.equal(0n);
    expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, BNB("1"));
  });

  it("values all the BNB received again at the price when each deposit arrives", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.5") }); // 300 USD
    await f.bnbFeed.updateAnswer(PRICE("500"));

    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.5") }))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.5"), USD("250"), USD("500"), USD("100"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.customer.address)).to.equal(BNB("1"));
  });

  it("keeps BNB sent to a payment opened in USDT apart, and completes the payment in BNB once the BNB reaches the amount", async function () {
    const f = await loadFixture(deployEscrow);
    const usdt = await f.usdt.getAddress();
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("10"), ethers.ZeroAddress);

    await expect(f.escrow.connect(f.other).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.5") }))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, NATIVE, BNB("0.5"), USD("300"), USD("300"), USD("300"));
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Open,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("10"),
      receivedUsd: USD("10"),
    });
    await expect(f.escrow.connect(f.other).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.5") }))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(intent.paymentId, f.merchant.address, f.other.address, NATIVE, BNB("0.5"), USD("300"), USD("600"), 0n, 0n);
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.bnb,
      amount: BNB("1"),
      receivedUsd: USD("600"),
    });
    expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("1"));
    expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
    expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("10"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.other.address)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, BNB("1"));
    await expectLedger(f.escrow, usdt, TOKENS("10"));
  });

  it("rejects BNB for an intent that does not accept it with TokenNotAccepted(id, 0x0, acceptedTokens)", async function () {
    const f = await loadFixture(deployEscrow);
    const acceptedTokens = await f.accepting(f.usdt, f.usdc);
    const { intent, signature } = await f.signed({ amountUsd: USD("600"), acceptedTokens });
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("1") }))
      .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
      .withArgs(intent.paymentId, NATIVE, acceptedTokens);
    await expectLedger(f.escrow, NATIVE, 0n);
  });

  it('records BNB for the beneficiary the caller names, and rejects the escrow as beneficiary with EscrowAsReceiver("beneficiary")', async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await expect(f.escrow.connect(f.other).payNative(intent, signature, await f.escrow.getAddress(), { value: BNB("0.25") }))
      .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
      .withArgs("beneficiary");

    await expect(f.escrow.connect(f.other).payNative(intent, signature, f.customer.address, { value: BNB("0.25") }))
      .to.emit(f.escrow, "PaymentDeposited")
      .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.25"), USD("150"), USD("150"), USD("450"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.customer.address)).to.equal(BNB("0.25"));
    expect(await f.escrow.depositOf(intent.paymentId, NATIVE, f.other.address)).to.equal(0n);
  });

  it("rejects BNB after disallowToken(0x0) with TokenNotAllowed(0x0)", async function () {
    const f = await loadFixture(deployEscrow);
    await f.escrow.disallowToken(NATIVE);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("1") }))
      .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
      .withArgs(NATIVE);
  });

  it("rejects BNB on an escrow where BNB was never configured with TokenNotAllowed(0x0)", async function () {
    const f = await loadFixture(deployEscrow);
    const bare = await newEscrow(f.admin.address, f.treasury.address);
    await bare.grantRole(await bare.SIGNER_MANAGER_ROLE(), f.admin.address);
    await bare.registerMerchant(f.merchant.address, f.payout.address, f.intentSigner.address);
    const { intent } = await f.signed();
    await expect(bare.connect(f.customer).payNative(intent, "0x", ethers.ZeroAddress, { value: BNB("1") }))
      .to.be.revertedWithCustomError(bare, "TokenNotAllowed")
      .withArgs(NATIVE);
  });

  it("rejects a zero-value payNative with ZeroAmount", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: 0n })).to.be.revertedWithCustomError(
      f.escrow,
      "ZeroAmount",
    );
  });

  it("rejects more than uint104 wei with AmountTooLarge(value, max)", async function () {
    const f = await loadFixture(deployEscrow);
    await setBalance(f.customer.address, 2n ** 105n);
    const { intent, signature } = await f.signed();
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: U104_MAX + 1n }))
      .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
      .withArgs(U104_MAX + 1n, U104_MAX);
  });

  it("rejects BNB while paused with DepositsPaused", async function () {
    const f = await loadFixture(deployEscrow);
    await f.escrow.connect(f.pauser).pause();
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("1") })).to.be.revertedWithCustomError(
      f.escrow,
      "DepositsPaused",
    );
  });

  it("rejects BNB one second after expiry with DepositAfterExpiry", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed({ amountUsd: USD("600") });
    await atNextBlock(intent.expiry + 1n);
    await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("1") }))
      .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
      .withArgs(intent.paymentId, intent.expiry, intent.expiry + 1n);
  });

  it("reverts a plain BNB transfer to the escrow with UseNativePayment (it takes BNB only from deposit addresses it collects)", async function () {
    const f = await loadFixture(deployEscrow);
    const escrow = await f.escrow.getAddress();

    await expect(f.customer.sendTransaction({ to: escrow, value: BNB("1") })).to.be.revertedWithCustomError(f.escrow, "UseNativePayment");
    await expect(f.customer.sendTransaction({ to: escrow, value: BNB("1"), data: "0xdeadbeef" })).to.be.reverted;
    expect(await ethers.provider.getBalance(escrow)).to.equal(0n);
    await expectLedger(f.escrow, NATIVE, 0n);
  });
});
