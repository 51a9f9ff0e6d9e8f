import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { TestToken } from "../typechain-types";
import { NATIVE, TOKENS, USD } from "./support/fixture";
import { signIntent } from "./support/intents";
import { INDEX, MERCHANT_ID } from "./support/payments";
import { BNB, deployBlacklistToken, deployRevertingReceiver, expectLedger, expectPayment, passExpiry, payBnb, payToken, Status } from "./support/scenarios";
import { cloneRuntimeCode, codeAt, depositAndCollect, depositFixture, plainTransfer, type DepositFixture } from "./support/depositAddresses";

const START = TOKENS("1000000"); // what the fixture mints each customer in USDT and USDC

async function deployStrayToken(f: DepositFixture): Promise<TestToken> {
  const Token = await ethers.getContractFactory("TestToken");
  const token = (await Token.deploy("Stray", "STR", 18)) as unknown as TestToken;
  await token.mint(f.customer.address, TOKENS("1000"));
  return token;
}

/** Every ledger the fixture's escrow keeps, to compare before and after a returnStray. */
async function ledgers(f: DepositFixture, extra: string[] = []) {
  const tokens = [await f.usdt.getAddress(), await f.usdc.getAddress(), NATIVE, ...extra];
  return Promise.all(
    tokens.map(async (t) => {
      const l = await f.escrow.ledgerOf(t);
      return [l.owed, l.fees];
    }),
  );
}

