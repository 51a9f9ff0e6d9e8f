import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, PRICE, TOKENS, USD, FEED_DECIMALS } from "./support/fixture";
import {
  Status,
  INDEX,
  U104_MAX,
  deployFeed,
  deployToken,
  expectLedger,
  expectPayment,
  listToken,
  atNextBlock,
} from "./support/payments";
import type { FeeOnTransferToken, ReentrantToken, ReturnsFalseToken } from "../typechain-types";

describe("pay (ERC-20)", function () {
  describe("full payment", function () {
    for (const symbol of ["usdt", "usdc"] as const) {
      it(`completes a 100 USD payment paid with 100 ${symbol.toUpperCase()}: credits the merchant's balance and ledger, stores the payment`, async function () {
        const f = await loadFixture(deployEscrow);
        const token = f[symbol];
        const tokenAddress = await token.getAddress();
        const { intent, signature } = await f.signed();

        const tx = await f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"));

        await expect(tx).to.changeTokenBalances(token, [f.customer, f.escrow], [-TOKENS("100"), TOKENS("100")]);
        await expect(tx)
          .to.emit(f.escrow, "PaymentCompleted")
          .withArgs(
            intent.paymentId,
            f.merchant.address,
            f.customer.address,
            tokenAddress,
            TOKENS("100"),
            USD("100"),
            USD("100"),
            0n,
            0n,
          );
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
        expect(await f.escrow.depositOf(intent.paymentId, f.customer.address)).to.equal(0n);
        expect(await f.escrow.remainingUsd(intent)).to.equal(0n);
      });
    }

    it("uses a payment id once: paying the completed payment again reverts InvalidPaymentStatus(id, Completed)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"));

      await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(intent.paymentId, Status.Completed);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, 1n))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(intent.paymentId, Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("takes the platform fee from a payment completed at once", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.escrow.setFee(250); // 2.5 %
      const { intent, signature } = await f.signed();

      const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"));

      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(
          intent.paymentId,
          f.merchant.address,
          f.customer.address,
          usdt,
          TOKENS("100"),
          USD("100"),
          USD("100"),
          0n,
          TOKENS("2.5"),
        );
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

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, first)).not.to.emit(
        f.escrow,
        "PaymentCompleted",
      );
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdt, second))
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

      await expect(f.escrow.connect(f.customer).pay(intent, signature, await stranger.getAddress(), TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await stranger.getAddress());
    });

    it("rejects a token after disallowToken, for new payments and for top-ups of open ones", async function () {
      const f = await loadFixture(deployEscrow);
      const usdc = await f.usdc.getAddress();
      const open = await f.signed();
      await f.escrow.connect(f.customer).pay(open.intent, open.signature, usdc, TOKENS("10"));

      await expect(f.escrow.disallowToken(usdc)).to.emit(f.escrow, "TokenDisallowed").withArgs(usdc);

      const fresh = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(fresh.intent, fresh.signature, usdc, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(usdc);
      await expect(f.escrow.connect(f.customer).pay(open.intent, open.signature, usdc, TOKENS("90")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(usdc);
      await expectPayment(f.escrow, open.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdc,
        amount: TOKENS("10"),
        receivedUsd: USD("10"),
      });
      // USDT is unaffected.
      await f.escrow.connect(f.customer).pay(fresh.intent, fresh.signature, await f.usdt.getAddress(), TOKENS("100"));
      expect((await f.escrow.paymentOf(fresh.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("rejects token == zero address with UseNativePayment", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(
        f.escrow.connect(f.customer).pay(intent, signature, NATIVE, TOKENS("100")),
      ).to.be.revertedWithCustomError(f.escrow, "UseNativePayment");
    });

    it("rejects a top-up in another token than the payment's first deposit with TokenMismatch(id, first, offered)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("50"));

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdc, TOKENS("50")))
        .to.be.revertedWithCustomError(f.escrow, "TokenMismatch")
        .withArgs(intent.paymentId, usdt, usdc);
      await expect(f.escrow.connect(f.other).pay(intent, signature, usdc, TOKENS("50")))
        .to.be.revertedWithCustomError(f.escrow, "TokenMismatch")
        .withArgs(intent.paymentId, usdt, usdc);
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        amount: TOKENS("50"),
        receivedUsd: USD("50"),
      });
    });
  });

  describe("amount checks", function () {
    it("rejects a zero amount with ZeroAmount", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(
        f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), 0n),
      ).to.be.revertedWithCustomError(f.escrow, "ZeroAmount");
    });

    it("rejects an amount above uint104 with AmountTooLarge(amount, 2^104 - 1)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), U104_MAX + 1n))
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
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, half);

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, half))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(2n * half, U104_MAX);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, half - 1n)).to.emit(
        f.escrow,
        "PaymentDeposited",
      );
      expect((await f.escrow.paymentOf(intent.paymentId)).amount).to.equal(U104_MAX);
    });

    it("rejects an intent for zero USD with ZeroPaymentAmount(id)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: 0n });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "ZeroPaymentAmount")
        .withArgs(intent.paymentId);
    });

    it("rejects an intent whose USD amount exceeds uint104 with AmountTooLarge(amountUsd, max)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX + 1n });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(U104_MAX + 1n, U104_MAX);
    });

    it("accepts an intent for exactly uint104 max USD", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX });
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("1")))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(
          intent.paymentId,
          f.merchant.address,
          f.customer.address,
          await f.usdt.getAddress(),
          TOKENS("1"),
          USD("1"),
          USD("1"),
          U104_MAX - USD("1"),
        );
    });
  });

  describe("expiry", function () {
    it("accepts a deposit in the expiry second itself", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await atNextBlock(intent.expiry);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(
          intent.paymentId,
          f.merchant.address,
          f.customer.address,
          await f.usdt.getAddress(),
          TOKENS("100"),
          USD("100"),
          USD("100"),
          0n,
          0n,
        );
      expect(await time.latest()).to.equal(Number(intent.expiry));
    });

    it("rejects a deposit one second after expiry with DepositAfterExpiry(id, expiry, timestamp)", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      await atNextBlock(intent.expiry + 1n);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100")))
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

  describe("pause", function () {
    it("rejects deposits while paused with DepositsPaused, and accepts them again after unpause", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.pauser).pause()).to.emit(f.escrow, "Paused").withArgs(f.pauser.address);
      await expect(
        f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100")),
      ).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");

      await expect(f.escrow.connect(f.pauser).unpause()).to.emit(f.escrow, "Unpaused").withArgs(f.pauser.address);
      const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"));
      await expect(tx).to.emit(f.escrow, "PaymentCompleted");
      await expect(tx).to.changeTokenBalances(f.usdt, [f.customer, f.escrow], [-TOKENS("100"), TOKENS("100")]);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("rejects top-ups of an open payment while paused", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("40"));
      await f.escrow.connect(f.pauser).pause();

      await expect(
        f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("60")),
      ).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");
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

      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "FeeOnTransferToken")
        .withArgs(tokenAddress, TOKENS("100"), TOKENS("99"));
      expect(await token.balanceOf(await f.escrow.getAddress())).to.equal(0n);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
      await expectLedger(f.escrow, tokenAddress, 0n);
    });

    it("rejects a token whose transferFrom returns false with SafeERC20FailedOperation(token)", async function () {
      const { f, tokenAddress } = await hostile<ReturnsFalseToken>("ReturnsFalseToken");
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "SafeERC20FailedOperation")
        .withArgs(tokenAddress);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
    });

    for (const target of ["pay", "expire", "withdraw", "withdrawFees", "rescue"] as const) {
      it(`stops a token that re-enters ${target} during pay with ReentrancyGuardReentrantCall`, async function () {
        const { f, token, tokenAddress } = await hostile<ReentrantToken>("ReentrantToken");
        const escrowAddress = await f.escrow.getAddress();
        const { intent, signature } = await f.signed();
        const inner = await f.signed();
        const data =
          target === "pay"
            ? f.escrow.interface.encodeFunctionData("pay", [inner.intent, inner.signature, tokenAddress, 1n])
            : target === "expire"
              ? f.escrow.interface.encodeFunctionData("expire", [intent, [f.customer.address]])
              : target === "withdraw"
                ? f.escrow.interface.encodeFunctionData("withdraw", [tokenAddress, 1n])
                : target === "withdrawFees"
                  ? f.escrow.interface.encodeFunctionData("withdrawFees", [tokenAddress])
                  : f.escrow.interface.encodeFunctionData("rescue", [tokenAddress, f.customer.address, 1n]);
        await token.setReentry(escrowAddress, data);

        await expect(
          f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100")),
        ).to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall");
        expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
        expect((await f.escrow.paymentOf(inner.intent.paymentId)).status).to.equal(Status.None);
        expect(await token.balanceOf(escrowAddress)).to.equal(0n);
      });
    }

    it("stops a token that re-enters pay during a merchant's withdraw with ReentrancyGuardReentrantCall", async function () {
      const { f, token, tokenAddress } = await hostile<ReentrantToken>("ReentrantToken");
      const escrowAddress = await f.escrow.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(TOKENS("100"));
      const inner = await f.signed();
      await token.setReentry(
        escrowAddress,
        f.escrow.interface.encodeFunctionData("pay", [inner.intent, inner.signature, tokenAddress, 1n]),
      );

      await expect(
        f.escrow.connect(f.merchant).withdraw(tokenAddress, TOKENS("100")),
      ).to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall");
      expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(TOKENS("100"));
      expect(await token.balanceOf(escrowAddress)).to.equal(TOKENS("100"));
    });
  });
});
