import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { BouncingReceiver, FeedProxy, PaymentRouter, RoundsAggregator } from "../typechain-types";
import { NATIVE, PRICE, TOKENS, USD } from "./support/fixture";
import {
  cloneRuntimeCode,
  codeAt,
  depositAndCollect,
  depositFixture,
  deployStipendSender,
  plainTransfer,
  predictDepositAddress,
  sendWithStipend,
} from "./support/depositAddresses";
import { BNB, heldBy, passExpiry, payBnb, payToken, Status, expectPayment } from "./support/scenarios";

/**
 * The independent review of the escrow before mainnet (issue 14): one regression test per finding, named after
 * it, each failing on the escrow as the review found it.
 */
describe("the mainnet review's findings", function () {
  async function fixture() {
    const f = await depositFixture();
    const escrow = await f.escrow.getAddress();
    // The merchant holds 100 USDT from a completed payment, and a refund the customer cannot take is claimable.
    const paid = await f.signed();
    await payToken(f.escrow, f.customer, paid, f.usdt, TOKENS("100"));
    return { ...f, escrowAddress: escrow, paid };
  }

  /** The escrow holds no more of `token` than it owes: nothing it owes can have become rescuable. */
  async function expectNothingRescuable(f: Awaited<ReturnType<typeof fixture>>, token: string) {
    const owed = (await f.escrow.ledgerOf(token)).owed;
    expect(await heldBy(f.escrow, token)).to.equal(owed);
  }

  describe("1. a partial payment is a free bet on the price, paid by the merchant", function () {
    it("a 98.9% BNB deposit, then a 20% fall: a tiny top-up no longer completes the $100 invoice", async function () {
      const f = await loadFixture(fixture);
      const signed = await f.signed({ amountUsd: USD("100") });
      const { intent, signature } = signed;
      // 0.164833… BNB at $600 is $98.90: within the tolerance it would be paid, just short of it it is not.
      const deposited = (USD("98.9") * 10n ** 18n) / USD("600");
      await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: deposited });
      await f.bnbFeed.updateAnswer(PRICE("480"));
      // 0.0001 BNB more: worth about 5 cents. Valued once each, the deposits would make $98.95 and complete it.
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.0001") }))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(
          intent.paymentId,
          f.merchant.address,
          f.customer.address,
          NATIVE,
          BNB("0.0001"),
          USD("0.048"),
          ((deposited + BNB("0.0001")) * 480n * 10n ** 8n) / 10n ** 8n,
          USD("100") - ((deposited + BNB("0.0001")) * 480n * 10n ** 8n) / 10n ** 8n,
        );
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.Open);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
      // Completing it now takes what it is worth at today's price: about $21 more.
      expect(await f.escrow.remainingUsd(intent)).to.be.greaterThan(USD("20.8"));
    });

    it("a price rise after a partial deposit completes the payment at the new price, the excess the merchant's", async function () {
      const f = await loadFixture(fixture);
      const { intent, signature } = await f.signed({ amountUsd: USD("100") });
      await f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.15") }); // $90 at $600
      await f.bnbFeed.updateAnswer(PRICE("700"));
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: BNB("0.01") }))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.01"), USD("7"), USD("112"), USD("12"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.16"));
    });
  });

  describe("2. anyone can choose the token for the customer", function () {
    it("a third party's 1 wei of USDC does not stop the customer paying in USDT; the USDC goes back to its payer", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const s = await f.signed({ amountUsd: USD("100") });
      // The signature is public (the checkout page shows it): a third party deposits first, in another token.
      await f.usdc.mint(f.stranger.address, 1n);
      await f.usdc.connect(f.stranger).approve(f.escrowAddress, 1n);
      await expect(payToken(f.escrow, f.stranger, s, f.usdc, 1n)).to.emit(f.escrow, "PaymentDeposited");
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, f.stranger.address)).to.equal(1n);

      // The customer's USDT payment is not bounced: it completes the payment in USDT.
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: 1n,
        merchantId: 1n,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(0n);

      // The third party's wei is refundable to it once the payment is paid.
      await expect(f.escrow.connect(f.customer).expire(s.intent, usdc, [f.stranger.address]))
        .to.emit(f.escrow, "DepositRefunded")
        .withArgs(s.intent.paymentId, f.stranger.address, f.stranger.address, usdc, 1n);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, f.stranger.address)).to.equal(0n);
      await expectNothingRescuable(f, usdc);
      await expectNothingRescuable(f, usdt);
    });

    it("a partial in USDT, then a full payment in BNB: it completes in BNB, and the USDT partial stays its payer's", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const s = await f.signed({ amountUsd: USD("100") });
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("30"));
      const merchantUsdt = await f.escrow.balanceOf(f.merchant.address, usdt); // from the fixture's paid payment

      await expect(payBnb(f.escrow, f.other, s, BNB("0.2")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, f.other.address, NATIVE, BNB("0.2"), USD("120"), USD("120"), USD("20"), 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: 3n,
        merchantId: 1n,
        amount: BNB("0.2"),
        receivedUsd: USD("120"),
      });
      // The merchant's balance holds only the BNB from it.
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.2"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(merchantUsdt);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, f.other.address)).to.equal(0n);

      // Nothing of the BNB that paid it is refundable.
      await expect(f.escrow.connect(f.other).expire(s.intent, NATIVE, [f.other.address]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.Completed, NATIVE);
      // The USDT partial is, to the customer who paid it.
      await expect(f.escrow.connect(f.other).expire(s.intent, usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.customer],
        [-TOKENS("30"), TOKENS("30")],
      );
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, f.customer.address)).to.equal(0n);
      await expect(f.escrow.connect(f.merchant).withdraw(NATIVE, BNB("0.2"))).to.changeEtherBalance(f.payout, BNB("0.2"));
      await expectNothingRescuable(f, usdt);
      await expectNothingRescuable(f, NATIVE);
    });
  });

  describe("2. the API's tokens restriction is not enforced on chain", function () {
    it("an intent accepting only USDT refuses USDC and BNB with TokenNotAccepted, paid directly or to its deposit address", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const acceptedTokens = await f.accepting(usdt);
      const s = await f.signed({ acceptedTokens });

      await expect(payToken(f.escrow, f.customer, s, usdc, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(s.intent.paymentId, usdc, acceptedTokens);
      await expect(payBnb(f.escrow, f.customer, s, BNB("0.2")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(s.intent.paymentId, NATIVE, acceptedTokens);

      // USDC sent to the deposit address cannot be collected: it is a stray, returned where the operator says.
      const depositAddress = await predictDepositAddress(f.escrow, s.intent);
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdc))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(s.intent.paymentId, usdc, acceptedTokens);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address)).to.changeTokenBalances(
        f.usdc,
        [depositAddress, f.customer, f.escrowAddress],
        [-TOKENS("100"), TOKENS("100"), 0n],
      );
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);

      // USDT is accepted.
      await expect(payToken(f.escrow, f.customer, s, usdt, TOKENS("100"))).to.emit(f.escrow, "PaymentCompleted");
      await expectNothingRescuable(f, usdc);
      await expectNothingRescuable(f, NATIVE);
    });
  });

  describe("5. no on-chain limit on expiry", function () {
    it("an intent expiring 10 years out reverts ExpiryTooFar at its first deposit, direct or collected; 24 hours works", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      // Minutes ahead, so that even a slow (instrumented) run does not overtake it.
      const at = BigInt(await time.latest()) + 600n;
      const tenYears = await f.signed({ expiry: at + 10n * 365n * 86_400n });
      const day = await f.signed({ expiry: at + 24n * 3_600n });

      await time.setNextBlockTimestamp(at);
      await expect(payToken(f.escrow, f.customer, tenYears, usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar")
        .withArgs(tenYears.intent.paymentId, tenYears.intent.expiry, at + 24n * 3_600n);
      await plainTransfer(f.usdt, f.customer, await predictDepositAddress(f.escrow, tenYears.intent), TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(tenYears.intent, tenYears.signature, usdt)).to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar");
      expect((await f.escrow.paymentOf(tenYears.intent.paymentId)).status).to.equal(Status.None);

      await time.setNextBlockTimestamp(at + 600n);
      await expect(payToken(f.escrow, f.customer, day, usdt, TOKENS("40"))).to.emit(f.escrow, "PaymentDeposited");
    });

    it("setMaxTtl changes the limit, only for the admin, from 1 to 168 hours (InvalidMaxTtl), with MaxTtlUpdated", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      for (const caller of [f.operator, f.merchant, f.stranger]) {
        await expect(f.escrow.connect(caller).setMaxTtl(168))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ethers.ZeroHash);
      }
      for (const hours of [0, 169]) {
        await expect(f.escrow.connect(f.admin).setMaxTtl(hours)).to.be.revertedWithCustomError(f.escrow, "InvalidMaxTtl").withArgs(hours, 168);
      }
      await expect(f.escrow.connect(f.admin).setMaxTtl(168)).to.emit(f.escrow, "MaxTtlUpdated").withArgs(24, 168);

      // A week is the most: an intent of six days is taken, one of ten years still refused.
      const at = BigInt(await time.latest()) + 600n;
      const sixDays = await f.signed({ expiry: at + 6n * 86_400n });
      const tenYears = await f.signed({ expiry: at + 10n * 365n * 86_400n });
      await time.setNextBlockTimestamp(at);
      await expect(payToken(f.escrow, f.customer, sixDays, usdt, TOKENS("40"))).to.emit(f.escrow, "PaymentDeposited");
      await time.setNextBlockTimestamp(at + 1n);
      await expect(payToken(f.escrow, f.customer, tenYears, usdt, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar")
        .withArgs(tenYears.intent.paymentId, tenYears.intent.expiry, at + 1n + 168n * 3_600n);

      // One hour: the default 30-minute checkout still works, a two-hour intent does not.
      await expect(f.escrow.connect(f.admin).setMaxTtl(1)).to.emit(f.escrow, "MaxTtlUpdated").withArgs(168, 1);
      const checkout = await f.signed();
      await expect(payToken(f.escrow, f.customer, checkout, usdt, TOKENS("100"))).to.emit(f.escrow, "PaymentCompleted");
      const twoHours = await f.signed({ expiry: BigInt(await time.latest()) + 2n * 3_600n });
      await expect(payToken(f.escrow, f.customer, twoHours, usdt, TOKENS("100"))).to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar");
      // Its deposit address is refused too, until the intent comes within the limit.
      const depositAddress = await predictDepositAddress(f.escrow, twoHours.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(twoHours.intent, twoHours.signature, usdt)).to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar");
      await time.increaseTo(twoHours.intent.expiry - 3_600n);
      await f.usdtFeed.updateAnswer(await f.usdtFeed.latestAnswer());
      await expect(f.escrow.connect(f.keeper).collect(twoHours.intent, twoHours.signature, usdt)).to.emit(f.escrow, "PaymentCompleted");
    });
  });

  describe("8. a BNB refund owed to a contract that can neither receive BNB nor call claim is stuck forever", function () {
    async function router(f: Awaited<ReturnType<typeof fixture>>) {
      const Router = await ethers.getContractFactory("PaymentRouter");
      return (await Router.deploy(f.escrowAddress)) as unknown as PaymentRouter;
    }

    it("a router paying BNB for a user names the user as beneficiary: at expiry the refund goes to the user", async function () {
      const f = await loadFixture(fixture);
      const r = await router(f);
      const routerAddress = await r.getAddress();
      const s = await f.signed({ amountUsd: USD("100") });
      await expect(r.connect(f.customer).payNativeFor(s.intent, s.signature, f.customer.address, { value: BNB("0.05") }))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.05"), USD("30"), USD("30"), USD("70"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, f.customer.address)).to.equal(BNB("0.05"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, routerAddress)).to.equal(0n);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.stranger).expire(s.intent, NATIVE, [f.customer.address, routerAddress]);
      await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, NATIVE, BNB("0.05"));
      await expect(tx).not.to.emit(f.escrow, "RefundClaimable");
      await expect(tx).to.changeEtherBalances([f.escrow, f.customer, routerAddress], [-BNB("0.05"), BNB("0.05"), 0n]);
      expect(await f.escrow.claimableOf(NATIVE, routerAddress)).to.equal(0n);
      await expectNothingRescuable(f, NATIVE);
    });

    it("without a beneficiary the refund is the router's, which can only hold it as a claim it can never make", async function () {
      const f = await loadFixture(fixture);
      const r = await router(f);
      const routerAddress = await r.getAddress();
      const s = await f.signed({ amountUsd: USD("100") });
      await r.connect(f.customer).payNativeFor(s.intent, s.signature, ethers.ZeroAddress, { value: BNB("0.05") });
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, routerAddress)).to.equal(BNB("0.05"));

      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.stranger).expire(s.intent, NATIVE, [routerAddress]))
        .to.emit(f.escrow, "RefundClaimable")
        .withArgs(s.intent.paymentId, routerAddress, NATIVE, BNB("0.05"));
      expect(await f.escrow.claimableOf(NATIVE, routerAddress)).to.equal(BNB("0.05"));
    });

    it('refuses the escrow as the beneficiary, where a refund would stop being owed (EscrowAsReceiver("beneficiary"))', async function () {
      const f = await loadFixture(fixture);
      const r = await router(f);
      const s = await f.signed({ amountUsd: USD("100") });
      await expect(r.connect(f.customer).payNativeFor(s.intent, s.signature, f.escrowAddress, { value: BNB("0.05") }))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("beneficiary");
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"), f.escrowAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("beneficiary");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
    });
  });

  describe("7. the 1% tolerance is a free 1% discount on stablecoins too", function () {
    it("holds USDT to its own 0.2% tolerance, as deployed, while BNB keeps 1%: 99.00 USDT leaves a $100 payment open", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await f.escrow.connect(f.admin).setTolerance(usdt, 20);
      const stable = await f.signed({ amountUsd: USD("100") });
      await payToken(f.escrow, f.customer, stable, f.usdt, TOKENS("99"));
      expect((await f.escrow.paymentOf(stable.intent.paymentId)).status).to.equal(Status.Open);
      expect(await f.escrow.remainingUsd(stable.intent)).to.equal(USD("1"));
      // 99.80 in all is within 0.2%.
      await payToken(f.escrow, f.customer, stable, f.usdt, TOKENS("0.8"));
      expect((await f.escrow.paymentOf(stable.intent.paymentId)).status).to.equal(Status.Completed);

      // BNB, whose price moves between quote and deposit, keeps its 1%: $99 of BNB completes $100.
      const native = await f.signed({ amountUsd: USD("100") });
      await f.escrow.connect(f.customer).payNative(native.intent, native.signature, ethers.ZeroAddress, { value: BNB("0.165") });
      expect((await f.escrow.paymentOf(native.intent.paymentId)).status).to.equal(Status.Completed);
    });
  });

  describe("3. funds sent to the escrow's own address stop being owed", function () {
    it("refuses the escrow as a refund's recipient, a claim's recipient, a payout, a treasury or a rescue's recipient", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.connect(f.merchant).refund(f.paid.intent.paymentId, f.escrowAddress, TOKENS("10")))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("recipient");
      await expect(f.escrow.connect(f.customer).claim(usdt, f.escrowAddress)).to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver").withArgs("recipient");
      await expect(f.escrow.connect(f.merchant).setPayout(f.escrowAddress)).to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver").withArgs("payout");
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.stranger.address, f.escrowAddress, f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("payout");
      await expect(f.escrow.connect(f.admin).setTreasury(f.escrowAddress)).to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver").withArgs("treasury");
      await expect(f.escrow.connect(f.admin).rescue(usdt, f.escrowAddress, 1n))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("recipient");
      // Nothing moved: the merchant's 100 USDT is still owed and paid out to its own payout wallet.
      await expectNothingRescuable(f, usdt);
      await expect(f.escrow.connect(f.merchant).withdraw(usdt, TOKENS("100"))).to.changeTokenBalance(f.usdt, f.payout, TOKENS("100"));
    });

    it("refuses an intent whose refundTo is the escrow at its first deposit, direct or collected", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ refundTo: f.escrowAddress });
      await expect(f.escrow.connect(f.customer).pay(s.intent, s.signature, f.usdt, TOKENS("40"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("refundTo");
      await expect(f.escrow.connect(f.customer).payNative(s.intent, s.signature, ethers.ZeroAddress, { value: BNB("0.01") }))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("refundTo");
      await plainTransfer(f.usdt, f.customer, await predictDepositAddress(f.escrow, s.intent), TOKENS("40"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, f.usdt))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("refundTo");
      await expectPayment(f.escrow, s.intent.paymentId, { status: Status.None, tokenIndex: 0n, merchantId: 0n, amount: 0n, receivedUsd: 0n });
    });

    it("returns what reached such an intent's deposit address where the operator says, never into the escrow", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const s = await f.signed({ refundTo: f.escrowAddress });
      const depositAddress = await predictDepositAddress(f.escrow, s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("40"));
      await passExpiry(s.intent);
      await network.provider.send("evm_mine");
      // The intent names a refund address, but not one that can receive: only the operator decides, as for none.
      await expect(f.escrow.connect(f.stranger).returnStray(s.intent, usdt, f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.stranger.address, f.OPERATOR_ROLE);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.escrowAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("recipient");
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address)).to.changeTokenBalances(
        f.usdt,
        [depositAddress, f.customer, f.escrowAddress],
        [-TOKENS("40"), TOKENS("40"), 0n],
      );
      await expectNothingRescuable(f, usdt);
    });

    it("refuses the escrow as the operator's receiver of a deposit address's refund", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ amountUsd: USD("100") });
      await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.operator).expire(s.intent, f.usdt, []);
      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.usdt, f.escrowAddress, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("recipient");
      await expectNothingRescuable(f, await f.usdt.getAddress());
    });
  });

  describe("4. receive() accepts BNB from anyone while a guarded call runs", function () {
    it("refuses the BNB a refund receiver bounces back, so it never lands in the escrow as un-owed funds", async function () {
      const f = await loadFixture(fixture);
      const bouncer = (await (await ethers.getContractFactory("BouncingReceiver")).deploy()) as unknown as BouncingReceiver;
      const s = await f.signed();
      const data = f.escrow.interface.encodeFunctionData("payNative", [s.intent, s.signature, ethers.ZeroAddress]);
      await bouncer.connect(f.customer).relay(f.escrowAddress, data, { value: BNB("0.05") });
      await passExpiry(s.intent);
      const heldBefore = await heldBy(f.escrow, NATIVE);
      await f.escrow.connect(f.stranger).expire(s.intent, NATIVE, [await bouncer.getAddress()]);
      // The refund was pushed, the bounce refused: the receiver keeps its refund and the escrow holds only what it owes.
      expect(await bouncer.bounces()).to.equal(1n);
      expect(await bouncer.lastBounceAccepted()).to.equal(false);
      expect(await ethers.provider.getBalance(bouncer)).to.equal(BNB("0.05"));
      expect(await heldBy(f.escrow, NATIVE)).to.equal(heldBefore - BNB("0.05"));
      await expectNothingRescuable(f, NATIVE);
    });

    it("refuses plain BNB from anyone, and still takes BNB swept in from a deposit address", async function () {
      const f = await loadFixture(fixture);
      await expect(f.customer.sendTransaction({ to: f.escrowAddress, value: 1n })).to.be.revertedWithCustomError(f.escrow, "UseNativePayment");
      const s = await f.signed({ amountUsd: USD("30") });
      await depositAndCollect(f, s, NATIVE, BNB("0.05"));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: 3n,
        merchantId: 1n,
        amount: BNB("0.05"),
        receivedUsd: USD("30"),
      });
      await expectNothingRescuable(f, NATIVE);
    });
  });

  describe("6. feed decimals are read once", function () {
    it("refuses to value a deposit once the feed answers in other decimals, naming the feed and both decimals", async function () {
      const f = await loadFixture(fixture);
      const feed = await f.usdtFeed.getAddress();
      // MockV3Aggregator keeps its decimals in slot 0: the feed now answers in 6 decimals instead of 8.
      await network.provider.send("hardhat_setStorageAt", [feed, "0x0", ethers.toBeHex(6, 32)]);
      expect(await f.usdtFeed.decimals()).to.equal(6n);
      const s = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(s.intent, s.signature, f.usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "FeedDecimalsChanged")
        .withArgs(feed, 8, 6);
      await expect(f.escrow.quoteUsd(f.usdt, TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "FeedDecimalsChanged")
        .withArgs(feed, 8, 6);
      // Configuring the token again records the new decimals, and payments value correctly once more.
      await f.escrow.connect(f.admin).setToken(f.usdt, feed, 86_400);
      await f.usdtFeed.updateAnswer(10n ** 6n);
      expect(await f.escrow.quoteUsd(f.usdt, TOKENS("1"))).to.equal(USD("1"));
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("refuses a Chainlink-style proxy moved to an aggregator in 18 decimals, where it would value 1 USDT at $10^10", async function () {
      const f = await loadFixture(fixture);
      const Aggregator = await ethers.getContractFactory("RoundsAggregator");
      const eightDecimals = (await Aggregator.deploy(8, "USDT / USD")) as unknown as RoundsAggregator;
      await eightDecimals.report(10n ** 8n);
      const proxy = (await (await ethers.getContractFactory("FeedProxy")).deploy(eightDecimals)) as unknown as FeedProxy;
      const feed = await proxy.getAddress();
      await f.escrow.connect(f.admin).setToken(f.usdt, feed, 86_400);
      const first = await f.signed();
      await payToken(f.escrow, f.customer, first, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(first.intent.paymentId)).receivedUsd).to.equal(USD("100"));

      // The feed's owner moves it to a new aggregator answering in 18 decimals (phase 2), as Chainlink may.
      const eighteenDecimals = (await Aggregator.deploy(18, "USDT / USD")) as unknown as RoundsAggregator;
      await eighteenDecimals.report(10n ** 18n);
      await proxy.setAggregator(eighteenDecimals);
      expect((await proxy.latestRoundData())[0]).to.equal((2n << 64n) | 1n);
      const second = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(second.intent, second.signature, f.usdt, TOKENS("1"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "FeedDecimalsChanged")
        .withArgs(feed, 8, 18);
      await f.escrow.connect(f.admin).setToken(f.usdt, feed, 86_400);
      await payToken(f.escrow, f.customer, second, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(second.intent.paymentId)).receivedUsd).to.equal(USD("100"));
    });
  });

  describe("9. BNB senders limited to 2,300 gas (or a 21,000 gas limit) cannot top up a deposit address once its clone exists; a 1-wei transfer delays non-operator expiry by up to an hour", function () {
    it("a contract paying with transfer (2,300 gas) pays a deposit address before and after its proxy exists, and both are collected", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ amountUsd: USD("120") });
      const sender = await deployStipendSender(f.customer);
      const depositAddress = await predictDepositAddress(f.escrow, s.intent);

      await expect(sendWithStipend(sender, f.customer, depositAddress, BNB("0.1"))).to.changeEtherBalance(depositAddress, BNB("0.1"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, NATIVE)).to.emit(f.escrow, "PaymentDeposited");
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));

      // The proxy exists: the stipend is enough, where delegating to the implementation would have needed 2,600 gas.
      await expect(sendWithStipend(sender, f.customer, depositAddress, BNB("0.1"))).to.changeEtherBalances(
        [f.customer, sender, depositAddress],
        [-BNB("0.1"), 0n, BNB("0.1")],
      );
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.1"), USD("60"), USD("120"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.2"));
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);
      await expectNothingRescuable(f, NATIVE);
    });

    it("a 21,000-gas-limit transfer pays a deposit address before its proxy exists; after, it cannot (EVM rules) and the sender keeps its BNB, less the fee", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed({ amountUsd: USD("120") });
      const depositAddress = await predictDepositAddress(f.escrow, s.intent);

      const first = await f.customer.sendTransaction({ to: depositAddress, value: BNB("0.1"), gasLimit: 21_000 });
      expect((await first.wait())!.gasUsed).to.equal(21_000n);
      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, NATIVE);
      expect(await codeAt(depositAddress)).to.not.equal("0x");

      // With code at the address, a 21,000 gas limit leaves its code 0 gas, and every opcode but STOP costs some: the
      // transaction is mined, reverted, and moves nothing but its fee.
      const before = await ethers.provider.getBalance(f.customer.address);
      await expect(f.customer.sendTransaction({ to: depositAddress, value: BNB("0.1"), gasLimit: 21_000 })).to.be.reverted;
      const mined = await ethers.provider.getBlock("latest");
      const receipt = (await ethers.provider.getTransactionReceipt(mined!.transactions[0]))!;
      expect(receipt.from).to.equal(f.customer.address);
      expect(receipt.to).to.equal(depositAddress);
      expect(receipt.status).to.equal(0);
      expect(receipt.gasUsed).to.equal(21_000n);
      expect(await ethers.provider.getBalance(f.customer.address)).to.equal(before - receipt.gasUsed * receipt.gasPrice);
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);

      // A wallet that estimates the gas (as wallets do for an address with code) needs 23 more, and pays it.
      const estimate = await ethers.provider.estimateGas({ from: f.customer.address, to: depositAddress, value: BNB("0.1") });
      expect(estimate).to.equal(21_023n);
      const topUp = await f.customer.sendTransaction({ to: depositAddress, value: BNB("0.1"), gasLimit: estimate });
      expect((await topUp.wait())!.gasUsed).to.equal(21_023n);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE)).to.emit(f.escrow, "PaymentCompleted");
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.2"));
    });

    describe("a 1-wei transfer no longer delays expiry by others in the late-collect window", function () {
      /** A $100 payment with 40 USDT paid directly, and its deposit address. */
      async function partlyPaid(f: Awaited<ReturnType<typeof fixture>>) {
        const s = await f.signed();
        await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
        const depositAddress = await predictDepositAddress(f.escrow, s.intent);
        return { s, depositAddress, windowEnd: s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW()) };
      }

      it("1 wei of USDT, of USDC and of BNB at the deposit address hold nobody back: a stranger expires the payment at once, and the dust goes back as a stray", async function () {
        const f = await loadFixture(fixture);
        const usdt = await f.usdt.getAddress();
        const { s, depositAddress } = await partlyPaid(f);
        // A third party's dust, in every token the intent accepts.
        await plainTransfer(f.usdt, f.other, depositAddress, 1n);
        await plainTransfer(f.usdc, f.other, depositAddress, 1n);
        await plainTransfer(NATIVE, f.other, depositAddress, 1n);

        await passExpiry(s.intent);
        const tx = f.escrow.connect(f.stranger).expire(s.intent, usdt, [f.customer.address]);
        await expect(tx).to.emit(f.escrow, "PaymentExpired").withArgs(s.intent.paymentId, usdt, TOKENS("40"), USD("40"));
        await expect(tx).to.emit(f.escrow, "DepositRefunded").withArgs(s.intent.paymentId, f.customer.address, f.customer.address, usdt, TOKENS("40"));
        // The dust can never be collected now: the operator sends it back (the intent names no refundTo).
        await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.other.address))
          .to.emit(f.escrow, "StrayReturned")
          .withArgs(s.intent.paymentId, depositAddress, f.other.address, usdt, 1n);
        await expectNothingRescuable(f, usdt);
      });

      it("a balance that would complete the payment still holds it back for all but the operator, naming the token, amount and value", async function () {
        const f = await loadFixture(fixture);
        const usdt = await f.usdt.getAddress();
        const { s, depositAddress, windowEnd } = await partlyPaid(f);
        await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("60")); // in time
        await plainTransfer(NATIVE, f.stranger, depositAddress, 1n); // and dust beside it

        await passExpiry(s.intent);
        for (const caller of [f.stranger, f.keeper, f.merchant]) {
          await expect(f.escrow.connect(caller).expire(s.intent, usdt, [f.customer.address]))
            .to.be.revertedWithCustomError(f.escrow, "LateCollectPending")
            .withArgs(s.intent.paymentId, depositAddress, usdt, TOKENS("60"), USD("100"), windowEnd);
        }
        // The operator decides: here it collects the transfer as paid in time.
        await expect(f.escrow.connect(f.operator).collect(s.intent, "0x", usdt))
          .to.emit(f.escrow, "PaymentCompleted")
          .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("60"), USD("60"), USD("100"), 0n, 0n);
      });

      it("judges what waits together with what the payment received in that token, at today's price and the token's tolerance", async function () {
        const f = await loadFixture(fixture);
        const s = await f.signed();
        await payBnb(f.escrow, f.customer, s, BNB("0.1")); // $60
        const depositAddress = await predictDepositAddress(f.escrow, s.intent);
        await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.06")); // $36: $96 in all, short of $99
        const windowEnd = s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW());
        await time.increaseTo(s.intent.expiry + 1n);

        await f.escrow.connect(f.stranger).expire.staticCall(s.intent, NATIVE, [f.customer.address]);
        // At $620 the 0.16 BNB make $99.20, within BNB's 1%: collected, they would complete it.
        await f.bnbFeed.updateAnswer(PRICE("620"));
        await expect(f.escrow.connect(f.stranger).expire(s.intent, NATIVE, [f.customer.address]))
          .to.be.revertedWithCustomError(f.escrow, "LateCollectPending")
          .withArgs(s.intent.paymentId, depositAddress, NATIVE, BNB("0.06"), USD("99.2"), windowEnd);
        await expect(f.escrow.connect(f.operator).collect(s.intent, "0x", NATIVE))
          .to.emit(f.escrow, "PaymentCompleted")
          .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.06"), USD("37.2"), USD("99.2"), 0n, 0n);
      });

      it("adds each token up apart, as collect does: $50 in USDT (40 collected, 10 waiting) and $50 of USDC waiting hold nobody back", async function () {
        const f = await loadFixture(fixture);
        const s = await f.signed();
        const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
        await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("10"));
        await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("50"));

        await passExpiry(s.intent);
        await expect(f.escrow.connect(f.stranger).expire(s.intent, f.usdt, [])).to.emit(f.escrow, "PaymentExpired");
      });

      it("a price it cannot read holds the expiry back for all but the operator (the feed's error), as the collect would fail", async function () {
        const f = await loadFixture(fixture);
        const { s, depositAddress } = await partlyPaid(f);
        await plainTransfer(NATIVE, f.stranger, depositAddress, 1n);
        // Past the expiry, and more than the BNB feed's hour after its last answer.
        await time.increaseTo(s.intent.expiry + 1_800n);
        await expect(f.escrow.connect(f.stranger).expire(s.intent, f.usdt, [])).to.be.revertedWithCustomError(f.escrow, "StalePrice");
        await expect(f.escrow.connect(f.operator).expire(s.intent, f.usdt, [])).to.emit(f.escrow, "PaymentExpired");
      });
    });
  });
});
