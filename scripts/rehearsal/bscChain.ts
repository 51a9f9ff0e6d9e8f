import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { createProvider } from "hardhat/internal/core/providers/construction";
import type { EthereumProvider, HardhatNetworkConfig, HardhatRuntimeEnvironment, JsonRpcServer } from "hardhat/types";

export const BSC_CHAIN_ID = 56;

/** A chain with BNB Smart Chain's id and habits, in this process, served over JSON-RPC on 127.0.0.1. */
export interface BscChain {
  url: string;
  /** The chain itself (no HTTP): for what only a test chain can do, such as placing code or making a block. */
  provider: EthereumProvider;
  /** Makes one block of whatever waits in the mempool. */
  mine(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a Hardhat chain that looks like BSC mainnet to everything talking to it: chain id 56, so every signature
 * is replay-protected for BSC and every EIP-681 URI and checkout page names it; no base fee (BSC burns none: its
 * base fee is always 0, and Ignition and the keeper must price their transactions without one); blocks that may
 * share a timestamp (BSC's blocks come every 0.75 s with timestamps in whole seconds); and no automine, so that a
 * transaction waits in the mempool for the next block, as on a real chain. Blocks come from whoever calls `mine`
 * (BlockProducer). Hardhat's configuration is not touched: the chain is built from a copy of its `hardhat` network.
 */
export async function startBscChain(hre: HardhatRuntimeEnvironment, port: number): Promise<BscChain> {
  const hardhat = hre.config.networks.hardhat;
  const network: HardhatNetworkConfig = {
    ...hardhat,
    chainId: BSC_CHAIN_ID,
    initialBaseFeePerGas: 0,
    allowBlocksWithSameTimestamp: true,
    // Genesis now: with blocks sharing seconds, Hardhat counts the chain's clock on from the genesis block's time,
    // which it otherwise takes from an earlier moment (the chain would lag the wall clock by Hardhat's start-up).
    initialDate: new Date().toISOString(),
    mining: { ...hardhat.mining, auto: false, interval: 0 },
  };
  const provider = await createProvider({ ...hre.config, networks: { ...hre.config.networks, hardhat: network } }, "hardhat", hre.artifacts);
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider })) as JsonRpcServer;
  const listening = await server.listen();
  return {
    url: `http://127.0.0.1:${listening.port}`,
    provider,
    mine: async () => void (await provider.request({ method: "evm_mine", params: [] })),
    close: () => server.close(),
  };
}
