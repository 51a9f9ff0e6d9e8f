import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { operatorCommand } from "./commandLine";
import { recordedDeployment } from "./escrowContext";
import { OperatorError } from "./operatorError";
import { verificationDryRun } from "./verificationDryRun";

/**
 * What BscScan is asked to verify: the escrow (constructed with the deployer as first admin), the administration
 * and the forwarder it deployed (neither takes constructor arguments).
 */
export function verificationTargets(record: DeploymentRecord) {
  return [
    {
      contract: "contracts/OpenPayEscrow.sol:OpenPayEscrow",
      address: record.escrow,
      constructorArguments: [record.deployer, record.roles.treasury],
    },
    { contract: "contracts/OpenPayEscrowAdmin.sol:OpenPayEscrowAdmin", address: record.administration, constructorArguments: [] },
    { contract: "contracts/DepositForwarder.sol:DepositForwarder", address: record.depositForwarder, constructorArguments: [] },
  ];
}

export async function verifyDeployment(hre: HardhatRuntimeEnvironment, args: { dryRun?: boolean } = {}) {
  const { deployment: record } = await recordedDeployment(hre);
  if (args.dryRun) return verificationDryRun(hre, verificationTargets(record));
  if (!hre.config.etherscan.apiKey) throw new OperatorError("ETHERSCAN_API_KEY is not set: an Etherscan v2 API key (see .env.example)");
  for (const target of verificationTargets(record)) {
    console.log(`verifying ${target.contract} at ${target.address}`);
    await hre.run("verify:verify", target);
  }
}

operatorCommand("verify-deployment", "Verify the recorded deployment's contracts on BscScan (hardhat-verify, Etherscan v2 API key)", [], verifyDeployment, [
  ["dryRun", "Check each contract against this build and print what would be submitted, without submitting (no API key needed)"],
]);
