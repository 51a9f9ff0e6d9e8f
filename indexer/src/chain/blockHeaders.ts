import type { PublicClient } from "viem";
import type { BlockRecord } from "../store/checkpointStore";

/** The header fields the indexer keeps of a block (by number, or the `finalized` tag). */
export async function fetchBlock(client: PublicClient, block: number | "finalized" | "latest"): Promise<BlockRecord> {
  const header =
    typeof block === "number"
      ? await client.getBlock({ blockNumber: BigInt(block), includeTransactions: false })
      : await client.getBlock({ blockTag: block, includeTransactions: false });
  if (header.number === null || header.hash === null) throw new Error(`block ${block} is still pending`);
  return { number: Number(header.number), hash: header.hash, parentHash: header.parentHash, timestamp: header.timestamp };
}
