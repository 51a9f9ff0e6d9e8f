import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deployEscrow, TOKENS } from "./support/fixture";
import { signIntent, type PaymentIntent } from "./support/intents";
import { payToken, SIGNER_MANAGER_ROLE, Status } from "./support/scenarios";

describe("merchants", function () {
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    const [m2, payout2, signer2, m3, payout3, signer3, newSigner, stranger] = signers.slice(9);
    return { ...f, m2, payout2, signer2, m3, payout3, signer3, newSigner, stranger };
  }

  async function signedBy(signer: HardhatEthersSigner, f: Awaited<ReturnType<typeof fixture>>, overrides: Partial<PaymentIntent> = {}) {
    const intent = await f.intent(overrides);
    return { intent, signature: await signIntent(signer, f.escrow, intent) };
  }

  describe("registerMerchant", function () {
    it("registers a merchant with its payout and first signer (signer manager)", async function () {
      const f = await loadFixture(fixture);
      const tx = f.escrow.connect(f.signerManager).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address);
      await expect(tx).to.emit(f.escrow, "MerchantRegistered").withArgs(f.m2.address, 2n, f.payout2.address, f.signer2.address);
      await expect(tx).to.emit(f.escrow, "SignerUpdated").withArgs(f.m2.address, f.signer2.address, true);

      const m = await f.escrow.merchantOf(f.m2.address);
      expect([m.id, m.payout]).to.deep.equal([2n, f.payout2.address]);
      expect(await f.escrow.isSigner(f.m2.address, f.signer2.address)).to.equal(true);
      expect(await f.escrow.isSigner(f.m2.address, f.intentSigner.address)).to.equal(false);
      // The signer is authorised for this merchant only.
      expect(await f.escrow.isSigner(f.merchant.address, f.signer2.address)).to.equal(false);

      // Intents signed by it are accepted and credit the new merchant.
      const s = await signedBy(f.signer2, f, { merchant: f.m2.address });
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).merchantId).to.equal(2n);
      expect(await f.escrow.balanceOf(f.m2.address, f.usdt)).to.equal(TOKENS("100"));
    });

    it("assigns increasing ids", async function () {
      const f = await loadFixture(fixture);
      expect((await f.escrow.merchantOf(f.merchant.address)).id).to.equal(1n);
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address))
        .to.emit(f.escrow, "MerchantRegistered")
        .withArgs(f.m2.address, 2n, f.payout2.address, f.signer2.address);
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.m3.address, f.payout3.address, f.signer3.address))
        .to.emit(f.escrow, "MerchantRegistered")
        .withArgs(f.m3.address, 3n, f.payout3.address, f.signer3.address);
      expect((await f.escrow.merchantOf(f.m2.address)).id).to.equal(2n);
      expect((await f.escrow.merchantOf(f.m3.address)).id).to.equal(3n);
      // A failed registration does not use up an id.
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address)).to.be.revertedWithCustomError(
        f.escrow,
        "MerchantAlreadyRegistered",
      );
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.stranger.address, f.stranger.address, f.stranger.address))
        .to.emit(f.escrow, "MerchantRegistered")
        .withArgs(f.stranger.address, 4n, f.stranger.address, f.stranger.address);
    });

    it("is refused to every account without the signer-manager role, admin included", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.admin, f.pauser, f.merchant, f.intentSigner, f.m2]) {
        await expect(f.escrow.connect(caller).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, SIGNER_MANAGER_ROLE);
      }
      expect((await f.escrow.merchantOf(f.m2.address)).id).to.equal(0n);
    });

    it("reverts with MerchantAlreadyRegistered for a duplicate, keeping the original payout", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.merchant.address, f.payout2.address, f.intentSigner.address))
        .to.be.revertedWithCustomError(f.escrow, "MerchantAlreadyRegistered")
        .withArgs(f.merchant.address);
      const m = await f.escrow.merchantOf(f.merchant.address);
      expect([m.id, m.payout]).to.deep.equal([1n, f.payout.address]);
    });

    it("cannot be used by the signer manager to add a signer to an existing merchant", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.merchant.address, f.payout.address, f.newSigner.address))
        .to.be.revertedWithCustomError(f.escrow, "MerchantAlreadyRegistered")
        .withArgs(f.merchant.address);
      expect(await f.escrow.isSigner(f.merchant.address, f.newSigner.address)).to.equal(false);
      // Nor through the merchant's own function: the signer manager is not that merchant.
      await expect(f.escrow.connect(f.signerManager).setSigner(f.newSigner.address, true))
        .to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered")
        .withArgs(f.signerManager.address);
      expect(await f.escrow.isSigner(f.merchant.address, f.newSigner.address)).to.equal(false);
      // Intents signed by the would-be signer are refused.
      const s = await signedBy(f.newSigner, f);
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.newSigner.address);
    });

    for (const [what, args] of [
      ["merchant", (f: Awaited<ReturnType<typeof fixture>>) => [ethers.ZeroAddress, f.payout2.address, f.signer2.address]],
      ["payout", (f: Awaited<ReturnType<typeof fixture>>) => [f.m2.address, ethers.ZeroAddress, f.signer2.address]],
      ["signer", (f: Awaited<ReturnType<typeof fixture>>) => [f.m2.address, f.payout2.address, ethers.ZeroAddress]],
    ] as const) {
      it(`reverts with ZeroAddress("${what}") for a zero ${what}`, async function () {
        const f = await loadFixture(fixture);
        const [merchant, payout, signer] = args(f);
        await expect(f.escrow.connect(f.signerManager).registerMerchant(merchant, payout, signer))
          .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
          .withArgs(what);
      });
    }
  });

  describe("setSigner", function () {
    it("lets the merchant authorise a signer, whose intents are then accepted", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).setSigner(f.newSigner.address, true))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.newSigner.address, true);
      expect(await f.escrow.isSigner(f.merchant.address, f.newSigner.address)).to.equal(true);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(true);

      const s = await signedBy(f.newSigner, f);
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
    });

    it("lets the merchant revoke a signer, whose new intents are then refused", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).setSigner(f.intentSigner.address, false))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.intentSigner.address, false);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(false);
      await expect(payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.intentSigner.address);

      // And re-authorise it.
      await f.escrow.connect(f.merchant).setSigner(f.intentSigner.address, true);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(true);
      await payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100"));
    });

    it("reverts with MerchantNotRegistered for accounts that are not merchants", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.stranger, f.admin, f.signerManager, f.pauser, f.intentSigner, f.payout]) {
        await expect(f.escrow.connect(caller).setSigner(f.newSigner.address, true))
          .to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered")
          .withArgs(caller.address);
      }
      expect(await f.escrow.isSigner(f.merchant.address, f.newSigner.address)).to.equal(false);
      expect(await f.escrow.isSigner(f.stranger.address, f.newSigner.address)).to.equal(false);
    });

    it("only changes the calling merchant's signers", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.signerManager).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address);
      await f.escrow.connect(f.m2).setSigner(f.intentSigner.address, true);
      expect(await f.escrow.isSigner(f.m2.address, f.intentSigner.address)).to.equal(true);
      await f.escrow.connect(f.m2).setSigner(f.intentSigner.address, false);
      // The first merchant's authorisation of the same signer is untouched.
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(true);
      expect(await f.escrow.isSigner(f.m2.address, f.intentSigner.address)).to.equal(false);
    });

    it("refuses an intent for one merchant signed by another merchant's signer", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.signerManager).registerMerchant(f.m2.address, f.payout2.address, f.signer2.address);
      const s = await signedBy(f.intentSigner, f, { merchant: f.m2.address });
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.m2.address, f.intentSigner.address);
    });

    it('reverts with ZeroAddress("signer") for a zero signer', async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).setSigner(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(f.escrow, "ZeroAddress").withArgs("signer");
    });
  });

  describe("revokeSigner", function () {
    it("lets the signer manager revoke a merchant's signer", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.signerManager).revokeSigner(f.merchant.address, f.intentSigner.address))
        .to.emit(f.escrow, "SignerUpdated")
        .withArgs(f.merchant.address, f.intentSigner.address, false);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(false);
      await expect(payToken(f.escrow, f.customer, await f.signed(), f.usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "UnauthorisedSigner")
        .withArgs(f.merchant.address, f.intentSigner.address);
      // The merchant can authorise it again.
      await f.escrow.connect(f.merchant).setSigner(f.intentSigner.address, true);
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(true);
    });

    it("still lets an open payment signed by a revoked signer be topped up (its intent is bound)", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      await f.escrow.connect(f.signerManager).revokeSigner(f.merchant.address, f.intentSigner.address);
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("is refused to every account without the signer-manager role, the merchant included", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.admin, f.pauser, f.merchant, f.stranger]) {
        await expect(f.escrow.connect(caller).revokeSigner(f.merchant.address, f.intentSigner.address))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, SIGNER_MANAGER_ROLE);
      }
      expect(await f.escrow.isSigner(f.merchant.address, f.intentSigner.address)).to.equal(true);
    });
  });

  describe("setPayout", function () {
    it("changes the payout wallet with PayoutUpdated", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).setPayout(f.payout2.address))
        .to.emit(f.escrow, "PayoutUpdated")
        .withArgs(f.merchant.address, f.payout2.address);
      const m = await f.escrow.merchantOf(f.merchant.address);
      expect([m.id, m.payout]).to.deep.equal([1n, f.payout2.address]);
    });

    it('reverts with ZeroAddress("payout") for a zero payout', async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.merchant).setPayout(ethers.ZeroAddress)).to.be.revertedWithCustomError(f.escrow, "ZeroAddress").withArgs("payout");
      expect((await f.escrow.merchantOf(f.merchant.address)).payout).to.equal(f.payout.address);
    });

    it("reverts with MerchantNotRegistered for non-merchants, the signer manager and admin included", async function () {
      const f = await loadFixture(fixture);
      for (const caller of [f.stranger, f.admin, f.signerManager, f.payout]) {
        await expect(f.escrow.connect(caller).setPayout(caller.address))
          .to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered")
          .withArgs(caller.address);
      }
      expect((await f.escrow.merchantOf(f.merchant.address)).payout).to.equal(f.payout.address);
    });
  });
});
