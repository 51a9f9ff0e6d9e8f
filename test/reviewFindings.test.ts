import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { BouncingReceiver, FeedProxy, RoundsAggregator } from "../typechain-types";
import { NATIVE, PRICE, TOKENS, USD } from "./support/fixture";
import { depositAndCollect, depositFixture, plainTransfer, predictDepositAddress } from "./support/depositAddresses";
import { BNB, heldBy, passExpiry, payToken, Status, expectPayment } from "./support/scenarios";

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
      await f.escrow.connect(f.customer).payNative(intent, signature, { value: deposited });
      await f.bnbFeed.updateAnswer(PRICE("480"));
      // 0.0001 BNB more: worth about 5 cents. Valued once each, the deposits would make $98.95 and complete it.
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, { value: BNB("0.0001") }))
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
      await f.escrow.connect(f.customer).payNative(intent, signature, { value: BNB("0.15") }); // $90 at $600
      await f.bnbFeed.updateAnswer(PRICE("700"));
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, { value: BNB("0.01") }))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, BNB("0.01"), USD("7"), USD("112"), USD("12"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.16"));
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
      await f.escrow.connect(f.customer).payNative(native.intent, native.signature, { value: BNB("0.165") });
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
      await expect(f.escrow.connect(f.customer).claim(usdt, f.escrowAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("recipient");
      await expect(f.escrow.connect(f.merchant).setPayout(f.escrowAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("payout");
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.stranger.address, f.escrowAddress, f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("payout");
      await expect(f.escrow.connect(f.admin).setTreasury(f.escrowAddress))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("treasury");
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
      await expect(f.escrow.connect(f.customer).pay(s.intent, s.signature, f.usdt, TOKENS("40")))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("refundTo");
      await expect(f.escrow.connect(f.customer).payNative(s.intent, s.signature, { value: BNB("0.01") }))
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
      await f.escrow.connect(f.operator).expire(s.intent, []);
      await expect(f.escrow.connect(f.operator).refundDepositAddress(s.intent, f.escrowAddress, TOKENS("40")))
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
      const data = f.escrow.interface.encodeFunctionData("payNative", [s.intent, s.signature]);
      await bouncer.connect(f.customer).relay(f.escrowAddress, data, { value: BNB("0.05") });
      await passExpiry(s.intent);
      const heldBefore = await heldBy(f.escrow, NATIVE);
      await f.escrow.connect(f.stranger).expire(s.intent, [await bouncer.getAddress()]);
      // The refund was pushed, the bounce refused: the receiver keeps its refund and the escrow holds only what it owes.
      expect(await bouncer.bounces()).to.equal(1n);
      expect(await bouncer.lastBounceAccepted()).to.equal(false);
      expect(await ethers.provider.getBalance(bouncer)).to.equal(BNB("0.05"));
      expect(await heldBy(f.escrow, NATIVE)).to.equal(heldBefore - BNB("0.05"));
      await expectNothingRescuable(f, NATIVE);
    });

    it("refuses plain BNB from anyone, and still takes BNB swept in from a deposit address", async function () {
      const f = await loadFixture(fixture);
      await expect(f.customer.sendTransaction({ to: f.escrowAddress, value: 1n })).to.be.revertedWithCustomError(
        f.escrow,
        "UseNativePayment",
      );
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
      await expect(f.escrow.connect(f.customer).pay(s.intent, s.signature, f.usdt, TOKENS("100")))
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
      await expect(f.escrow.connect(f.customer).pay(second.intent, second.signature, f.usdt, TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "FeedDecimalsChanged")
        .withArgs(feed, 8, 18);
      await f.escrow.connect(f.admin).setToken(f.usdt, feed, 86_400);
      await payToken(f.escrow, f.customer, second, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(second.intent.paymentId)).receivedUsd).to.equal(USD("100"));
    });
  });
});