describe("returnStray", function () {
  describe("tokens the payment can never collect", function () {
    it("returns an allowed token the intent does not accept to the operator's `to`, leaving the payment and ledgers untouched", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ acceptedTokens: await f.accepting(f.usdt) });
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const escrow = await f.escrow.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("60"));
      const before = await ledgers(f);

      expect(await f.escrow.connect(f.operator).returnStray.staticCall(s.intent, usdc, f.customer.address)).to.equal(TOKENS("60"));
      const tx = f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdc, TOKENS("60"));
      await expect(tx).to.emit(f.usdc, "Transfer").withArgs(depositAddress, f.customer.address, TOKENS("60"));
      await expect(tx).not.to.emit(f.escrow, "DepositRefunded");
      await expect(tx).to.changeTokenBalances(f.usdc, [depositAddress, f.customer, escrow, f.operator], [-TOKENS("60"), TOKENS("60"), 0n, 0n]);
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, escrow], [0n, 0n]);

      expect(await ledgers(f)).to.deep.equal(before);
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
      await expectLedger(f.escrow, usdc, 0n, 0n);
      expect(await f.usdc.balanceOf(f.customer.address)).to.equal(START);
      expect(await f.usdc.balanceOf(depositAddress)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });

      // The payment goes on in its own token.
      await depositAndCollect(f, s, f.usdt, TOKENS("60"), f.customer, "0x");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("returns a token never allowed, deploying the clone when nothing was collected yet; the payment can still be collected", async function () {
      const f = await loadFixture(depositFixture);
      const stray = await deployStrayToken(f);
      const strayAddress = await stray.getAddress();
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(stray, f.customer, depositAddress, TOKENS("70"));
      expect(await codeAt(depositAddress)).to.equal("0x");
      const before = await ledgers(f, [strayAddress]);

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, strayAddress, f.other.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.other.address, strayAddress, TOKENS("70"));
      await expect(tx).to.changeTokenBalances(stray, [depositAddress, f.other, f.customer], [-TOKENS("70"), TOKENS("70"), 0n]);
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      expect(await ledgers(f, [strayAddress])).to.deep.equal(before);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);

      // The clone returnStray deployed collects the real payment.
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, f.usdt))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, await f.usdt.getAddress(), TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
    });

    it("returns the payment's own token once the admin disallowed it", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("60"));
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
        .withArgs(s.intent.paymentId, usdt);

      await f.escrow.connect(f.admin).disallowToken(usdt);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address))
        .to.emit(f.escrow, "StrayReturned")
        .withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, TOKENS("60"));
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
    });

    it("lets anyone return a stray when refundTo is set, always to refundTo whatever `to` says", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address, acceptedTokens: await f.accepting(f.usdt) });
      const usdc = await f.usdc.getAddress();
      const stray = await deployStrayToken(f);
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("60"));
      await plainTransfer(stray, f.customer, depositAddress, TOKENS("5"));

      const tx = f.escrow.connect(f.stranger).returnStray(s.intent, usdc, f.stranger.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, usdc, TOKENS("60"));
      await expect(tx).to.changeTokenBalances(f.usdc, [depositAddress, f.refundWallet, f.stranger, f.customer], [-TOKENS("60"), TOKENS("60"), 0n, 0n]);

      await expect(f.escrow.connect(f.customer).returnStray(s.intent, stray, ethers.ZeroAddress))
        .to.emit(f.escrow, "StrayReturned")
        .withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, await stray.getAddress(), TOKENS("5"));
      expect(await stray.balanceOf(f.refundWallet.address)).to.equal(TOKENS("5"));
      await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);
      await expectLedger(f.escrow, usdc, 0n, 0n);
    });
  });

  describe("funds that arrived after completion or expiry", function () {
    it("returns tokens sent after a direct payment completed, deploying the clone", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await payToken(f.escrow, f.customer, s, usdt, TOKENS("100"));
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100")); // paid twice by mistake
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(s.intent.paymentId, Status.Completed);

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, TOKENS("100"));
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, f.customer, f.escrow], [-TOKENS("100"), TOKENS("100"), 0n]);
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), 0n);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("returns an accepted token left uncollected at the deposit address once another token paid the payment", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdc = await f.usdc.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("30"));
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
        .withArgs(s.intent.paymentId, usdc);

      await payBnb(f.escrow, f.other, s, BNB("0.2")); // completes it in BNB
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address)).to.changeTokenBalances(
        f.usdc,
        [depositAddress, f.customer, f.escrow],
        [-TOKENS("30"), TOKENS("30"), 0n],
      );
      // The USDT collected before is a deposit of the payment, refunded by refundDepositAddress, not a stray.
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
      await expectLedger(f.escrow, usdc, 0n, 0n);
    });

    it("returns what reached the deposit address of an intent expiring beyond the time-to-live limit, which no deposit can open", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const s = await f.signed({ expiry: BigInt(await time.latest()) + 48n * 3_600n });
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt)).to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar");

      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address)).to.changeTokenBalances(
        f.usdt,
        [depositAddress, f.customer, f.escrow],
        [-TOKENS("100"), TOKENS("100"), 0n],
      );
      // Once the limit is raised to cover it, the same funds would have been collectable instead.
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await f.escrow.connect(f.admin).setMaxTtl(72);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
        .withArgs(s.intent.paymentId, usdt);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
    });

    it("returns the payment's token never collected once the late-collect window closed (no deposit recorded), to refundTo", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("40"));
      const windowEnd = s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW());

      // At the expiry, and until the window closes, the operator may still collect it as paid in time.
      for (const at of [s.intent.expiry, s.intent.expiry + 1n, windowEnd]) {
        await time.setNextBlockTimestamp(at);
        await expect(f.escrow.connect(f.stranger).returnStray(s.intent, usdt, f.stranger.address))
          .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
          .withArgs(s.intent.paymentId, usdt);
      }

      await time.setNextBlockTimestamp(windowEnd + 1n);
      const tx = f.escrow.connect(f.stranger).returnStray(s.intent, usdt, f.stranger.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, usdt, TOKENS("40"));
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, f.refundWallet, f.stranger, f.escrow], [-TOKENS("40"), TOKENS("40"), 0n, 0n]);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
      await expectLedger(f.escrow, usdt, 0n, 0n);
    });

    it("returns tokens sent after the payment was expired, leaving the collected deposit to refundDepositAddress", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await passExpiry(s.intent);
      await f.escrow.connect(f.keeper).expire(s.intent, usdt, [depositAddress]);
      await plainTransfer(f.usdt, f.other, depositAddress, TOKENS("25"));

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.other.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.other.address, usdt, TOKENS("25"));
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, f.other, f.escrow], [-TOKENS("25"), TOKENS("25"), 0n]);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Expired,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
    });

    it("returns dust (1 wei of a token and of BNB) after the expiry", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await passExpiry(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, 1n);
      await plainTransfer(NATIVE, f.customer, depositAddress, 1n);

      const tokenTx = f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address);
      await expect(tokenTx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, 1n);
      await expect(tokenTx).to.changeTokenBalances(f.usdt, [depositAddress, f.customer], [-1n, 1n]);

      const bnbTx = f.escrow.connect(f.operator).returnStray(s.intent, NATIVE, f.customer.address);
      await expect(bnbTx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, NATIVE, 1n);
      await expect(bnbTx).to.changeEtherBalances([depositAddress, f.customer, f.escrow], [-1n, 1n, 0n]);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(0n);
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);
      await expectLedger(f.escrow, usdt, 0n, 0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
    });
  });

  describe("BNB strays", function () {
    it("returns BNB sent to a payment whose intent accepts only USDT, from an address with no clone yet", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ acceptedTokens: await f.accepting(f.usdt) });
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.2"));

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, NATIVE, f.customer.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, NATIVE, BNB("0.2"));
      await expect(tx).to.changeEtherBalances([depositAddress, f.customer, f.escrow], [-BNB("0.2"), BNB("0.2"), 0n]);
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
      await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
    });

    it("returns BNB sent to a deployed clone after its BNB payment completed, to refundTo", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ amountUsd: USD("60"), refundTo: f.refundWallet.address });
      const depositAddress = await depositAndCollect(f, s, NATIVE, BNB("0.1"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.03"));

      const tx = f.escrow.connect(f.stranger).returnStray(s.intent, NATIVE, f.stranger.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.refundWallet.address, NATIVE, BNB("0.03"));
      await expect(tx).to.changeEtherBalances([depositAddress, f.refundWallet, f.escrow, f.customer], [-BNB("0.03"), BNB("0.03"), 0n, 0n]);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("0.1"));
    });

    it("returns BNB of a BNB payment that was not collected before the expiry", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      await payBnb(f.escrow, f.other, s, BNB("0.05"));
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.1"));
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, NATIVE, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
        .withArgs(s.intent.paymentId, NATIVE);

      await passExpiry(s.intent);
      const tx = f.escrow.connect(f.operator).returnStray(s.intent, NATIVE, f.customer.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, NATIVE, BNB("0.1"));
      await expect(tx).to.changeEtherBalances([depositAddress, f.customer, f.escrow], [-BNB("0.1"), BNB("0.1"), 0n]);
      await expectLedger(f.escrow, NATIVE, BNB("0.05"), 0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, f.other.address)).to.equal(BNB("0.05"));
    });
  });

  describe("a payment opened under another intent", function () {
    it("returns what was sent to the deposit address of other terms for the same payment id", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await payToken(f.escrow, f.customer, s, usdt, TOKENS("40")); // the payment is bound to s
      const altered = { ...s.intent, amountUsd: USD("50") };
      const alteredSignature = await signIntent(f.intentSigner, f.escrow, altered);
      const alteredAddress = await f.escrow.depositAddressOf(altered);
      await plainTransfer(f.usdt, f.other, alteredAddress, TOKENS("50"));
      await expect(f.escrow.connect(f.keeper).collect(altered, alteredSignature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));

      // Before the expiry, in the payment's own token: still a stray, since it can never be collected.
      const tx = f.escrow.connect(f.operator).returnStray(altered, usdt, f.other.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, alteredAddress, f.other.address, usdt, TOKENS("50"));
      await expect(tx).to.changeTokenBalances(f.usdt, [alteredAddress, f.other, f.escrow], [-TOKENS("50"), TOKENS("50"), 0n]);
      expect(await f.usdt.balanceOf(f.other.address)).to.equal(START);
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("40"));
      // The real deposit address of the payment holds nothing and was never touched.
      expect(await codeAt(await f.escrow.depositAddressOf(s.intent))).to.equal("0x");
    });

    it("returns what was sent under other terms once the payment completed, to the other terms' refundTo", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await depositAndCollect(f, s, f.usdt, TOKENS("100"));
      const altered = { ...s.intent, refundTo: f.refundWallet.address };
      const alteredAddress = await f.escrow.depositAddressOf(altered);
      await plainTransfer(f.usdt, f.customer, alteredAddress, TOKENS("100"));

      await expect(f.escrow.connect(f.stranger).returnStray(altered, usdt, f.stranger.address))
        .to.emit(f.escrow, "StrayReturned")
        .withArgs(s.intent.paymentId, alteredAddress, f.refundWallet.address, usdt, TOKENS("100"));
      expect(await f.usdt.balanceOf(f.refundWallet.address)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });
  });

  describe("reverts", function () {
    it("reverts DepositCollectable before the expiry for what collect can still take (first deposit, top-up, while paused)", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();

      // No deposit yet: any allowed token could open the payment.
      const s = await f.signed({ refundTo: f.refundWallet.address });
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("10"));
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.01"));
      for (const [token, caller] of [
        [usdt, f.stranger],
        [usdc, f.operator],
        [NATIVE, f.customer],
      ] as const) {
        await expect(f.escrow.connect(caller).returnStray(s.intent, token, caller.address))
          .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
          .withArgs(s.intent.paymentId, token);
      }

      // Open in USDT: a USDT top-up is collectable, and so is every other token the intent accepts (each adds up
      // apart, and may still pay the payment).
      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("20"));
      for (const token of [usdt, usdc, NATIVE]) {
        await expect(f.escrow.connect(f.stranger).returnStray(s.intent, token, f.stranger.address))
          .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
          .withArgs(s.intent.paymentId, token);
      }

      // Paused deposits are collectable later.
      await f.escrow.connect(f.pauser).pause();
      await expect(f.escrow.connect(f.stranger).returnStray(s.intent, usdt, f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "DepositCollectable")
        .withArgs(s.intent.paymentId, usdt);
      // ...while a token the intent does not accept is returned even while paused.
      const onlyUsdt = await f.signed({ refundTo: f.refundWallet.address, acceptedTokens: await f.accepting(usdt) });
      const onlyUsdtAddress = await f.escrow.depositAddressOf(onlyUsdt.intent);
      await plainTransfer(f.usdc, f.customer, onlyUsdtAddress, TOKENS("10"));
      await expect(f.escrow.connect(f.stranger).returnStray(onlyUsdt.intent, usdc, f.stranger.address))
        .to.emit(f.escrow, "StrayReturned")
        .withArgs(onlyUsdt.intent.paymentId, onlyUsdtAddress, f.refundWallet.address, usdc, TOKENS("10"));

      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("20"));
      expect(await f.usdc.balanceOf(depositAddress)).to.equal(TOKENS("10"));
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
    });

    it("reverts NothingToCollect(id, token, depositAddress) when the deposit address holds none of the token", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const stray = await deployStrayToken(f);
      const strayAddress = await stray.getAddress();

      // A token never allowed, before the expiry.
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, strayAddress, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(s.intent.paymentId, strayAddress, depositAddress);

      // After completion, everything already collected.
      const c = await f.signed();
      const completedAddress = await depositAndCollect(f, c, f.usdt, TOKENS("100"));
      await expect(f.escrow.connect(f.operator).returnStray(c.intent, usdt, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(c.intent.paymentId, usdt, completedAddress);
      await expect(f.escrow.connect(f.operator).returnStray(c.intent, NATIVE, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(c.intent.paymentId, NATIVE, completedAddress);

      // After the expiry, nothing sent.
      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(s.intent.paymentId, usdt, depositAddress);
      expect(await codeAt(depositAddress)).to.equal("0x");
    });

    it("refuses everyone without OPERATOR_ROLE when refundTo is zero, and a zero `to` from the operator", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ acceptedTokens: await f.accepting(f.usdt) });
      const usdc = await f.usdc.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("60"));

      for (const caller of [f.stranger, f.customer, f.merchant, f.admin, f.keeper, f.pauser]) {
        await expect(f.escrow.connect(caller).returnStray(s.intent, usdc, caller.address))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, f.OPERATOR_ROLE);
      }
      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("recipient");
      expect(await f.usdc.balanceOf(depositAddress)).to.equal(TOKENS("60"));

      await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address)).to.changeTokenBalances(
        f.usdc,
        [depositAddress, f.customer],
        [-TOKENS("60"), TOKENS("60")],
      );
    });

    it("makes a stray claimable in the escrow when its receiver refuses it: BNB, and a blacklisted token receiver", async function () {
      const f = await loadFixture(depositFixture);
      const receiver = await deployRevertingReceiver();
      const receiverAddress = await receiver.getAddress();
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await passExpiry(s.intent);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.1"));

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, NATIVE, receiverAddress);
      await expect(tx).to.emit(f.escrow, "RefundClaimable").withArgs(s.intent.paymentId, receiverAddress, NATIVE, BNB("0.1"));
      await expect(tx).to.changeEtherBalances([depositAddress, f.escrow], [-BNB("0.1"), BNB("0.1")]);
      expect(await f.escrow.claimableOf(NATIVE, receiverAddress)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);

      const bl = await deployBlacklistToken(f);
      const blAddress = await bl.getAddress();
      const t = await f.signed({ refundTo: f.refundWallet.address });
      const depositAddressT = await f.escrow.depositAddressOf(t.intent);
      await bl.connect(f.customer).transfer(depositAddressT, TOKENS("30"));
      await bl.setBlacklisted(f.refundWallet.address, true);
      await time.increaseTo(t.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW()) + 1n);
      await expect(f.escrow.connect(f.stranger).returnStray(t.intent, bl, f.stranger.address))
        .to.emit(f.escrow, "RefundClaimable")
        .withArgs(t.intent.paymentId, f.refundWallet.address, blAddress, TOKENS("30"));
      expect(await bl.balanceOf(depositAddressT)).to.equal(0n);
      expect(await f.escrow.claimableOf(blAddress, f.refundWallet.address)).to.equal(TOKENS("30"));
      // The blacklisted owner claims it to a clean address.
      await expect(f.escrow.connect(f.refundWallet).claim(blAddress, f.customer.address)).to.changeTokenBalances(
        bl,
        [f.escrow, f.customer],
        [-TOKENS("30"), TOKENS("30")],
      );
      await expectLedger(f.escrow, blAddress, 0n, 0n);
    });
  });
});
