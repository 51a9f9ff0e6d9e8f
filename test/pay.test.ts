import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, PRICE, TOKENS, USD, FEED_DECIMALS } from "./support/fixture";
import { Status, INDEX, U104_MAX, deployFeed, deployToken, expectLedger, expectPayment, listToken, atNextBlock } from "./support/payments";
import type { FeeOnTransferToken, ReentrantToken, ReturnsFalseToken } from "../typechain-types";

describe("pay (ERC-20)", function () {
  describe("full payment", function () {
    for (const symbol of ["usdt", "usdc"] as const) {
      it(`completes a 100 USD payment paid with 100 ${symbol.toUpperCase()}: credits the merchant's balance and ledger, stores the payment`, async function () {
        const f = await loadFixture(deployEscrow);
        const token = f[symbol];
        const tokenAddress = await token.getAddress();
        const { intent, signature } = await f.signed();

        const tx = await f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"), ethers.ZeroAddress);

        await expect(tx).to.changeTokenBalances(token, [f.customer, f.escrow], [-TOKENS("100"), TOKENS("100")]);
        await expect(tx)
          .to.emit(f.escrow, "PaymentCompleted")
          .withArgs(intent.paymentId, f.merchant.address, f.customer.address, tokenAddress, TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
        await expect(tx).not.to.emit(f.escrow, "PaymentDeposited");

        await expectPayment(f.escrow, intent.paymentId, {
          status: Status.Completed,
          tokenIndex: INDEX[symbol],
          amount: TOKENS("100"),
          receivedUsd: USD("100"),
        });
        expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(TOKENS("100"));
        await expectLedger(f.escrow, tokenAddress, TOKENS("100"), 0n);
        const otherToken = symbol === "usdt" ? f.usdc : f.usdt;
        expect(await f.escrow.balanceOf(f.merchant.address, await otherToken.getAddress())).to.equal(0n);
        await expectLedger(f.escrow, await otherToken.getAddress(), 0n, 0n);
        expect(await f.escrow.depositOf(intent.paymentId, tokenAddress, f.customer.address)).to.equal(0n);
        expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
      });
    }

    it("uses a payment id once: paying the completed payment again reverts InvalidPaymentStatus(id, Completed)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress);

      await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(intent.paymentId, Status.Completed);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, 1n, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(intent.paymentId, Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("takes the platform fee from a payment completed at once", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.escrow.setFee(250); // 2.5 %
      const { intent, signature } = await f.signed();

      const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress);

      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("100"), USD("100"), USD("100"), 0n, TOKENS("2.5"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("97.5"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), TOKENS("2.5"));
    });

    it("takes the platform fee from all deposits of a payment completed by a top-up, rounding the fee down", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.escrow.setFee(333); // 3.33 %
      const { intent, signature } = await f.signed();
      const first = TOKENS("40") + 7n;
      const second = TOKENS("60");
      const total = first + second;
      const fee = (total * 333n) / 10_000n;

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, first, ethers.ZeroAddress)).not.to.emit(f.escrow, "PaymentCompleted");
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, second, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdt, second, USD("60"), total, 7n, fee);

      expect(fee).to.equal(3_330_000_000_000_000_000n); // 100.000000000000000007 × 3.33 %, rounded down
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(total - fee);
      await expectLedger(f.escrow, usdt, total, fee);
    });
  });

  describe("token checks", function () {
    it("rejects a token that was never configured with TokenNotAllowed(token)", async function () {
      const f = await loadFixture(deployEscrow);
      const stranger = await deployToken(18, "XYZ");
      await stranger.mint(f.customer.address, TOKENS("100"));
      await stranger.connect(f.customer).approve(await f.escrow.getAddress(), ethers.MaxUint256);
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, await stranger.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await stranger.getAddress());
    });

    it("rejects a token after disallowToken, for new payments and for top-ups of open ones", async function () {
      const f = await loadFixture(deployEscrow);
      const usdc = await f.usdc.getAddress();
      const open = await f.signed();
      await f.escrow.connect(f.customer).pay(open.intent, open.signature, usdc, TOKENS("10"), ethers.ZeroAddress);

      await expect(f.escrow.disallowToken(usdc)).to.emit(f.escrow, "TokenDisallowed").withArgs(usdc);

      const fresh = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(fresh.intent, fresh.signature, usdc, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(usdc);
      await expect(f.escrow.connect(f.customer).pay(open.intent, open.signature, usdc, TOKENS("90"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(usdc);
      await expectPayment(f.escrow, open.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdc,
        amount: TOKENS("10"),
        receivedUsd: USD("10"),
      });
      // USDT is unaffected.
      await f.escrow.connect(f.customer).pay(fresh.intent, fresh.signature, await f.usdt.getAddress(), TOKENS("100"), ethers.ZeroAddress);
      expect((await f.escrow.paymentOf(fresh.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("rejects token == zero address with UseNativePayment", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, NATIVE, TOKENS("100"), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "UseNativePayment",
      );
    });

    it("keeps a deposit in another accepted token apart: the payment's record keeps the first deposit's token", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("50"), ethers.ZeroAddress);

      // 50 USDC does not add to the 50 USDT: each token must reach the amount on its own.
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("50"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdc, TOKENS("50"), USD("50"), USD("50"), USD("50"));
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("10"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdc, TOKENS("10"), USD("10"), USD("60"), USD("40"));
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        amount: TOKENS("50"),
        receivedUsd: USD("50"),
      });
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("50"));
      expect(await f.escrow.depositOf(intent.paymentId, usdc, f.other.address)).to.equal(TOKENS("60"));
      expect(await f.escrow.depositOf(intent.paymentId, usdc, f.customer.address)).to.equal(0n);
      expect(await f.escrow.remainingUsd(intent)).to.equal(USD("50"));
      await expectLedger(f.escrow, usdt, TOKENS("50"));
      await expectLedger(f.escrow, usdc, TOKENS("60"));
    });

    it("completes the payment in whichever token first reaches the amount: the first token's deposits stay its payers'", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      await f.escrow.setFee(100);
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("50"), ethers.ZeroAddress);
      await f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("30"), ethers.ZeroAddress);

      await expect(f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("70"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.other.address, usdc, TOKENS("70"), USD("70"), USD("100"), 0n, TOKENS("1"));
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdc,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      // All 100 USDC are the merchant's (less the fee); the 50 USDT are not.
      expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(TOKENS("99"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      await expectLedger(f.escrow, usdc, TOKENS("100"), TOKENS("1"));
      await expectLedger(f.escrow, usdt, TOKENS("50"));
      expect(await f.escrow.depositOf(intent.paymentId, usdc, f.other.address)).to.equal(0n);
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("50"));
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("50"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(intent.paymentId, Status.Completed);
    });

    it("rejects a token the intent does not accept with TokenNotAccepted(id, token, acceptedTokens), first deposit or top-up", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const acceptedTokens = await f.accepting(usdt);
      expect(acceptedTokens).to.equal(1n << INDEX.usdt);
      const { intent, signature } = await f.signed({ acceptedTokens });

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(intent.paymentId, usdc, acceptedTokens);
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("40"), ethers.ZeroAddress);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("60"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(intent.paymentId, usdc, acceptedTokens);
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("60"), ethers.ZeroAddress);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("accepts nothing for an intent accepting no token, and ignores bit 0 (no token has index 0)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      for (const acceptedTokens of [0n, 1n]) {
        const { intent, signature } = await f.signed({ acceptedTokens });
        await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
          .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
          .withArgs(intent.paymentId, usdt, acceptedTokens);
      }
    });

    it("checks that the token is allowed before that the intent accepts it: TokenNotAllowed for a token never configured", async function () {
      const f = await loadFixture(deployEscrow);
      const stranger = await deployToken(18, "XYZ");
      await stranger.mint(f.customer.address, TOKENS("100"));
      await stranger.connect(f.customer).approve(await f.escrow.getAddress(), ethers.MaxUint256);
      const { intent, signature } = await f.signed({ acceptedTokens: 0n });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await stranger.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await stranger.getAddress());
    });
  });

  describe("beneficiary", function () {
    it("records a deposit for the beneficiary the caller names: depositOf, the event's payer, the refund at expiry", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      const tx = await f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("40"), f.customer.address);

      await expect(tx).to.changeTokenBalances(f.usdt, [f.other, f.customer, f.escrow], [-TOKENS("40"), 0n, TOKENS("40")]);
      await expect(tx)
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("40"), USD("40"), USD("40"), USD("60"));
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.other.address)).to.equal(0n);

      await atNextBlock(intent.expiry + 1n);
      // The payer is not owed anything; the beneficiary is.
      await f.escrow.expire(intent, usdt, [f.other.address]);
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("40"));
      await expect(f.escrow.expire(intent, usdt, [f.customer.address])).to.changeTokenBalances(
        f.usdt,
        [f.customer, f.other, f.escrow],
        [TOKENS("40"), 0n, -TOKENS("40")],
      );
    });

    it("names the beneficiary as the payer of a completing deposit", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("100"), f.customer.address))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
    });

    it('rejects the escrow as the beneficiary with EscrowAsReceiver("beneficiary")', async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100"), await f.escrow.getAddress()))
        .to.be.revertedWithCustomError(f.escrow, "EscrowAsReceiver")
        .withArgs("beneficiary");
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
    });
  });

  describe("amount checks", function () {
    it("rejects a zero amount with ZeroAmount", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), 0n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAmount",
      );
    });

    it("rejects an amount above uint104 with AmountTooLarge(amount, 2^104 - 1)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), U104_MAX + 1n, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(U104_MAX + 1n, U104_MAX);
    });

    it("rejects a top-up that takes the payment's total above uint104 with AmountTooLarge(total, max)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.usdtFeed.updateAnswer(1n); // 10^-8 USD, so huge amounts stay far below the USD price
      await f.usdt.mint(f.customer.address, 2n ** 104n);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX });
      const half = 2n ** 103n;
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, half, ethers.ZeroAddress);

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, half, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(2n * half, U104_MAX);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, half - 1n, ethers.ZeroAddress)).to.emit(f.escrow, "PaymentDeposited");
      expect((await f.escrow.paymentOf(intent.paymentId)).amount).to.equal(U104_MAX);
    });

    it("rejects an intent for zero USD with ZeroPaymentAmount(id)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: 0n });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "ZeroPaymentAmount")
        .withArgs(intent.paymentId);
    });

    it("rejects an intent whose USD amount exceeds uint104 with AmountTooLarge(amountUsd, max)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX + 1n });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(U104_MAX + 1n, U104_MAX);
    });

    it("accepts an intent for exactly uint104 max USD", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), TOKENS("1"), USD("1"), USD("1"), U104_MAX - USD("1"));
    });
  });

  describe("expiry", function () {
    it("accepts a deposit in the expiry second itself", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await atNextBlock(intent.expiry);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
      expect(await time.latest()).to.equal(Number(intent.expiry));
    });

    it("rejects a deposit one second after expiry with DepositAfterExpiry(id, expiry, timestamp)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await atNextBlock(intent.expiry + 1n);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
        .withArgs(intent.paymentId, intent.expiry, intent.expiry + 1n);
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.None,
        tokenIndex: 0n,
        merchantId: 0n,
        amount: 0n,
        receivedUsd: 0n,
      });
    });
  });

  describe("time-to-live limit", function () {
    it("accepts a first deposit whose intent expires exactly maxTtlHours (24 by default) away, and rejects one a second further with ExpiryTooFar(id, expiry, latest)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      expect((await f.escrow.settings()).maxTtlHours).to.equal(24n);
      expect((await f.escrow.tokenConfigOf(usdt)).maxTtlHours).to.equal(24n);
      const at = BigInt(await time.latest()) + 600n; // minutes ahead: a slow (instrumented) run does not overtake it
      const hours24 = 24n * 3600n;
      const within = await f.signed({ expiry: at + hours24 });
      const beyond = await f.signed({ expiry: at + 1n + hours24 + 1n });

      await atNextBlock(at);
      await expect(f.escrow.connect(f.customer).pay(within.intent, within.signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.emit(
        f.escrow,
        "PaymentCompleted",
      );
      await atNextBlock(at + 1n);
      await expect(f.escrow.connect(f.customer).pay(beyond.intent, beyond.signature, usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar")
        .withArgs(beyond.intent.paymentId, beyond.intent.expiry, at + 1n + hours24);
      // A second later the far intent is within the limit.
      await atNextBlock(at + 2n);
      await expect(f.escrow.connect(f.customer).pay(beyond.intent, beyond.signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.emit(
        f.escrow,
        "PaymentCompleted",
      );
    });

    it("checks the limit at the first deposit only: top-ups, in its token or another, go on after the limit is lowered", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const { intent, signature } = await f.signed({ expiry: BigInt(await time.latest()) + 20n * 3600n });
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("40"), ethers.ZeroAddress);
      await f.escrow.setMaxTtl(1);

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("40"), ethers.ZeroAddress)).to.emit(f.escrow, "PaymentDeposited");
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("60"), ethers.ZeroAddress)).to.emit(f.escrow, "PaymentCompleted");
      const fresh = await f.signed({ expiry: BigInt(await time.latest()) + 20n * 3600n });
      await expect(f.escrow.connect(f.customer).pay(fresh.intent, fresh.signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "ExpiryTooFar",
      );
    });
  });

  describe("pause", function () {
    it("rejects deposits while paused with DepositsPaused, and accepts them again after unpause", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.pauser).pause()).to.emit(f.escrow, "Paused").withArgs(f.pauser.address);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "DepositsPaused",
      );

      await expect(f.escrow.connect(f.pauser).unpause()).to.emit(f.escrow, "Unpaused").withArgs(f.pauser.address);
      const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress);
      await expect(tx).to.emit(f.escrow, "PaymentCompleted");
      await expect(tx).to.changeTokenBalances(f.usdt, [f.customer, f.escrow], [-TOKENS("100"), TOKENS("100")]);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("rejects top-ups of an open payment while paused", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("40"), ethers.ZeroAddress);
      await f.escrow.connect(f.pauser).pause();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("60"), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "DepositsPaused",
      );
      expect(await f.escrow.remainingUsd(intent)).to.equal(USD("60"));
    });
  });

  describe("hostile tokens", function () {
    async function hostile<T extends FeeOnTransferToken | ReentrantToken | ReturnsFalseToken>(name: string) {
      const f = await loadFixture(deployEscrow);
      const Factory = await ethers.getContractFactory(name);
      const token = (await Factory.deploy()) as unknown as T;
      const feed = await deployFeed(FEED_DECIMALS, PRICE("1"));
      await listToken(f, token, feed, { mint: TOKENS("1000") });
      return { f, token, tokenAddress: await token.getAddress() };
    }

    it("rejects a fee-on-transfer token with FeeOnTransferToken(token, expected, received)", async function () {
      const { f, token, tokenAddress } = await hostile<FeeOnTransferToken>("FeeOnTransferToken");
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "FeeOnTransferToken")
        .withArgs(tokenAddress, TOKENS("100"), TOKENS("99"));
      expect(await token.balanceOf(await f.escrow.getAddress())).to.equal(0n);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
      await expectLedger(f.escrow, tokenAddress, 0n);
    });

    it("rejects a token whose transferFrom returns false with SafeERC20FailedOperation(token)", async function () {
      const { f, tokenAddress } = await hostile<ReturnsFalseToken>("ReturnsFalseToken");
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "SafeERC20FailedOperation")
        .withArgs(tokenAddress);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
    });

    const targets = [
      "pay",
      "payNative",
      "collect",
      "expire",
      "refundDepositAddress",
      "returnStray",
      "refund",
      "claim",
      "withdraw",
      "withdrawFees",
      "rescue",
    ] as const;
    for (const target of targets) {
      it(`stops a token that re-enters ${target} during pay with ReentrancyGuardReentrantCall`, async function () {
        const { f, token, tokenAddress } = await hostile<ReentrantToken>("ReentrantToken");
        const escrowAddress = await f.escrow.getAddress();
        const { intent, signature } = await f.signed();
        const inner = await f.signed();
        const customer = f.customer.address;
        const calls: Record<(typeof targets)[number], string> = {
          pay: f.escrow.interface.encodeFunctionData("pay", [inner.intent, inner.signature, tokenAddress, 1n, ethers.ZeroAddress]),
          payNative: f.escrow.interface.encodeFunctionData("payNative", [inner.intent, inner.signature, ethers.ZeroAddress]),
          collect: f.escrow.interface.encodeFunctionData("collect", [inner.intent, inner.signature, tokenAddress]),
          expire: f.escrow.interface.encodeFunctionData("expire", [intent, tokenAddress, [customer]]),
          refundDepositAddress: f.escrow.interface.encodeFunctionData("refundDepositAddress", [intent, tokenAddress, customer, 1n]),
          returnStray: f.escrow.interface.encodeFunctionData("returnStray", [intent, tokenAddress, customer]),
          refund: f.escrow.interface.encodeFunctionData("refund", [intent.paymentId, customer, 1n]),
          claim: f.escrow.interface.encodeFunctionData("claim", [tokenAddress, customer]),
          withdraw: f.escrow.interface.encodeFunctionData("withdraw", [tokenAddress, 1n]),
          withdrawFees: f.escrow.interface.encodeFunctionData("withdrawFees", [tokenAddress]),
          rescue: f.escrow.interface.encodeFunctionData("rescue", [tokenAddress, customer, 1n]),
        };
        const data = calls[target];
        await token.setReentry(escrowAddress, data);

        await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"), ethers.ZeroAddress)).to.be.revertedWithCustomError(
          f.escrow,
          "ReentrancyGuardReentrantCall",
        );
        expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
        expect((await f.escrow.paymentOf(inner.intent.paymentId)).status).to.equal(Status.None);
        expect(await token.balanceOf(escrowAddress)).to.equal(0n);
      });
    }

    it("stops a token that re-enters pay during a merchant's withdraw with ReentrancyGuardReentrantCall", async function () {
      const { f, token, tokenAddress } = await hostile<ReentrantToken>("ReentrantToken");
      const escrowAddress = await f.escrow.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"), ethers.ZeroAddress);
      expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(TOKENS("100"));
      const inner = await f.signed();
      await token.setReentry(
        escrowAddress,
        f.escrow.interface.encodeFunctionData("pay", [inner.intent, inner.signature, tokenAddress, 1n, ethers.ZeroAddress]),
      );

      await expect(f.escrow.connect(f.merchant).withdraw(tokenAddress, TOKENS("100"))).to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall");
      expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(TOKENS("100"));
      expect(await token.balanceOf(escrowAddress)).to.equal(TOKENS("100"));
    });
  });
});
