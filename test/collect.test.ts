import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { FeeOnTransferToken, TestToken } from "../typechain-types";
import { NATIVE, STALENESS, TOKENS, USD } from "./support/fixture";
import { signIntent } from "./support/intents";
import { INDEX, MERCHANT_ID } from "./support/payments";
import { BNB, expectLedger, expectPayment, passExpiry, payToken, payBnb, Status } from "./support/scenarios";
import {
  balanceIn,
  cloneRuntimeCode,
  codeAt,
  depositAndCollect,
  depositFixture,
  deployStipendSender,
  forwarderAt,
  intentDigest,
  plainTransfer,
  predictDepositAddress,
  sendWithStipend,
} from "./support/depositAddresses";

const START = TOKENS("1000000"); // what the fixture mints each customer in USDT and USDC

describe("collect (deposit addresses)", function () {
  describe("the deposit address", function () {
    it("is the CREATE2 address of the proxy of FORWARDER_IMPLEMENTATION salted with hashIntent, deployed there by collect", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const escrow = await f.escrow.getAddress();
      const digest = await f.escrow.hashIntent(s.intent);
      expect(digest).to.equal(await intentDigest(f.escrow, s.intent));

      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      expect(depositAddress).to.equal(await predictDepositAddress(f.escrow, s.intent));
      expect(depositAddress).to.equal(
        ethers.getCreate2Address(
          escrow,
          digest,
          ethers.keccak256(ethers.concat(["0x3d603180600a3d3981f33d3d3615602f573d3d363d3d37363d73", f.implementation, "0x5af43d3d93803e602f57fd5bf3"])),
        ),
      );
      expect(await codeAt(depositAddress)).to.equal("0x");

      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      expect(await codeAt(depositAddress)).to.equal("0x"); // a plain transfer deploys nothing
      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, f.usdt);

      // The proxy's code is exactly DepositAddressClone's, delegating to the implementation.
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      expect(await codeAt(depositAddress)).to.have.length(2 + 49 * 2);
      // Its ESCROW (an immutable of the implementation, reached by delegatecall) and the implementation's are the escrow.
      expect(await (await forwarderAt(depositAddress)).ESCROW()).to.equal(escrow);
      expect(await (await forwarderAt(f.implementation)).ESCROW()).to.equal(escrow);
      expect(await codeAt(f.implementation)).not.to.equal("0x");
      // The prediction does not change once deployed.
      expect(await f.escrow.depositAddressOf(s.intent)).to.equal(depositAddress);
    });

    it("gives every payment its own address, and the same payment id under other terms another address", async function () {
      const f = await loadFixture(depositFixture);
      const a = await f.signed();
      const b = await f.signed();
      const base = a.intent;
      const variants = [
        base,
        b.intent,
        { ...base, amountUsd: base.amountUsd + 1n },
        { ...base, expiry: base.expiry + 1n },
        { ...base, refundTo: f.refundWallet.address },
        { ...base, merchant: f.other.address },
        { ...base, acceptedTokens: base.acceptedTokens ^ (1n << INDEX.usdc) },
      ];
      const addresses = await Promise.all(variants.map((v) => f.escrow.depositAddressOf(v)));
      for (let i = 0; i < variants.length; i++) {
        expect(addresses[i]).to.equal(await predictDepositAddress(f.escrow, variants[i]));
      }
      expect(new Set(addresses).size).to.equal(variants.length);
      expect(addresses).not.to.include(await f.escrow.getAddress());
      expect(addresses).not.to.include(f.implementation);
      // Whoever asks, the address depends on the intent alone (no signature, no caller).
      expect(await f.escrow.connect(f.stranger).depositAddressOf(base)).to.equal(addresses[0]);

      // Funds collected for one payment never come from the other's address.
      await plainTransfer(f.usdt, f.customer, addresses[0], TOKENS("100"));
      await plainTransfer(f.usdt, f.other, addresses[1], TOKENS("100"));
      await f.escrow.connect(f.keeper).collect(a.intent, a.signature, f.usdt);
      expect(await f.usdt.balanceOf(addresses[0])).to.equal(0n);
      expect(await f.usdt.balanceOf(addresses[1])).to.equal(TOKENS("100"));
      expect((await f.escrow.paymentOf(b.intent.paymentId)).status).to.equal(Status.None);
      expect(await codeAt(addresses[1])).to.equal("0x");
    });
  });

  describe("collecting a full payment", function () {
    it("collects 100 USDT sent by plain transfer and completes the payment with the deposit address as payer", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const escrow = await f.escrow.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);

      await expect(plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"))).to.changeTokenBalances(
        f.usdt,
        [f.customer, depositAddress, escrow],
        [-TOKENS("100"), TOKENS("100"), 0n],
      );
      expect(await f.escrow.connect(f.keeper).collect.staticCall(s.intent, s.signature, usdt)).to.equal(TOKENS("100"));

      const tx = f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
      await expect(tx).not.to.emit(f.escrow, "PaymentDeposited");
      await expect(tx).to.emit(f.usdt, "Transfer").withArgs(depositAddress, escrow, TOKENS("100"));
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, escrow, f.customer, f.keeper, f.merchant], [-TOKENS("100"), TOKENS("100"), 0n, 0n, 0n]);

      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("100"));
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(0n);
      expect(await f.usdt.balanceOf(escrow)).to.equal(TOKENS("100"));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), 0n);
      expect(await f.escrow.remainingUsd(s.intent)).to.equal(0n);
    });

    it("collects BNB sent by plain transfer to an address with no code yet", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ amountUsd: USD("60") });
      const escrow = await f.escrow.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);

      await expect(plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.1"))).to.changeEtherBalances(
        [f.customer, depositAddress, escrow],
        [-BNB("0.1"), BNB("0.1"), 0n],
      );
      expect(await f.escrow.connect(f.keeper).collect.staticCall(s.intent, s.signature, NATIVE)).to.equal(BNB("0.1"));

      const tx = f.escrow.connect(f.keeper).collect(s.intent, s.signature, NATIVE);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.1"), USD("60"), USD("60"), 0n, 0n);
      await expect(tx).to.changeEtherBalances([depositAddress, escrow, f.customer], [-BNB("0.1"), BNB("0.1"), 0n]);

      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);
      expect(await ethers.provider.getBalance(escrow)).to.equal(BNB("0.1"));
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.bnb,
        merchantId: MERCHANT_ID,
        amount: BNB("0.1"),
        receivedUsd: USD("60"),
      });
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(0n);
    });

    it("completes within the tolerance (99 USDT for 100 USD) with no excess", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("99"));
      await expect(f.escrow.connect(f.customer).collect(s.intent, s.signature, f.usdt))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, await f.usdt.getAddress(), TOKENS("99"), USD("99"), USD("99"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("99"));
      await expectLedger(f.escrow, f.usdt, TOKENS("99"), 0n);
    });
  });

  describe("partial deposits and top-ups", function () {
    it("collects a partial deposit, then a top-up sent to the same address, then the rest, each top-up with an empty signature", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const escrow = await f.escrow.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);

      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("40"));
      const first = f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await expect(first)
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("40"), USD("40"), USD("40"), USD("60"));
      await expect(first).to.changeTokenBalances(f.usdt, [depositAddress, escrow], [-TOKENS("40"), TOKENS("40")]);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, f.customer.address)).to.equal(0n);
      expect(await f.escrow.remainingUsd(s.intent)).to.equal(USD("60"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);

      // Top-up: a second plain transfer to the same (now deployed) address; the signature is not checked again.
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("35"));
      const second = f.escrow.connect(f.keeper).collect(s.intent, "0x", usdt);
      await expect(second)
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("35"), USD("35"), USD("75"), USD("25"));
      await expect(second).to.changeTokenBalances(f.usdt, [depositAddress, escrow], [-TOKENS("35"), TOKENS("35")]);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("75"));
      expect(await f.escrow.remainingUsd(s.intent)).to.equal(USD("25"));
      await expectLedger(f.escrow, usdt, TOKENS("75"), 0n);

      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("25"));
      const third = f.escrow.connect(f.keeper).collect(s.intent, "0x", usdt);
      await expect(third)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("25"), USD("25"), USD("100"), 0n, 0n);
      await expect(third).not.to.emit(f.escrow, "PaymentDeposited");
      await expect(third).to.changeTokenBalances(f.usdt, [depositAddress, escrow], [-TOKENS("25"), TOKENS("25")]);

      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), 0n);
      expect(await f.usdt.balanceOf(escrow)).to.equal(TOKENS("100"));
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(0n);
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("100"));
    });

    it("checks the signature on the first deposit only: an empty one fails first, then any signature tops up", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("30"));

      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", usdt))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSignature")
        .withArgs(s.intent.paymentId);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("30"));

      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await plainTransfer(f.usdt, f.other, depositAddress, TOKENS("20"));
      const strangersSignature = await signIntent(f.stranger, f.escrow, s.intent);
      await expect(f.escrow.connect(f.stranger).collect(s.intent, strangersSignature, usdt))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("20"), USD("20"), USD("50"), USD("50"));
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("50"));
      await expectLedger(f.escrow, usdt, TOKENS("50"), 0n);
    });

    it("collects several transfers that arrived before one collect as one deposit", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdc = await f.usdc.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("30"));
      await plainTransfer(f.usdc, f.other, depositAddress, TOKENS("25"));

      const tx = f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdc);
      await expect(tx)
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdc, TOKENS("55"), USD("55"), USD("55"), USD("45"));
      await expect(tx).to.changeTokenBalances(f.usdc, [depositAddress, f.escrow], [-TOKENS("55"), TOKENS("55")]);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, depositAddress)).to.equal(TOKENS("55"));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdc,
        merchantId: MERCHANT_ID,
        amount: TOKENS("55"),
        receivedUsd: USD("55"),
      });
      await expectLedger(f.escrow, usdc, TOKENS("55"), 0n);
    });

    it("accepts BNB sent to an already deployed clone (a top-up) and collects it", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed(); // 100 USD at 600 USD per BNB
      const escrow = await f.escrow.getAddress();
      const depositAddress = await depositAndCollect(f, s, NATIVE, BNB("0.1")); // 60 USD
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(BNB("0.1"));

      await expect(plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.07"))).to.changeEtherBalances(
        [f.customer, depositAddress, escrow],
        [-BNB("0.07"), BNB("0.07"), 0n],
      );
      const tx = f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.07"), USD("42"), USD("102"), USD("2"), 0n);
      await expect(tx).to.changeEtherBalances([depositAddress, escrow], [-BNB("0.07"), BNB("0.07")]);

      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.bnb,
        merchantId: MERCHANT_ID,
        amount: BNB("0.17"),
        receivedUsd: USD("102"),
      });
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.17"));
      await expectLedger(f.escrow, NATIVE, BNB("0.17"), 0n);
      expect(await ethers.provider.getBalance(escrow)).to.equal(BNB("0.17"));
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);
    });

    it("takes BNB sent with only the 2,300-gas stipend, before and after the proxy exists (review finding 9)", async function () {
      // The proxy answers empty calldata itself (23 gas) instead of delegating to a cold implementation (2,600 gas for
      // the access alone): contract senders using Solidity's `transfer` or `send` can top up a deployed address too.
      const f = await loadFixture(depositFixture);
      const s = await f.signed({ amountUsd: USD("102") });
      const sender = await deployStipendSender(f.customer);
      const depositAddress = await f.escrow.depositAddressOf(s.intent);

      await expect(sendWithStipend(sender, f.customer, depositAddress, BNB("0.1"))).to.changeEtherBalances(
        [f.customer, depositAddress],
        [-BNB("0.1"), BNB("0.1")],
      );
      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, NATIVE);
      expect(await codeAt(depositAddress)).to.equal(cloneRuntimeCode(f.implementation));

      await expect(sendWithStipend(sender, f.customer, depositAddress, BNB("0.07"))).to.changeEtherBalances(
        [f.customer, depositAddress, sender],
        [-BNB("0.07"), BNB("0.07"), 0n],
      );
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.07"), USD("42"), USD("102"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.17"));
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(0n);
    });

    it("adds a direct pay() and a deposit-address collect on one payment, in either order", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const escrow = await f.escrow.getAddress();

      // Direct payment first, then the deposit address completes it.
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await expect(payToken(f.escrow, f.customer, s, usdt, TOKENS("30")))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("30"), USD("30"), USD("30"), USD("70"));
      await plainTransfer(f.usdt, f.other, depositAddress, TOKENS("70"));
      const tx = f.escrow.connect(f.keeper).collect(s.intent, "0x", usdt);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("70"), USD("70"), USD("100"), 0n, 0n);
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, escrow], [-TOKENS("70"), TOKENS("70")]);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });

      // Deposit address first, then a direct payment completes it.
      const t = await f.signed();
      const depositAddressT = await depositAndCollect(f, t, f.usdt, TOKENS("50"));
      expect(await f.escrow.depositOf(t.intent.paymentId, usdt, depositAddressT)).to.equal(TOKENS("50"));
      await expect(payToken(f.escrow, f.other, t, usdt, TOKENS("50")))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(t.intent.paymentId, f.merchant.address, f.other.address, usdt, TOKENS("50"), USD("50"), USD("100"), 0n, 0n);

      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("200"));
      await expectLedger(f.escrow, usdt, TOKENS("200"), 0n);
      expect(await f.usdt.balanceOf(escrow)).to.equal(TOKENS("200"));
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("80"));
      expect(await f.usdt.balanceOf(f.other.address)).to.equal(START - TOKENS("120"));
    });

    it("adds a direct payNative() and a BNB collect on one payment", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await payBnb(f.escrow, f.customer, s, BNB("0.05")); // 30 USD
      await plainTransfer(NATIVE, f.other, depositAddress, BNB("0.12")); // 72 USD
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.12"), USD("72"), USD("102"), USD("2"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.17"));
      await expectLedger(f.escrow, NATIVE, BNB("0.17"), 0n);
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(BNB("0.17"));
    });
  });

  describe("overpayment and fees", function () {
    it("credits an overpayment to the merchant and reports the excess", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("150"));

      const tx = f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await expect(tx)
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("150"), USD("150"), USD("150"), USD("50"), 0n);
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, f.escrow], [-TOKENS("150"), TOKENS("150")]);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("150"),
        receivedUsd: USD("150"),
      });
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("150"));
      await expectLedger(f.escrow, usdt, TOKENS("150"), 0n);
    });

    it("reports the excess of an overpaying top-up and takes the platform fee from all deposits", async function () {
      const f = await loadFixture(depositFixture);
      await f.escrow.connect(f.admin).setFee(250); // 2.5 %
      const s = await f.signed();
      const usdc = await f.usdc.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdc, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("80"));

      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", usdc))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdc, TOKENS("80"), USD("80"), USD("120"), USD("20"), TOKENS("3"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(TOKENS("117"));
      await expectLedger(f.escrow, usdc, TOKENS("120"), TOKENS("3"));
      expect(await f.usdc.balanceOf(f.escrow)).to.equal(TOKENS("120"));
    });
  });

  describe("reverts", function () {
    it("reverts NothingToCollect(id, token, depositAddress) before any deposit, deploying nothing", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(s.intent.paymentId, usdt, depositAddress);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, NATIVE))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(s.intent.paymentId, NATIVE, depositAddress);
      // USDC sent there does not make USDT collectable.
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "NothingToCollect")
        .withArgs(s.intent.paymentId, usdt, depositAddress);
      expect(await codeAt(depositAddress)).to.equal("0x");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
    });

    it("reverts InvalidPaymentStatus(Completed) on a collect after completion; the late funds are then returned with returnStray", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("100"));
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("10"));

      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(s.intent.paymentId, Status.Completed);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("10"));

      const tx = f.escrow.connect(f.operator).returnStray(s.intent, usdt, f.customer.address);
      await expect(tx).to.emit(f.escrow, "StrayReturned").withArgs(s.intent.paymentId, depositAddress, f.customer.address, usdt, TOKENS("10"));
      await expect(tx).to.changeTokenBalances(f.usdt, [depositAddress, f.customer, f.escrow], [-TOKENS("10"), TOKENS("10"), 0n]);
      expect(await f.usdt.balanceOf(f.customer.address)).to.equal(START - TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
      await expectLedger(f.escrow, usdt, TOKENS("100"), 0n);
    });

    it("reverts DepositAfterExpiry for a first deposit and for a top-up collected after the expiry", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();

      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100")); // arrived in time, not collected
      await time.setNextBlockTimestamp(s.intent.expiry + 1n);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
        .withArgs(s.intent.paymentId, s.intent.expiry, s.intent.expiry + 1n);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
      await expectLedger(f.escrow, usdt, 0n, 0n);

      const t = await f.signed();
      const depositAddressT = await depositAndCollect(f, t, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdt, f.customer, depositAddressT, TOKENS("60"));
      await time.setNextBlockTimestamp(t.intent.expiry + 5n);
      await expect(f.escrow.connect(f.keeper).collect(t.intent, "0x", usdt))
        .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
        .withArgs(t.intent.paymentId, t.intent.expiry, t.intent.expiry + 5n);
      expect(await f.escrow.depositOf(t.intent.paymentId, usdt, depositAddressT)).to.equal(TOKENS("40"));
      expect(await f.usdt.balanceOf(depositAddressT)).to.equal(TOKENS("60"));
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
    });

    it("reverts TokenNotAllowed for a token never allowed and for one the admin disallowed", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      const Token = await ethers.getContractFactory("TestToken");
      const stray = (await Token.deploy("Stray", "STR", 18)) as unknown as TestToken;
      await stray.mint(depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, stray))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await stray.getAddress());

      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await f.escrow.connect(f.admin).disallowToken(f.usdt);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, f.usdt))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await f.usdt.getAddress());
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
    });

    it("collects another accepted token apart from the payment's first, and completes the payment in it once it reaches the amount", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("60"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", usdc))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdc, TOKENS("60"), USD("60"), USD("60"), USD("40"));
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.1")); // $60
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.1"), USD("60"), USD("60"), USD("40"));
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        merchantId: MERCHANT_ID,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, depositAddress)).to.equal(TOKENS("60"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(BNB("0.1"));

      // 40 USDC more: USDC reaches the amount on its own and pays the payment.
      await plainTransfer(f.usdc, f.other, depositAddress, TOKENS("40"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", usdc))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdc, TOKENS("40"), USD("40"), USD("100"), 0n, 0n);
      await expectPayment(f.escrow, s.intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdc,
        merchantId: MERCHANT_ID,
        amount: TOKENS("100"),
        receivedUsd: USD("100"),
      });
      expect(await f.escrow.balanceOf(f.merchant.address, usdc)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
      // The USDT and BNB collected are the customer's again, for the operator to send back.
      expect(await f.escrow.depositOf(s.intent.paymentId, usdc, depositAddress)).to.equal(0n);
      expect(await f.escrow.depositOf(s.intent.paymentId, usdt, depositAddress)).to.equal(TOKENS("40"));
      expect(await f.escrow.depositOf(s.intent.paymentId, NATIVE, depositAddress)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, usdt, TOKENS("40"), 0n);
      await expectLedger(f.escrow, usdc, TOKENS("100"), 0n);
      await expectLedger(f.escrow, NATIVE, BNB("0.1"), 0n);
    });

    it("reverts TokenNotAccepted(id, token, acceptedTokens) when collecting a token the intent does not accept, first deposit or top-up", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const usdc = await f.usdc.getAddress();
      const acceptedTokens = await f.accepting(usdt);
      const s = await f.signed({ acceptedTokens });
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("100"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdc))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(s.intent.paymentId, usdc, acceptedTokens);
      expect(await codeAt(depositAddress)).to.equal("0x");

      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("40"));
      await f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.1"));
      await expect(f.escrow.connect(f.keeper).collect(s.intent, "0x", NATIVE))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAccepted")
        .withArgs(s.intent.paymentId, NATIVE, acceptedTokens);
      expect(await f.usdc.balanceOf(depositAddress)).to.equal(TOKENS("100"));
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(BNB("0.1"));
      await expectLedger(f.escrow, usdc, 0n, 0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
    });

    it("reverts ExpiryTooFar(id, expiry, latest) on a first collect for an intent expiring beyond the time-to-live limit", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      // Minutes ahead, so that even a slow (instrumented) run does not overtake it.
      const at = BigInt(await time.latest()) + 600n;
      const s = await f.signed({ expiry: at + 25n * 3600n });
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await time.setNextBlockTimestamp(at);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "ExpiryTooFar")
        .withArgs(s.intent.paymentId, s.intent.expiry, at + 24n * 3600n);
      expect(await codeAt(depositAddress)).to.equal("0x");
      // An hour on, it is within the limit.
      await time.setNextBlockTimestamp(at + 3600n);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt)).to.emit(f.escrow, "PaymentCompleted");
    });

    it("reverts DepositsPaused while paused and collects once resumed", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      await f.escrow.connect(f.pauser).pause();
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt)).to.be.revertedWithCustomError(f.escrow, "DepositsPaused");
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("100"));
      expect(await codeAt(depositAddress)).to.equal("0x");

      await f.escrow.connect(f.pauser).unpause();
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt)).to.changeTokenBalances(
        f.usdt,
        [depositAddress, f.escrow],
        [-TOKENS("100"), TOKENS("100")],
      );
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("reverts FeeOnTransferToken for a fee-on-transfer token the admin allowed", async function () {
      const f = await loadFixture(depositFixture);
      const fot = (await (await ethers.getContractFactory("FeeOnTransferToken")).deploy()) as unknown as FeeOnTransferToken;
      const fotAddress = await fot.getAddress();
      await f.escrow.connect(f.admin).setToken(fot, f.usdtFeed, STALENESS.stable);
      await fot.mint(f.customer.address, TOKENS("100"));
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await fot.connect(f.customer).transfer(depositAddress, TOKENS("100"));
      expect(await fot.balanceOf(depositAddress)).to.equal(TOKENS("99")); // 1 % burnt on the way in

      // 99 collected, 1 % of it burnt again on the way to the escrow.
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, fotAddress))
        .to.be.revertedWithCustomError(f.escrow, "FeeOnTransferToken")
        .withArgs(fotAddress, TOKENS("99"), TOKENS("98.01"));
      expect(await fot.balanceOf(depositAddress)).to.equal(TOKENS("99"));
      expect(await fot.balanceOf(f.escrow)).to.equal(0n);
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
      await expectLedger(f.escrow, fotAddress, 0n, 0n);
    });

    it("reverts UnauthorisedSigner on a first collect signed by an address the merchant did not authorise", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));
      const forged = await signIntent(f.other, f.escrow, s.intent);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, forged, f.usdt))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.other.address);
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("100"));
      expect(await codeAt(depositAddress)).to.equal("0x");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
    });

    it("reverts IntentMismatch when the payment id was opened under other terms", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      const altered = { ...s.intent, amountUsd: USD("50") };
      const alteredSignature = await signIntent(f.intentSigner, f.escrow, altered);
      const alteredAddress = await f.escrow.depositAddressOf(altered);
      expect(alteredAddress).not.to.equal(await f.escrow.depositAddressOf(s.intent));
      await plainTransfer(f.usdt, f.customer, alteredAddress, TOKENS("50"));

      await expect(f.escrow.connect(f.keeper).collect(altered, alteredSignature, f.usdt))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(s.intent.paymentId, await f.escrow.hashIntent(s.intent), await f.escrow.hashIntent(altered));
      expect(await f.usdt.balanceOf(alteredAddress)).to.equal(TOKENS("50"));
      await expectLedger(f.escrow, f.usdt, TOKENS("40"), 0n);
    });
  });

  describe("who can move funds", function () {
    it("lets nobody but the escrow sweep a clone or the implementation (NotEscrow)", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("10"));
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("1"));
      await f.usdt.mint(f.implementation, TOKENS("5"));

      const clone = await forwarderAt(depositAddress);
      const implementation = await forwarderAt(f.implementation);
      for (const caller of [f.stranger, f.customer, f.merchant, f.admin, f.operator, f.keeper]) {
        await expect(clone.connect(caller).sweep(usdt, caller.address, TOKENS("10")))
          .to.be.revertedWithCustomError(clone, "NotEscrow")
          .withArgs(caller.address);
        await expect(clone.connect(caller).sweep(NATIVE, caller.address, BNB("1")))
          .to.be.revertedWithCustomError(clone, "NotEscrow")
          .withArgs(caller.address);
        await expect(implementation.connect(caller).sweep(usdt, caller.address, TOKENS("5")))
          .to.be.revertedWithCustomError(implementation, "NotEscrow")
          .withArgs(caller.address);
      }
      expect(await f.usdt.balanceOf(depositAddress)).to.equal(TOKENS("10"));
      expect(await ethers.provider.getBalance(depositAddress)).to.equal(BNB("1"));
      expect(await f.usdt.balanceOf(f.implementation)).to.equal(TOKENS("5"));
    });

    it("refuses plain BNB sent to the escrow (UseNativePayment)", async function () {
      const f = await loadFixture(depositFixture);
      await expect(f.customer.sendTransaction({ to: await f.escrow.getAddress(), value: BNB("0.1") })).to.be.revertedWithCustomError(
        f.escrow,
        "UseNativePayment",
      );
      await expect(f.customer.sendTransaction({ to: await f.escrow.getAddress(), value: 1n })).to.be.revertedWithCustomError(f.escrow, "UseNativePayment");
      expect(await ethers.provider.getBalance(f.escrow)).to.equal(0n);
      await expectLedger(f.escrow, NATIVE, 0n, 0n);
      expect(await balanceIn(NATIVE, f.escrow)).to.equal(0n);
    });
  });

  describe("late collect of a transfer that arrived in time", function () {
    it("lets the operator collect after the expiry until LATE_COLLECT_WINDOW closes, and no one else", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await f.escrow.depositAddressOf(s.intent);
      // The customer's transfer lands in the expiry second; the keeper's collect comes after it.
      await time.setNextBlockTimestamp(s.intent.expiry);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("100"));

      await time.setNextBlockTimestamp(s.intent.expiry + 30n);
      await expect(f.escrow.connect(f.keeper).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
        .withArgs(s.intent.paymentId, s.intent.expiry, s.intent.expiry + 30n);
      // Nor can anyone expire it meanwhile: nothing was recorded yet, so there is nothing to expire.
      await expect(f.escrow.connect(f.keeper).expire(s.intent, usdt, [depositAddress]))
        .to.be.revertedWithCustomError(f.escrow, "NotRefundable")
        .withArgs(s.intent.paymentId, Status.None, usdt);

      await expect(f.escrow.connect(f.operator).collect(s.intent, s.signature, usdt))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, usdt, TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("100"));
    });

    it("refuses the operator's collect once the window has closed", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      await plainTransfer(f.usdt, f.customer, await f.escrow.depositAddressOf(s.intent), TOKENS("100"));
      const windowEnd = s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW());
      await time.increaseTo(windowEnd + 1n);
      await f.usdtFeed.updateAnswer(await f.usdtFeed.latestAnswer());

      await time.setNextBlockTimestamp(windowEnd + 5n);
      await expect(f.escrow.connect(f.operator).collect(s.intent, s.signature, usdt))
        .to.be.revertedWithCustomError(f.escrow, "DepositAfterExpiry")
        .withArgs(s.intent.paymentId, s.intent.expiry, windowEnd + 5n);
    });

    it("keeps an open payment from being expired by anyone but the operator while a late top-up waits", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const usdt = await f.usdt.getAddress();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await time.setNextBlockTimestamp(s.intent.expiry);
      await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("60"));
      const windowEnd = s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW());

      await time.setNextBlockTimestamp(s.intent.expiry + 1n);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, usdt, [depositAddress]))
        .to.be.revertedWithCustomError(f.escrow, "LateCollectPending")
        .withArgs(s.intent.paymentId, depositAddress, usdt, TOKENS("60"), USD("100"), windowEnd);
      await expect(f.escrow.connect(f.operator).collect(s.intent, "0x", usdt)).to.emit(f.escrow, "PaymentCompleted");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("holds the expiry back for the operator while the deposit address holds enough of any token the intent accepts, not only the first deposit's", async function () {
      const f = await loadFixture(depositFixture);
      const s = await f.signed();
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await time.setNextBlockTimestamp(s.intent.expiry);
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.2")); // $120 of BNB, in time
      const windowEnd = s.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW());

      await time.setNextBlockTimestamp(s.intent.expiry + 1n);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, f.usdt, []))
        .to.be.revertedWithCustomError(f.escrow, "LateCollectPending")
        .withArgs(s.intent.paymentId, depositAddress, NATIVE, BNB("0.2"), USD("120"), windowEnd);
      await f.bnbFeed.updateAnswer(await f.bnbFeed.latestAnswer());
      // The operator collects the BNB that arrived in time: it pays the payment.
      await expect(f.escrow.connect(f.operator).collect(s.intent, "0x", NATIVE))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(s.intent.paymentId, f.merchant.address, depositAddress, NATIVE, BNB("0.2"), USD("120"), USD("120"), USD("20"), 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.2"));
      expect(await f.escrow.depositOf(s.intent.paymentId, f.usdt, depositAddress)).to.equal(TOKENS("40"));
    });

    it("does not let a token the intent does not accept, or one the admin disallowed, hold the expiry back", async function () {
      const f = await loadFixture(depositFixture);
      const usdt = await f.usdt.getAddress();
      const s = await f.signed({ acceptedTokens: await f.accepting(f.usdt, f.usdc) });
      const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
      await plainTransfer(NATIVE, f.customer, depositAddress, BNB("0.2")); // not accepted
      await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("100")); // accepted, but disallowed below
      await f.escrow.connect(f.admin).disallowToken(f.usdc);

      await passExpiry(s.intent);
      await expect(f.escrow.connect(f.keeper).expire(s.intent, usdt, []))
        .to.emit(f.escrow, "PaymentExpired")
        .withArgs(s.intent.paymentId, usdt, TOKENS("40"), USD("40"));
    });

    it("lets anyone expire once the window has closed, and the operator at once", async function () {
      const f = await loadFixture(depositFixture);
      const a = await f.signed();
      const b = await f.signed();
      for (const s of [a, b]) {
        const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
        await plainTransfer(f.usdt, f.customer, depositAddress, TOKENS("1"));
      }
      await time.setNextBlockTimestamp(a.intent.expiry + 1n);
      await expect(f.escrow.connect(f.operator).expire(a.intent, f.usdt, [])).to.emit(f.escrow, "PaymentExpired");
      await time.increaseTo(b.intent.expiry + (await f.escrow.LATE_COLLECT_WINDOW()) + 1n);
      await expect(f.escrow.connect(f.keeper).expire(b.intent, f.usdt, [])).to.emit(f.escrow, "PaymentExpired");
      // What arrived too late stays at the deposit address, for returnStray.
      expect(await f.usdt.balanceOf(await f.escrow.depositAddressOf(b.intent))).to.equal(TOKENS("1"));
    });
  });
});
