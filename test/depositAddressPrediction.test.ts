import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import { deployEscrow, TOKENS, USD, type EscrowFixture } from "./support/fixture";
import { signIntent, type PaymentIntent as EthersPaymentIntent } from "./support/intents";
import { newPaymentId, paymentIntentDigest, type PaymentIntent } from "../indexer/src/payments/paymentIntent";
import { depositAddress } from "../indexer/src/chain/depositAddress";

/** The intent as the indexer holds it (viem types) from the one the Hardhat fixture made (ethers types). */
function asIndexerIntent(intent: EthersPaymentIntent): PaymentIntent {
  return {
    paymentId: intent.paymentId as Hex,
    merchant: intent.merchant as Address,
    amountUsd: intent.amountUsd,
    expiry: intent.expiry,
    refundTo: intent.refundTo as Address,
    acceptedTokens: intent.acceptedTokens,
  };
}

/** What the indexer predicts for an intent, with nothing but the escrow's address and forwarder. */
async function predict(f: EscrowFixture, intent: EthersPaymentIntent, chainId?: bigint) {
  const escrow = (await f.escrow.getAddress()) as Address;
  const forwarderImplementation = (await f.escrow.FORWARDER_IMPLEMENTATION()) as Address;
  const chain = chainId ?? (await ethers.provider.getNetwork()).chainId;
  const digest = paymentIntentDigest({ chainId: chain, escrow, intent: asIndexerIntent(intent) });
  return { digest, address: depositAddress({ escrow, forwarderImplementation, digest }) };
}

const randomBigInt = (bytes: number) => BigInt(ethers.hexlify(ethers.randomBytes(bytes)));

describe("deposit address prediction (indexer TypeScript against the escrow)", function () {
  it("paymentIntentDigest equals escrow.hashIntent and depositAddress equals escrow.depositAddressOf", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent } = await f.signed();

    const predicted = await predict(f, intent);

    expect(predicted.digest).to.equal(await f.escrow.hashIntent(intent));
    expect(predicted.address).to.equal(await f.escrow.depositAddressOf(intent));
  });

  it("collect deploys the forwarder clone at exactly the predicted address", async function () {
    const f = await loadFixture(deployEscrow);
    const usdtAddress = await f.usdt.getAddress();
    const { intent, signature } = await f.signed();
    const predicted = await predict(f, intent);
    expect(await ethers.provider.getCode(predicted.address)).to.equal("0x");

    await f.usdt.connect(f.customer).transfer(predicted.address, TOKENS("100"));
    await expect(f.escrow.connect(f.other).collect(intent, signature, usdtAddress))
      .to.emit(f.escrow, "PaymentCompleted")
      .withArgs(
        intent.paymentId,
        f.merchant.address,
        predicted.address, // the deposit address stands in as the payer
        usdtAddress,
        TOKENS("100"),
        USD("100"),
        USD("100"),
        0n,
        0n,
      );

    // The proxy of the forwarder: 49 bytes of runtime code that delegate calls with calldata to FORWARDER_IMPLEMENTATION
    // and take plain transfers themselves.
    const forwarder = (await f.escrow.FORWARDER_IMPLEMENTATION()).slice(2).toLowerCase();
    expect(await ethers.provider.getCode(predicted.address)).to.equal(`0x3d3d3615602f573d3d363d3d37363d73${forwarder}5af43d3d93803e602f57fd5bf3`);
    expect(await f.usdt.balanceOf(predicted.address)).to.equal(0n);
  });

  it("holds for random intents: random ids from newPaymentId, amounts, expiries, refund addresses and accepted tokens", async function () {
    const f = await loadFixture(deployEscrow);
    for (let i = 0; i < 10; i++) {
      const intent = await f.intent({
        paymentId: newPaymentId(f.merchant.address as Address),
        amountUsd: randomBigInt(13),
        expiry: randomBigInt(8),
        refundTo: i % 2 === 0 ? ethers.ZeroAddress : ethers.Wallet.createRandom().address,
        acceptedTokens: randomBigInt(32),
      });
      const predicted = await predict(f, intent);
      expect(predicted.digest).to.equal(await f.escrow.hashIntent(intent));
      expect(predicted.address).to.equal(await f.escrow.depositAddressOf(intent));
    }
  });

  it("holds through collect for several random intents paid in tokens and BNB", async function () {
    const f = await loadFixture(deployEscrow);
    const usdtAddress = await f.usdt.getAddress();
    const latest = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    for (let i = 0; i < 4; i++) {
      const intent = await f.intent({
        paymentId: newPaymentId(f.merchant.address as Address),
        amountUsd: USD("1") + randomBigInt(8),
        expiry: latest + 3_600n + randomBigInt(2),
        refundTo: ethers.Wallet.createRandom().address,
      });
      const signature = await signIntent(f.intentSigner, f.escrow, intent);
      const predicted = await predict(f, intent);

      const native = i % 2 === 1;
      if (native) {
        await f.customer.sendTransaction({ to: predicted.address, value: TOKENS("0.001") });
      } else {
        await f.usdt.connect(f.customer).transfer(predicted.address, TOKENS("0.5"));
      }
      await f.escrow.connect(f.other).collect(intent, signature, native ? ethers.ZeroAddress : usdtAddress);

      expect(await ethers.provider.getCode(predicted.address)).to.not.equal("0x");
      expect(await ethers.provider.getBalance(predicted.address)).to.equal(0n);
      expect(await f.usdt.balanceOf(predicted.address)).to.equal(0n);
      expect((await f.escrow.paymentOf(intent.paymentId)).amount).to.equal(native ? TOKENS("0.001") : TOKENS("0.5"));
    }
  });

  it("binds the chain: with another chain id the digest and the deposit address change", async function () {
    const f = await loadFixture(deployEscrow);
    const { intent } = await f.signed();
    const hardhatChain = (await ethers.provider.getNetwork()).chainId;
    expect(hardhatChain).to.equal(31337n);

    const onHardhat = await predict(f, intent);
    for (const chainId of [56n, 97n]) {
      const elsewhere = await predict(f, intent, chainId);
      expect(elsewhere.digest).to.not.equal(onHardhat.digest);
      expect(elsewhere.digest).to.not.equal(await f.escrow.hashIntent(intent));
      expect(elsewhere.address).to.not.equal(await f.escrow.depositAddressOf(intent));
    }
    expect((await predict(f, intent, hardhatChain)).digest).to.equal(await f.escrow.hashIntent(intent));
  });
});
