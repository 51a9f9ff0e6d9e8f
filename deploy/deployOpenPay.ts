import { rmSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Contract } from "ethers";
import { getAddress, zeroAddress, type Address } from "viem";
import { escrowAbiHash, writeDeployment, type DeploymentRecord } from "../indexer/src/chain/deployment";
import OpenPayModule from "./modules/OpenPay";
import LocalOpenPayModule from "./modules/LocalOpenPay";
import { isLiveNetwork } from "./networks";
import { deploymentReadinessProblems, parametersFileFor, readNetworkParameters, type NetworkParameters } from "./parameters";

export interface DeployOptions {
  /** A parameters file other than deploy/parameters/<network>.json5. */
  parametersFile?: string;
  /** Where to write <chainId>.json (default: the repository's deployments/). */
  deploymentsDir?: string;
  /** Show Ignition's progress display. */
  displayUi?: boolean;
}

/** A deployment cannot go ahead: wrong parameters, wrong network, no key. The message says which and why. */
export class DeploymentError extends Error {
  override name = "DeploymentError";
}

function roleAddresses(network: NetworkParameters) {
  const values = network.module === "OpenPay" ? network.parameters.OpenPay : network.parameters.LocalOpenPay;
  const { admin, signerManager, pauser, operator, treasury } = values;
  return { admin, signerManager, pauser, operator, treasury } as Record<keyof DeploymentRecord["roles"], Address>;
}

/**
 * The block the escrow was deployed in. A live deployment keeps Ignition's journal: the receipt of the escrow's
 * creation is there even when this run only resumed an earlier one. Hardhat's in-process network keeps no
 * journal; there the deployment happened in this run, so it is the first block since `searchFrom` with one of the
 * constructor's RoleGranted logs.
 */
async function deploymentBlock(hre: HardhatRuntimeEnvironment, escrow: Contract, searchFrom: number, deploymentDir?: string) {
  const escrowAddress = await escrow.getAddress();
  if (deploymentDir) {
    const { listTransactions } = await import("@nomicfoundation/ignition-core");
    const { HardhatArtifactResolver } = await import("@nomicfoundation/hardhat-ignition/helpers");
    const transactions = await listTransactions(deploymentDir, new HardhatArtifactResolver(hre));
    const creation = transactions.find((tx) => tx.address !== undefined && getAddress(tx.address) === escrowAddress);
    const receipt = creation && (await hre.ethers.provider.getTransactionReceipt(creation.txHash));
    if (receipt) return receipt.blockNumber;
  } else {
    const logs = await escrow.queryFilter(escrow.filters.RoleGranted(), searchFrom, "latest");
    if (logs.length > 0) return Math.min(...logs.map((log) => log.blockNumber));
  }
  throw new DeploymentError(`could not find the block the escrow ${escrowAddress} was deployed in`);
}

/**
 * Deploys Open Pay to the selected network with its Ignition module and parameters, hands the admin role from the
 * deployer to the configured admin, and writes deployments/<chainId>.json. Safe to run again: Ignition resumes
 * a live deployment where it stopped and the handover is skipped once done.
 */
