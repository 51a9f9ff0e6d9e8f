import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { readBalances } from "../indexer/src/chain/escrowReadings";
import { deployEscrow, TOKENS } from "./support/fixture";

const client = () => createPublicClient({ transport: custom(network.provider) }) as PublicClient;

async function latestHash(): Promise<Hex> {
  return (await ethers.provider.getBlock("latest"))!.hash as Hex;
}

describe("BalanceReader (read in one eth_call, never deployed)", function () {
  it("reads each account's balance of each token and of BNB (the zero address), at the block asked", async function () {
    const f = await loadFixture(deployEscrow);
    const [a, b] = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address] as Address[];
    await f.usdt.connect(f.customer).transfer(a, TOKENS("5"));
    const before = await latestHash();
    await f.usdc.connect(f.customer).transfer(b, TOKENS("7"));
    await f.customer.sendTransaction({ to: b, value: 123n });
    const tokens = [(await f.usdt.getAddress()) as Address, zeroAddress, (await f.usdc.getAddress()) as Address];

    expect(await readBalances(client(), [a, b], tokens, { blockHash: await latestHash() })).to.deep.equal([
      [TOKENS("5"), 0n, 0n],
      [0n, 123n, TOKENS("7")],
    ]);
    expect(await readBalances(client(), [a, b], tokens, { blockHash: before })).to.deep.equal([
      [TOKENS("5"), 0n, 0n],
      [0n, 0n, 0n],
    ]);
  });

  it("reads more accounts than fit in one call, in order", async function () {
    const f = await loadFixture(deployEscrow);
    const accounts = Array.from({ length: 800 }, (_, i) => ethers.zeroPadValue(ethers.toBeHex(i + 1000), 20) as Address);
    await f.customer.sendTransaction({ to: accounts[777], value: 9n });
    const balances = await readBalances(client(), accounts, [zeroAddress, (await f.usdt.getAddress()) as Address], { blockHash: await latestHash() });
    expect(balances).to.have.length(800);
    expect(balances[777]).to.deep.equal([9n, 0n]);
    expect(balances.filter(([bnb]) => bnb !== 0n)).to.have.length(1);
  });
});
