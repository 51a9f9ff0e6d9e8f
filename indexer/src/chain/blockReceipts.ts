import type { Hex, Log, PublicClient } from "viem";
import { formatLog } from "viem";

/** Providers known not to serve eth_getBlockReceipts (Hardhat 2, older nodes): their receipts are asked one by one. */
const withoutBlockReceipts = new WeakSet<PublicClient>();

const isUnsupported = (error: unknown) =>
  /not supported|does not exist|not found|method not|unsupported/i.test(String((error as Error).message ?? error)) ||
  (error as { code?: number }).code === -32601;

interface RawReceipt {
  logs: Parameters<typeof formatLog>[0][];
  blockHash: Hex;
}

/**
 * Every log of a block, from its receipts: what the block holds whatever a provider's log index says. The indexer
 * asks for it only when a header's bloom leaves room for a log of the escrow, a watched payment or a watched deposit
 * address that `eth_getLogs` did not return.
 */
export async function blockLogsFromReceipts(client: PublicClient, blockHash: Hex): Promise<Log[]> {
  let receipts: RawReceipt[] | null = null;
  if (!withoutBlockReceipts.has(client)) {
    try {
      receipts = (await client.request({ method: "eth_getBlockReceipts" as never, params: [blockHash] as never })) as RawReceipt[] | null;
    } catch (error) {
      if (!isUnsupported(error)) throw error;
      withoutBlockReceipts.add(client);
    }
  }
  if (receipts === null) {
    const block = await client.getBlock({ blockHash, includeTransactions: false });
    receipts = (await Promise.all(
      block.transactions.map((hash) => client.request({ method: "eth_getTransactionReceipt", params: [hash] })),
    )) as unknown as RawReceipt[];
  }
  const logs: Log[] = [];
  for (const receipt of receipts) {
    if (!receipt) throw new Error(`a receipt of block ${blockHash} is missing`);
    if (receipt.blockHash !== blockHash) throw new Error(`a receipt of block ${blockHash} is of block ${receipt.blockHash}`);
    for (const log of receipt.logs) logs.push(formatLog(log));
  }
  return logs;
}