export async function deployOpenPay(
  hre: HardhatRuntimeEnvironment,
  options: DeployOptions = {},
  out: (line: string) => void = console.log,
): Promise<{ record: DeploymentRecord; file: string }> {
  const parametersFile = options.parametersFile ?? parametersFileFor(hre.network.name);
  let network: NetworkParameters;
  try {
    network = readNetworkParameters(parametersFile);
  } catch (error) {
    throw new DeploymentError((error as Error).message);
  }
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  if (network.chainId !== chainId) {
    throw new DeploymentError(`${parametersFile} is for chain ${network.chainId} but ${hre.network.name} is chain ${chainId}`);
  }
  const problems = deploymentReadinessProblems(network);
  if (problems.length > 0) throw new DeploymentError(problems.join("; "));
  // On a live network the deployer must be DEPLOYER_PRIVATE_KEY itself, never the operator's or a merchant's key
  // that would come first among the configured ones without it.
  if (isLiveNetwork(hre.network.name) && !process.env.DEPLOYER_PRIVATE_KEY?.trim()) {
    throw new DeploymentError(`DEPLOYER_PRIVATE_KEY is not set: the key that deploys to ${hre.network.name} (see .env.example)`);
  }
  const [deployer] = await hre.ethers.getSigners();
  if (!deployer) throw new DeploymentError(`no deployer key for ${hre.network.name}: set DEPLOYER_PRIVATE_KEY (see .env.example)`);

  // A local chain starts empty each time, so an earlier local journal would only confuse Ignition.
  const deploymentId = `chain-${chainId}`;
  const deploymentDir = hre.network.name === "hardhat" ? undefined : path.join(hre.config.paths.ignition, "deployments", deploymentId);
  if (network.module === "LocalOpenPay" && deploymentDir) rmSync(deploymentDir, { recursive: true, force: true });

  const searchFrom = await hre.ethers.provider.getBlockNumber();
  out(`deploying ${network.module} to ${hre.network.name} (chain ${chainId}) from ${deployer.address}`);
  const ignitionOptions = { parameters: network.parameters, deploymentId, displayUi: options.displayUi };
  let escrow: Contract;
  let depositForwarder: Contract;
  let tokenAddresses: Record<string, string>;
  if (network.module === "OpenPay") {
    const deployed = await hre.ignition.deploy(OpenPayModule, ignitionOptions);
    [escrow, depositForwarder] = [deployed.escrow, deployed.depositForwarder] as unknown as Contract[];
    const { usdtToken, usdcToken } = network.parameters.OpenPay;
    tokenAddresses = { USDT: usdtToken, USDC: usdcToken, BNB: zeroAddress };
  } else {
    const deployed = await hre.ignition.deploy(LocalOpenPayModule, ignitionOptions);
    [escrow, depositForwarder] = [deployed.escrow, deployed.depositForwarder] as unknown as Contract[];
    tokenAddresses = { USDT: await deployed.usdt.getAddress(), USDC: await deployed.usdc.getAddress(), BNB: zeroAddress };
  }
  const roles = roleAddresses(network);

  if (roles.admin !== deployer.address && (await escrow.defaultAdmin()) === deployer.address) {
    // The admin role moves in two steps: the admin (a Safe, say) accepts once the delay has passed.
    const [pending] = await escrow.pendingDefaultAdmin();
    if (pending !== roles.admin) await (await (escrow.connect(deployer) as Contract).beginDefaultAdminTransfer(roles.admin)).wait();
    const [, acceptSchedule] = await escrow.pendingDefaultAdmin();
    out(
      `admin role transfer from the deployer ${deployer.address} to ${roles.admin} begun: ${roles.admin} calls ` +
        `acceptDefaultAdminTransfer() on the escrow from ${new Date(Number(acceptSchedule) * 1000).toISOString()}; ` +
        `until then the deployer is the admin`,
    );
  }

  const tokens: DeploymentRecord["tokens"] = {};
  for (const [symbol, address] of Object.entries(tokenAddresses)) {
    const config = await escrow.tokenConfigOf(address);
    tokens[symbol] = { address: getAddress(address), feed: config.feed, decimals: Number(config.decimals), maxStaleness: Number(config.maxStaleness) };
  }

  const { abi } = await hre.artifacts.readArtifact("IOpenPayEscrow");
  const local = network.module === "LocalOpenPay" ? network.parameters.LocalOpenPay : undefined;
  const record: DeploymentRecord = {
    chainId,
    network: hre.network.name,
    escrow: getAddress(await escrow.getAddress()),
    depositForwarder: getAddress(await depositForwarder.getAddress()),
    administration: getAddress(await escrow.ADMINISTRATION()),
    blockNumber: await deploymentBlock(hre, escrow, searchFrom, deploymentDir),
    abiHash: escrowAbiHash(abi),
    deployer: getAddress(deployer.address),
    tokens,
    roles,
    ...(local && {
      demoMerchant: { merchant: getAddress(local.merchant), signer: getAddress(local.merchantSigner), payout: getAddress(local.merchantPayout) },
    }),
    deployedAt: new Date().toISOString(),
  };
  const file = writeDeployment(record, options.deploymentsDir);
  out(`escrow ${record.escrow} (block ${record.blockNumber}); recorded in ${path.relative(process.cwd(), file)}`);
  return { record, file };
}
