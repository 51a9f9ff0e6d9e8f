import type { BlockRecord } from "../chain/blockHeaders";

/**
 * The last block at or before `timestamp` among blocks 0..`upTo` (whose own timestamp is after it): a payment's
 * expiry block, where the indexer reads what its deposit address held. Blocks already at hand (`known`: the segment
 * being applied, the kept ones) answer first; the rest is a binary search over `timeOf`. Undefined when even block
 * `lowest` is after it.
 */
export async function lastBlockAtOrBefore(
  timestamp: bigint,
  { known, upTo, lowest, timeOf }: { known: readonly BlockRecord[]; upTo: number; lowest: number; timeOf: (number: number) => Promise<bigint> },
): Promise<number | undefined> {
  const sorted = [...known].sort((a, b) => a.number - b.number);
  for (let i = sorted.length - 1; i >= 0; i--) {
    const block = sorted[i];
    if (block.number > upTo || block.timestamp > timestamp) continue;
    // Known and at or before it: the answer if the next block is known to be after it.
    const next = sorted[i + 1];
    if (block.number === upTo || (next && next.number === block.number + 1 && next.timestamp > timestamp)) return block.number;
    break;
  }
  let before = lowest;
  if ((await timeOf(lowest)) > timestamp) return undefined;
  let after = upTo;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if ((await timeOf(middle)) <= timestamp) before = middle;
    else after = middle;
  }
  return before;
}
