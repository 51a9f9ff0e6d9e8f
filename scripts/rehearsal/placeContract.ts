import type { EthereumProvider } from "hardhat/types";
import { encodeDeployData, getAddress, type Abi, type Address, type Hex } from "viem";

interface StructLog {
  op: string;
  depth: number;
  stack?: string[];
}

/** Sends a transaction from an account the chain holds the key of, mines it and returns its receipt. */
export async function sendAndMine(
  provider: EthereumProvider,
  tx: { from: Address; to?: Address; data: Hex },
): Promise<{ hash: Hex; contractAddress: Address | null; status: string }> {
  const hash = (await provider.request({ method: "eth_sendTransaction", params: [tx] })) as Hex;
  await provider.request({ method: "evm_mine", params: [] });
  const receipt = (await provider.request({ method: "eth_getTransactionReceipt", params: [hash] })) as {
    contractAddress: Address | null;
    status: string;
  } | null;
  if (receipt?.status !== "0x1") throw new Error(`transaction ${hash} from ${tx.from} ${receipt ? "reverted" : "was not mined"}`);
  return { hash, contractAddress: receipt.contractAddress, status: receipt.status };
}

/**
 * Deploys a contract (by `from`, on the rehearsal chain) and returns its address. Used for what really lives at an
 * address of its own on BSC, such as a Chainlink aggregator.
 */
export async function deployContract(
  provider: EthereumProvider,
  { from, abi, bytecode, args }: { from: Address; abi: Abi; bytecode: Hex; args: readonly unknown[] },
): Promise<{ address: Address; hash: Hex }> {
  const { hash, contractAddress } = await sendAndMine(provider, { from, data: encodeDeployData({ abi, bytecode, args }) });
  if (!contractAddress) throw new Error(`the deployment ${hash} created no contract`);
  return { address: getAddress(contractAddress), hash };
}

/**
 * Puts a contract at a fixed address as if it had been deployed there: deploys it anywhere, then copies its runtime
 * code and every storage slot its constructor wrote (the SSTOREs of the deployment's trace, values as they ended)
 * to `at` with hardhat_setCode and hardhat_setStorageAt, and empties the instance. Immutables are part of the
 * runtime code, so they come along: an immutable set to msg.sender names `from`.
 */
export async function placeContract(
  provider: EthereumProvider,
  contract: { from: Address; abi: Abi; bytecode: Hex; args: readonly unknown[] },
  at: Address,
): Promise<void> {
  const { address: instance, hash } = await deployContract(provider, contract);
  const trace = (await provider.request({ method: "debug_traceTransaction", params: [hash, { disableMemory: true, disableStorage: true }] })) as {
    structLogs: StructLog[];
  };
  const slots = new Set<Hex>();
  for (const log of trace.structLogs) {
    // At depth 1 the constructor writes its own storage; the key is the top of the stack (the stack's last entry).
    if (log.op !== "SSTORE" || log.depth !== 1 || !log.stack?.length) continue;
    slots.add(`0x${log.stack[log.stack.length - 1].padStart(64, "0")}`);
  }
  const code = (await provider.request({ method: "eth_getCode", params: [instance, "latest"] })) as Hex;
  await provider.request({ method: "hardhat_setCode", params: [at, code] });
  for (const slot of slots) {
    const value = (await provider.request({ method: "eth_getStorageAt", params: [instance, slot, "latest"] })) as Hex;
    await provider.request({ method: "hardhat_setStorageAt", params: [at, slot, value] });
  }
  await provider.request({ method: "hardhat_setCode", params: [instance, "0x"] });
}
