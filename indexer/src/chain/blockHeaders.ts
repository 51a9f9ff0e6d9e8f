import type { Hex, PublicClient } from "viem";
import { ProviderFault } from "./providerFault";

/** A block as the indexer keeps it: enough to find where a reorganisation forked. */
export interface BlockRecord {
  number: number;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
}

/** A block header as the indexer reads it: what it keeps, and the bloom it checks answers against. */
export interface BlockHeader extends BlockRecord {
  logsBloom: Hex;
}

/** The header of a block (by number, or the `finalized` / `latest` tag). */
export async function fetchBlock(client: PublicClient, block: number | "finalized" | "latest"): Promise<BlockHeader> {
  const header =
    typeof block === "number"
      ? await client.getBlock({ blockNumber: BigInt(block), includeTransactions: false })
      : await client.getBlock({ blockTag: block, includeTransactions: false });
  if (header.number === null || header.hash === null) throw new Error(`block ${block} is still pending`);
  if (typeof block === "number" && Number(header.number) !== block) throw new ProviderFault("unknown_block", `asked for block ${block}, got ${header.number}`);
  return {
    number: Number(header.number),
    hash: header.hash,
    parentHash: header.parentHash,
    timestamp: header.timestamp,
    logsBloom: header.logsBloom ?? ("0x" as Hex),
  };
}

/**
 * The headers of blocks `from` to `to`, asked for together (one JSON-RPC batch per hundred), checked to link by
 * parent hash: a provider answering from two branches at once gives a `broken_chain` fault, never a mixed range.
 */
export async function fetchHeaders(client: PublicClient, from: number, to: number): Promise<BlockHeader[]> {
  const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const headers = await Promise.all(
    numbers.map(async (number) => {
      try {
        return await fetchBlock(client, number);
      } catch (error) {
        // viem says "Block could not be found" for a null answer: the provider does not know a block it counted.
        if ((error as Error).name === "BlockNotFoundError") throw new ProviderFault("unknown_block", `the provider does not know block ${number}`);
        throw error;
      }
    }),
  );
  for (let i = 1; i < headers.length; i++) {
    if (headers[i].parentHash !== headers[i - 1].hash) {
      throw new ProviderFault(
        "broken_chain",
        `block ${headers[i].number}'s parent ${headers[i].parentHash} is not block ${headers[i - 1].number} (${headers[i - 1].hash})`,
      );
    }
  }
  return headers;
}
