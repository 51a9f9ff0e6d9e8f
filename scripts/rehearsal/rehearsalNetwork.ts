import path from "node:path";
import type { HardhatRuntimeEnvironment, HttpNetworkConfig } from "hardhat/types";
import type { KEY_VARIABLES } from "../../deploy/networks";
import { keyOf } from "./cast";

/**
 * Hardhat's `bsc` network — the one `npm run deploy -- --network bsc` uses, with its keys and live-network checks —
 * pointed at the rehearsal chain instead of BSC. Everything Hardhat reads from the environment for it is set here
 * before Hardhat loads, so that a developer's .env (which never overrides a variable already set) cannot bring a
 * real RPC URL or a real key into the rehearsal; OPENPAY_DEPLOYMENTS_DIR keeps the deployment record out of
 * deployments/.
 */
export async function loadHardhatForRehearsal(rpcUrl: string, folder: string): Promise<HardhatRuntimeEnvironment> {
  const keys: Record<(typeof KEY_VARIABLES)[number], string> = {
    DEPLOYER_PRIVATE_KEY: keyOf("deployer"),
    OPERATOR_PRIVATE_KEY: keyOf("operator"),
    MERCHANT_PRIVATE_KEY: keyOf("merchant"),
  };
  Object.assign(process.env, {
    HARDHAT_NETWORK: "bsc",
    BSC_RPC_URL: rpcUrl,
    ...keys,
    // The dry run needs no key, and nothing may reach BscScan.
    ETHERSCAN_API_KEY: "",
    OPENPAY_DEPLOYMENTS_DIR: path.join(folder, "deployments"),
  });
  const hre = (await import("hardhat")).default;
  const config = hre.network.config as HttpNetworkConfig;
  if (hre.network.name !== "bsc" || config.url !== rpcUrl) {
    throw new Error(`Hardhat runs on ${hre.network.name} (${config.url ?? "in process"}), not on bsc at the rehearsal chain ${rpcUrl}: refusing to go on`);
  }
  // Ignition's journal of the rehearsal's deployment, apart from the real ones in ignition/deployments/.
  hre.config.paths.ignition = path.join(folder, "ignition");
  return hre;
}

/**
 * Refuses to deploy unless `bsc` reaches a Hardhat chain: the last guard between the rehearsal and BSC itself
 * (BSC's own nodes answer web3_clientVersion with their client, Geth or Erigon, never HardhatNetwork).
 */
export async function checkRehearsalChain(hre: HardhatRuntimeEnvironment): Promise<string> {
  const client = String(await hre.network.provider.request({ method: "web3_clientVersion", params: [] }));
  const chainId = Number(await hre.network.provider.request({ method: "eth_chainId", params: [] }));
  if (!client.startsWith("HardhatNetwork/") || chainId !== 56) {
    throw new Error(`the bsc network answers as ${client} on chain ${chainId}, not the rehearsal's Hardhat chain 56: refusing to go on`);
  }
  return client;
}
