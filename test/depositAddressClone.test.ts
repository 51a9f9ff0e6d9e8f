import { expect } from "chai";
import { ethers } from "hardhat";
import type { Address } from "viem";
import type { DepositAddressCloneHarness } from "../typechain-types";
import { depositAddressCreationCode, depositAddressRuntimeCode } from "../indexer/src/chain/depositAddress";

describe("DepositAddressClone: the deposit-address proxy library", function () {
  async function harness() {
    const clones = (await (await ethers.getContractFactory("DepositAddressCloneHarness")).deploy()) as unknown as DepositAddressCloneHarness;
    const implementation = ethers.Wallet.createRandom().address as Address;
    return { clones, implementation, salt: ethers.hexlify(ethers.randomBytes(32)) };
  }

  it("builds the creation code the indexer predicts with, and deploys its runtime at the predicted address", async function () {
    const { clones, implementation, salt } = await harness();
    expect(await clones.creationCode(implementation)).to.equal(depositAddressCreationCode(implementation).toLowerCase());
    const predicted = await clones.predict(implementation, salt);
    expect(await clones.deploy.staticCall(implementation, salt)).to.equal(predicted);
    await (await clones.deploy(implementation, salt)).wait();
    expect(await ethers.provider.getCode(predicted)).to.equal(depositAddressRuntimeCode(implementation).toLowerCase());
  });

  it("refuses to deploy twice with one salt, naming the implementation and the salt", async function () {
    const { clones, implementation, salt } = await harness();
    await (await clones.deploy(implementation, salt)).wait();
    await expect(clones.deploy(implementation, salt)).to.be.revertedWithCustomError(clones, "DepositAddressDeploymentFailed").withArgs(implementation, salt);
  });
});
