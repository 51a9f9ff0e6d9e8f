import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, newEscrow, NATIVE, STALENESS, TOKENS, USD, type EscrowFixture } from "./support/fixture";
import { escrowDomain, PAYMENT_INTENT_TYPES, signIntent, type PaymentIntent } from "./support/intents";
import { Status, INDEX, expectPayment, recoverOnEscrow, signWithDomain } from "./support/payments";

/** secp256k1 group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The fixture plus a second registered merchant with its own signer. */
async function twoMerchants() {
  const f = await loadFixture(deployEscrow);
  const accounts = await ethers.getSigners();
  const [merchant2, signer2, payout2] = [accounts[9], accounts[10], accounts[11]];
  await f.escrow.connect(f.signerManager).registerMerchant(merchant2.address, payout2.address, signer2.address);
  return { ...f, merchant2, signer2, payout2 };
}

async function payUsdt(f: EscrowFixture, intent: PaymentIntent, signature: string, amount = TOKENS("100")) {
  return f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), amount, ethers.ZeroAddress);
}

describe("intent signatures", function () {
  it("accepts an intent signed with EIP-712 by the merchant's signer; hashIntent is the EIP-712 digest", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent, signature } = await f.signed();
    const digest = ethers.TypedDataEncoder.hash(await escrowDomain(f.escrow), PAYMENT_INTENT_TYPES, intent);
    expect(await f.escrow.hashIntent(intent)).to.equal(digest);
    expect(ethers.recoverAddress(digest, signature)).to.equal(f.intentSigner.address);

    await expect(payUsdt(f, intent, signature)).to.emit(f.escrow, "PaymentCompleted");
    await expectPayment(f.escrow, intent.paymentId, {
      status: Status.Completed,
      tokenIndex: INDEX.usdt,
      amount: TOKENS("100"),
      receivedUsd: USD("100"),
    });
  });

  it("signs the EIP-712 type PaymentIntent(bytes32 paymentId,address merchant,uint256 amountUsd,uint64 expiry,address refundTo,uint256 acceptedTokens)", async function () {
    const f = await loadFixture(deployEscrow);
    const type = "PaymentIntent(bytes32 paymentId,address merchant,uint256 amountUsd,uint64 expiry,address refundTo,uint256 acceptedTokens)";
    expect(await f.escrow.PAYMENT_INTENT_TYPEHASH()).to.equal(ethers.id(type));
    expect(ethers.TypedDataEncoder.from(PAYMENT_INTENT_TYPES).encodeType("PaymentIntent")).to.equal(type);
    // The acceptedTokens the test intents carry by default: every token configured, at indexes 1 to 3.
    const { intent } = await f.signed();
    expect(intent.acceptedTokens).to.equal((1n << INDEX.usdt) | (1n << INDEX.usdc) | (1n << INDEX.bnb));
  });

  describe("who signed", function () {
    it("rejects an intent signed by a key the merchant never authorised with UnauthorisedSigner(merchant, signer)", async function () {
      const f = await loadFixture(deployEscrow);
      const intent = await f.intent();
      const signature = await signIntent(f.other, f.escrow, intent);
      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.other.address);
      await expect(payUsdt(f, intent, await signIntent(f.merchant, f.escrow, intent)))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.merchant.address);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
    });

    it("rejects an intent for merchant A signed by merchant B's signer with UnauthorisedSigner(A, signerB)", async function () {
      const f = await twoMerchants();
      const intent = await f.intent(); // names the first merchant
      const signature = await signIntent(f.signer2, f.escrow, intent);
      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.signer2.address);

      // The same signer's intent for its own merchant is fine, and is credited to that merchant.
      const own = await f.intent({ merchant: f.merchant2.address });
      await payUsdt(f, own, await signIntent(f.signer2, f.escrow, own));
      expect(await f.escrow.balanceOf(f.merchant2.address, await f.usdt.getAddress())).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, await f.usdt.getAddress())).to.equal(0n);
      expect((await f.escrow.paymentOf(own.paymentId)).merchantId).to.equal(2n);
    });

    it("rejects an intent naming an unregistered merchant with UnauthorisedSigner(merchant, signer)", async function () {
      const f = await loadFixture(deployEscrow);
      const intent = await f.intent({ merchant: f.other.address });
      await expect(payUsdt(f, intent, await signIntent(f.other, f.escrow, intent)))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.other.address, f.other.address);
    });
  });

  describe("malformed signatures", function () {
    async function malformed(make: (signature: string) => string) {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();
      const bad = make(signature);
      await expect(payUsdt(f, intent, bad))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSignature")
        .withArgs(intent.paymentId);
      await expect(f.escrow.connect(f.customer).payNative(intent, bad, ethers.ZeroAddress, { value: 1n }))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSignature")
        .withArgs(intent.paymentId);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.None);
    }

    it("rejects an empty signature with InvalidSignature(id)", async function () {
      await malformed(() => "0x");
    });

    it("rejects a truncated 64-byte signature with InvalidSignature(id)", async function () {
      await malformed((s) => ethers.dataSlice(s, 0, 64));
    });

    it("rejects the 64-byte EIP-2098 compact form of a valid signature with InvalidSignature(id)", async function () {
      await malformed((s) => ethers.Signature.from(s).compactSerialized);
    });

    it("rejects a valid signature with a trailing byte (66 bytes) with InvalidSignature(id)", async function () {
      await malformed((s) => ethers.concat([s, "0x00"]));
    });

    it("rejects 65 zero bytes with InvalidSignature(id)", async function () {
      await malformed(() => ethers.hexlify(new Uint8Array(65)));
    });

    it("rejects a signature whose v is neither 27 nor 28 with InvalidSignature(id)", async function () {
      await malformed((s) => ethers.concat([ethers.dataSlice(s, 0, 64), "0x1d"]));
    });

    it("rejects the malleable high-s twin of a valid signature with InvalidSignature(id)", async function () {
      await malformed((s) => {
        const sig = ethers.Signature.from(s);
        const highS = ethers.toBeHex(N - BigInt(sig.s), 32);
        const flippedV = ethers.toBeHex(sig.v === 27 ? 28 : 27, 1);
        return ethers.concat([sig.r, highS, flippedV]);
      });
    });
  });

  describe("domain separation", function () {
    it("rejects an intent signed for another chain id: it recovers to another address (UnauthorisedSigner)", async function () {
      const f = await loadFixture(deployEscrow);
      const intent = await f.intent();
      const { chainId } = await ethers.provider.getNetwork();
      const foreignDomain = { ...(await escrowDomain(f.escrow)), chainId: 56n };
      expect(foreignDomain.chainId).to.not.equal(chainId);
      const signature = await signWithDomain(f.intentSigner, f.escrow, intent, { chainId: 56n });
      expect(ethers.verifyTypedData(foreignDomain, PAYMENT_INTENT_TYPES, intent, signature)).to.equal(f.intentSigner.address);
      const recovered = await recoverOnEscrow(f.escrow, intent, signature);
      expect(recovered).to.not.equal(f.intentSigner.address);

      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, recovered);
    });

    it("rejects an intent signed for another escrow deployment, which accepts it", async function () {
      const f = await loadFixture(deployEscrow);
      const twin = await newEscrow(f.admin.address, f.treasury.address);
      await twin.grantRole(await twin.SIGNER_MANAGER_ROLE(), f.signerManager.address);
      await twin.setToken(await f.usdt.getAddress(), await f.usdtFeed.getAddress(), STALENESS.stable);
      await twin.connect(f.signerManager).registerMerchant(f.merchant.address, f.payout.address, f.intentSigner.address);
      await f.usdt.connect(f.customer).approve(await twin.getAddress(), ethers.MaxUint256);

      const intent = await f.intent();
      const signature = await signIntent(f.intentSigner, twin, intent);
      const recovered = await recoverOnEscrow(f.escrow, intent, signature);
      expect(recovered).to.not.equal(f.intentSigner.address);

      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, recovered);
      await expect(twin.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.emit(twin, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, await f.usdt.getAddress(), TOKENS("100"), USD("100"), USD("100"), 0n, 0n);
    });

    it("rejects an intent signed under another domain name or version", async function () {
      const f = await loadFixture(deployEscrow);
      for (const overrides of [{ name: "OpenPay" }, { version: "2" }]) {
        const intent = await f.intent();
        const signature = await signWithDomain(f.intentSigner, f.escrow, intent, overrides);
        await expect(payUsdt(f, intent, signature))
          .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
          .withArgs(f.merchant.address, await recoverOnEscrow(f.escrow, intent, signature));
      }
    });
  });

  describe("altered intents", function () {
    const alterations: Array<[string, (f: Awaited<ReturnType<typeof twoMerchants>>, i: PaymentIntent) => PaymentIntent]> = [
      ["amountUsd lowered", (_f, i) => ({ ...i, amountUsd: i.amountUsd - 1n })],
      ["amountUsd raised", (_f, i) => ({ ...i, amountUsd: i.amountUsd * 2n })],
      [
        "merchant switched to another registered merchant",
        // The id moves to the other merchant's namespace too, so that only the signature is wrong.
        (f, i) => ({
          ...i,
          merchant: f.merchant2.address,
          paymentId: ethers.concat([f.merchant2.address, ethers.dataSlice(i.paymentId, 20)]),
        }),
      ],
      ["expiry extended", (_f, i) => ({ ...i, expiry: i.expiry + 3_600n })],
      ["refundTo redirected", (f, i) => ({ ...i, refundTo: f.other.address })],
      // Signed accepting USDT only (bit 1); a payer may not widen it to take another token.
      ["acceptedTokens widened", (_f, i) => ({ ...i, acceptedTokens: i.acceptedTokens | (1n << INDEX.usdc) })],
      ["paymentId changed", (_f, i) => ({ ...i, paymentId: ethers.concat([i.merchant, ethers.id("x").slice(0, 26)]) })],
    ];
    for (const [what, alter] of alterations) {
      it(`rejects an intent with its ${what} after signing (UnauthorisedSigner with the address it recovers to)`, async function () {
        const f = await twoMerchants();
        const { intent, signature } = await f.signed({ acceptedTokens: await f.accepting(f.usdt) });
        const altered = alter(f, intent);
        const recovered = await recoverOnEscrow(f.escrow, altered, signature);
        expect(recovered).to.not.equal(f.intentSigner.address);

        await expect(payUsdt(f, altered, signature))
          .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
          .withArgs(altered.merchant, recovered);
        // The original terms still go through.
        await expect(payUsdt(f, intent, signature)).to.emit(f.escrow, "PaymentCompleted");
      });
    }
  });

  describe("revoked signers", function () {
    it("rejects intents of a signer the merchant revoked with setSigner(signer, false), even ones signed before", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.merchant).setSigner(f.intentSigner.address, false))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.intentSigner.address, false);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(false);

      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.intentSigner.address);
      const fresh = await f.signed();
      await expect(f.escrow.connect(f.customer).payNative(fresh.intent, fresh.signature, ethers.ZeroAddress, { value: 1n }))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.intentSigner.address);

      // A signer the merchant adds is accepted.
      await f.escrow.connect(f.merchant).setSigner(f.other.address, true);
      const byNew = await f.intent();
      await expect(payUsdt(f, byNew, await signIntent(f.other, f.escrow, byNew))).to.emit(f.escrow, "PaymentCompleted");
      // Re-authorising the old signer makes its earlier intent valid again.
      await f.escrow.connect(f.merchant).setSigner(f.intentSigner.address, true);
      await expect(payUsdt(f, intent, signature)).to.emit(f.escrow, "PaymentCompleted");
    });

    it("rejects intents of a signer revoked by the signer manager with revokeSigner", async function () {
      const f = await loadFixture(deployEscrow);
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).revokeSigner(f.merchant.address, f.intentSigner.address))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.customer.address, await f.escrow.SIGNER_MANAGER_ROLE());
      await expect(f.escrow.connect(f.signerManager).revokeSigner(f.merchant.address, f.intentSigner.address))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.intentSigner.address, false);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(false);

      await expect(payUsdt(f, intent, signature))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.intentSigner.address);
    });
  });

  describe("one payment id, one intent", function () {
    it("rejects a top-up of an open payment with a validly signed intent for the same id but other terms (IntentMismatch)", async function () {
      const f = await loadFixture(deployEscrow);
      const first = await f.signed();
      await payUsdt(f, first.intent, first.signature, TOKENS("40"));
      const expected = await f.escrow.hashIntent(first.intent);

      for (const terms of [
        { amountUsd: USD("40") },
        { amountUsd: USD("1000") },
        { refundTo: f.other.address },
        { expiry: first.intent.expiry + 60n },
        { acceptedTokens: first.intent.acceptedTokens ^ (1n << INDEX.bnb) },
      ]) {
        const second = await f.signed({ ...first.intent, ...terms });
        const actual = await f.escrow.hashIntent(second.intent);
        expect(actual).to.not.equal(expected);
        await expect(payUsdt(f, second.intent, second.signature, TOKENS("60")))
          .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
          .withArgs(first.intent.paymentId, expected, actual);
        await expect(f.escrow.remainingUsd(second.intent))
          .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
          .withArgs(first.intent.paymentId, expected, actual);
      }

      await expectPayment(f.escrow, first.intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        amount: TOKENS("40"),
        receivedUsd: USD("40"),
      });
      expect(await f.escrow.remainingUsd(first.intent)).to.equal(USD("60"));
    });

    it("rejects an intent of another merchant reusing an open payment's id (IntentMismatch)", async function () {
      const f = await twoMerchants();
      const first = await f.signed();
      await payUsdt(f, first.intent, first.signature, TOKENS("40"));
      const hijack: PaymentIntent = { ...first.intent, merchant: f.merchant2.address };
      const signature = await signIntent(f.signer2, f.escrow, hijack);

      await expect(payUsdt(f, hijack, signature, TOKENS("60")))
        .to.be.revertedWithCustomError(f.escrow, "IntentMismatch")
        .withArgs(first.intent.paymentId, await f.escrow.hashIntent(first.intent), await f.escrow.hashIntent(hijack));
    });

    it("rejects a validly signed intent whose id is outside its merchant's namespace (PaymentIdNotOfMerchant)", async function () {
      const f = await twoMerchants();
      // Merchant 2's signer tries to take an id of merchant 1's before merchant 1's customer pays it.
      const victim = await f.signed();
      const squat: PaymentIntent = { ...victim.intent, merchant: f.merchant2.address, amountUsd: USD("1000000") };
      const signature = await signIntent(f.signer2, f.escrow, squat);

      await expect(payUsdt(f, squat, signature, TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "PaymentIdNotOfMerchant")
        .withArgs(victim.intent.paymentId, f.merchant2.address);
      // The id stays free for merchant 1's real payment.
      await expect(payUsdt(f, victim.intent, victim.signature)).to.emit(f.escrow, "PaymentCompleted");
    });

    it("rejects reusing a completed payment's id with another validly signed intent (InvalidPaymentStatus)", async function () {
      const f = await loadFixture(deployEscrow);
      const first = await f.signed();
      await payUsdt(f, first.intent, first.signature);
      const second = await f.signed({ paymentId: first.intent.paymentId, amountUsd: USD("5") });

      await expect(payUsdt(f, second.intent, second.signature, TOKENS("5")))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(first.intent.paymentId, Status.Completed);
      await expect(f.escrow.connect(f.customer).payNative(second.intent, second.signature, ethers.ZeroAddress, { value: ethers.parseEther("1") }))
        .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
        .withArgs(first.intent.paymentId, Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(0n);
      expect(await f.escrow.balanceOf(f.merchant.address, await f.usdt.getAddress())).to.equal(TOKENS("100"));
    });
  });
});
