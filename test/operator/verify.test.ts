import { rmSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { expect } from "chai";
import { verificationTargets, verifyDeployment } from "../../scripts/operator/verify";
import { captureLog, DEPLOYMENTS_DIR_VARIABLE, operatorError, tempDir, useLocalOpenPay } from "./support";

describe("operator: verify-deployment", function () {
  const world = useLocalOpenPay();
  let apiKey: typeof hre.config.etherscan.apiKey;

  beforeEach(function () {
    apiKey = hre.config.etherscan.apiKey;
  });

  afterEach(function () {
    hre.config.etherscan.apiKey = apiKey;
  });

  it("asks to verify the escrow with the arguments it was really constructed with, its administration and the forwarder", async function () {
    const [escrow, administration, forwarder] = verificationTargets(world.record);
    expect(escrow).to.deep.equal({
      contract: "contracts/OpenPayEscrow.sol:OpenPayEscrow",
      address: world.record.escrow,
      constructorArguments: [world.record.deployer, world.record.roles.treasury],
    });
    expect(administration).to.deep.equal({
      contract: "contracts/OpenPayEscrowAdmin.sol:OpenPayEscrowAdmin",
      address: world.record.administration,
      constructorArguments: [],
    });
    expect(await world.escrow.ADMINISTRATION()).to.equal(administration.address);
    expect(forwarder).to.deep.equal({
      contract: "contracts/DepositForwarder.sol:DepositForwarder",
      address: world.record.depositForwarder,
      constructorArguments: [],
    });

    // The escrow's creation transaction ends with exactly these arguments, ABI-encoded.
    const block = await hre.ethers.provider.getBlock(world.record.blockNumber, true);
    let creation: string | undefined;
    for (const tx of block!.prefetchedTransactions) {
      const receipt = await hre.ethers.provider.getTransactionReceipt(tx.hash);
      if (receipt?.contractAddress === world.record.escrow) creation = tx.data;
    }
    expect(creation, "the escrow's creation transaction").to.not.equal(undefined);
    const encoded = hre.ethers.AbiCoder.defaultAbiCoder().encode(["address", "address"], escrow.constructorArguments);
    expect(creation!.endsWith(encoded.slice(2))).to.equal(true);
    expect(await world.escrow.FORWARDER_IMPLEMENTATION()).to.equal(forwarder.address);
    const forwarderAbi = (await hre.artifacts.readArtifact("DepositForwarder")).abi;
    expect(forwarderAbi.filter((entry) => entry.type === "constructor" && entry.inputs.length > 0)).to.deep.equal([]);
  });

  it("runs verify:verify for each target when an Etherscan key is configured", async function () {
    hre.config.etherscan.apiKey = "test-key";
    // hardhat-verify's task is replaced for this test: nothing is sent to Etherscan.
    const verifyTask = hre.tasks["verify:verify"] as unknown as { action: (args: unknown) => Promise<unknown> };
    const original = verifyTask.action;
    const calls: unknown[] = [];
    verifyTask.action = async (args: unknown) => {
      calls.push(args);
    };
    try {
      const { lines } = await captureLog(() => verifyDeployment(hre));
      expect(lines).to.deep.equal([
        `verifying contracts/OpenPayEscrow.sol:OpenPayEscrow at ${world.record.escrow}`,
        `verifying contracts/OpenPayEscrowAdmin.sol:OpenPayEscrowAdmin at ${world.record.administration}`,
        `verifying contracts/DepositForwarder.sol:DepositForwarder at ${world.record.depositForwarder}`,
      ]);
    } finally {
      verifyTask.action = original;
    }
    expect(calls).to.have.length(3);
    expect(calls[0]).to.include({ address: world.record.escrow, contract: "contracts/OpenPayEscrow.sol:OpenPayEscrow" });
    expect(calls[1]).to.include({ address: world.record.administration });
    expect(calls[2]).to.include({ address: world.record.depositForwarder });
  });

  it("refuses without ETHERSCAN_API_KEY", async function () {
    hre.config.etherscan.apiKey = "";
    expect(await operatorError(verifyDeployment(hre))).to.equal("ETHERSCAN_API_KEY is not set: an Etherscan v2 API key (see .env.example)");
  });

  it("refuses without a deployment record", async function () {
    const dir = tempDir();
    process.env[DEPLOYMENTS_DIR_VARIABLE] = dir; // the support's afterEach points the commands back
    try {
      expect(await operatorError(verifyDeployment(hre))).to.match(new RegExp(`^${path.join(dir, "31337.json")} not found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
