import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, type Address, type Hex, type PublicClient } from "viem";
import { readEscrowPayments } from "../indexer/src/chain/escrowReadings";
import { deployEscrow, NATIVE, TOKENS, USD } from "./support/fixture";
import { passExpiry, payBnb, payToken } from "./support/scenarios";

/** A viem client over Hardhat's in-process provider: the indexer's own reading code, against the real escrow. */
const client = () => createPublicClient({ transport: custom(network.provider) }) as PublicClient;

async function latestHash(): Promise<Hex> {
  return (await ethers.provider.getBlock("latest"))!.hash as Hex;
}

describe("EscrowPaymentReader (read in one eth_call, never deployed)", function () {
  it("reads each payment's status, token, amount, USD received and refunds, in the order asked", async function () {
    const f = await loadFixture(deployEscrow);
    const [untouched, partial, paid, refunded, native] = await Promise.all([f.signed(), f.signed(), f.signed(), f.signed(), f.signed()]);
    await payToken(f.escrow, f.customer, partial, f.usdt, TOKENS("40"));
    await payToken(f.escrow, f.customer, paid, f.usdc, TOKENS("100"));
    await payToken(f.escrow, f.customer, refunded, f.usdt, TOKENS("100"));
    await f.escrow.connect(f.merchant).refund(refunded.intent.paymentId, f.customer.address, TOKENS("30"));
    await payBnb(f.escrow, f.customer, native, ethers.parseEther("0.1"));

    const ids = [untouched, partial, paid, refunded, native].map((s) => s.intent.paymentId as Hex);
    const states = await readEscrowPayments(client(), (await f.escrow.getAddress()) as Address, ids, { blockHash: await latestHash() });
    expect(states.map((state) => state.status)).to.deep.equal(["none", "open", "completed", "partially_refunded", "open"]);
    expect(states[0]).to.deep.equal({ status: "none", token: NATIVE, amount: 0n, receivedUsd: 0n, refunded: 0n });
    expect(states[1]).to.deep.include({ token: await f.usdt.getAddress(), amount: TOKENS("40"), receivedUsd: USD("40") });
    expect(states[2]).to.deep.include({ token: await f.usdc.getAddress(), amount: TOKENS("100"), receivedUsd: USD("100"), refunded: 0n });
    expect(states[3]).to.deep.include({ token: await f.usdt.getAddress(), amount: TOKENS("100"), refunded: TOKENS("30") });
    expect(states[4]).to.deep.include({ token: NATIVE, amount: ethers.parseEther("0.1"), receivedUsd: USD("60") });
  });

  it("answers for the block asked, not the latest one", async function () {
    const f = await loadFixture(deployEscrow);
    const s = await f.signed();
    await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
    const before = await latestHash();
    await passExpiry(s.intent);
    await f.escrow.expire(s.intent, f.usdt, [f.customer.address]);
    const escrow = (await f.escrow.getAddress()) as Address;
    const id = s.intent.paymentId as Hex;
    expect((await readEscrowPayments(client(), escrow, [id], { blockHash: before }))[0].status).to.equal("open");
    expect((await readEscrowPayments(client(), escrow, [id], { blockHash: await latestHash() }))[0].status).to.equal("expired");
  });

  it("reads more payments than fit in one call, in order", async function () {
    const f = await loadFixture(deployEscrow);
    const paid = await f.signed();
    await payToken(f.escrow, f.customer, paid, f.usdt, TOKENS("100"));
    const ids = Array.from({ length: 1_100 }, (_, i) => (i === 1_050 ? paid.intent.paymentId : ethers.zeroPadValue(ethers.toBeHex(i + 1), 32)) as Hex);
    const states = await readEscrowPayments(client(), (await f.escrow.getAddress()) as Address, ids, { blockHash: await latestHash() });
    expect(states).to.have.length(1_100);
    expect(states.filter((state) => state.status !== "none").length).to.equal(1);
    expect(states[1_050].status).to.equal("completed");
  });
});
