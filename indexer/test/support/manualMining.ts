import hre from "hardhat";
import { decodeErrorResult, decodeFunctionData, getAddress, keccak256, serializeTransaction, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../../src/chain/escrowAbi";

/**
 * The test chain with automine off: nothing is mined unless the test mines it, so that the keeper's transactions
 * land in the blocks the test chooses and confirmations and reorganisations are counted exactly. `evm_mine` one
 * block at a time (never `hardhat_mine` with a count: its blocks report zero parent hashes).
 */

const provider = () => hre.network.provider;

export async function setAutomine(on: boolean): Promise<void> {
  await provider().send("evm_setAutomine", [on]);
}

export async function headNumber(): Promise<number> {
  return Number(await provider().send("eth_blockNumber", []));
}

/** Mines `count` blocks one by one; returns the new head's number. */
export async function mineBlocks(count = 1): Promise<number> {
  for (let i = 0; i < count; i++) await provider().send("evm_mine", []);
  return headNumber();
}

export interface MinedTransaction {
  hash: Hex;
  blockNumber: number;
}

/**
 * Mines the block holding a transaction just sent (any pending transactions go in with it) and checks that it
 * succeeded.
 */
export async function mined(sent: Promise<{ hash: string }>): Promise<MinedTransaction> {
  const { hash } = await sent;
  await mineBlocks(1);
  const receipt = await hre.ethers.provider.getTransactionReceipt(hash);
  if (!receipt) throw new Error(`transaction ${hash} was not mined in the next block`);
  if (receipt.status !== 1) throw new Error(`transaction ${hash} reverted: ${await revertReason(hash as Hex)}`);
  return { hash: hash as Hex, blockNumber: receipt.blockNumber };
}

async function transactionCount(address: Address, tag: "latest" | "pending"): Promise<number> {
  return Number(await provider().send("eth_getTransactionCount", [address, tag]));
}

/** A call of the escrow the keeper made, decoded, with the block that holds it. */
export interface KeeperCall {
  hash: Hex;
  blockNumber: number;
  functionName: string;
  args: readonly unknown[];
}

/**
 * Waits until the keeper (the operator account) has `count` transactions waiting to be mined, mines them in one
 * block and returns them decoded; fails if any reverted. `until` is the gateway process's wait, which fails early
 * (with its last output) if the process exits.
 */
export async function mineKeeperCalls(
  operator: Address,
  until: (what: string, check: () => Promise<true | undefined>, options: { timeoutMs?: number; pollMs?: number }) => Promise<unknown>,
  { count = 1, what = "a keeper transaction" }: { count?: number; what?: string } = {},
): Promise<KeeperCall[]> {
  await until(what, async () => ((await transactionCount(operator, "pending")) - (await transactionCount(operator, "latest")) >= count ? true : undefined), {
    timeoutMs: 30_000,
    pollMs: 25,
  });
  const blockNumber = await mineBlocks(1);
  const block = await provider().send("eth_getBlockByNumber", [`0x${blockNumber.toString(16)}`, true]);
  const calls: KeeperCall[] = [];
  for (const tx of block.transactions as Array<{ hash: Hex; from: string; input: Hex }>) {
    if (getAddress(tx.from) !== getAddress(operator)) continue;
    const receipt = await provider().send("eth_getTransactionReceipt", [tx.hash]);
    const { functionName, args } = decodeFunctionData({ abi: openPayEscrowAbi, data: tx.input });
    if (receipt.status !== "0x1") throw new Error(`the keeper's ${functionName} (${tx.hash}) reverted: ${await revertReason(tx.hash)}`);
    calls.push({ hash: tx.hash, blockNumber, functionName, args: args ?? [] });
  }
  return calls;
}

async function revertReason(hash: Hex): Promise<string> {
  const tx = await provider().send("eth_getTransactionByHash", [hash]);
  try {
    // Replayed on the state before its block (close enough to say why it reverted).
    const parent = `0x${(Number(tx.blockNumber) - 1).toString(16)}`;
    await provider().send("eth_call", [{ from: tx.from, to: tx.to, data: tx.input, value: tx.value, gas: tx.gas }, parent]);
    return "unknown";
  } catch (error) {
    const data = (error as { data?: Hex | { data?: Hex } }).data;
    const hex = typeof data === "string" ? data : data?.data;
    if (!hex) return (error as Error).message;
    try {
      const decoded = decodeErrorResult({ abi: openPayEscrowAbi, data: hex });
      return `${decoded.errorName}(${(decoded.args ?? []).join(", ")})`;
    } catch {
      return hex;
    }
  }
}

/**
 * The signed bytes of a mined legacy transaction (as the keeper sends them), to broadcast again after a
 * reorganisation dropped its block, as a node puts a dropped block's transactions back into its pool.
 */
export async function rawLegacyTransaction(hash: Hex): Promise<Hex> {
  const tx = await provider().send("eth_getTransactionByHash", [hash]);
  if (tx.type !== "0x0") throw new Error(`transaction ${hash} is of type ${tx.type}, not legacy`);
  const raw = serializeTransaction(
    {
      type: "legacy",
      chainId: Number(tx.chainId),
      nonce: Number(tx.nonce),
      gasPrice: BigInt(tx.gasPrice),
      gas: BigInt(tx.gas),
      to: tx.to,
      value: BigInt(tx.value),
      data: tx.input,
    },
    { r: tx.r, s: tx.s, v: BigInt(tx.v) },
  );
  if (keccak256(raw) !== hash) throw new Error(`re-serialising ${hash} gave another transaction (${keccak256(raw)})`);
  return raw;
}

export async function sendRawTransaction(raw: Hex): Promise<Hex> {
  return (await provider().send("eth_sendRawTransaction", [raw])) as Hex;
}
