/** A reorganisation deeper than the confirmation depth: payments already reported paid may be gone. */
export class DeepReorgError extends Error {
  override name = "DeepReorgError";
  constructor(
    readonly atBlock: number,
    readonly depth: number,
    readonly limit: number,
  ) {
    super(
      `chain reorganisation at block ${atBlock} is ${depth === Infinity ? "deeper than the blocks kept" : `at least ${depth} blocks deep`}, ` +
        `beyond the confirmation depth of ${limit}: statuses already reported may be wrong. The indexer stopped; ` +
        "check the node, then rebuild from a checkpoint below the fork",
    );
  }
}

/**
 * The newest block both the indexer and the chain agree on, walking down from `from`: `kept(n)` is the hash the
 * indexer recorded for block n (undefined once forgotten), `onChain(n)` the chain's hash now. Throws DeepReorgError
 * when the fork is `limit` blocks or more below `tip` (the last block the indexer applied).
 */
export async function commonAncestor(
  from: number,
  tip: number,
  limit: number,
  kept: (n: number) => Promise<string | undefined>,
  onChain: (n: number) => Promise<string>,
): Promise<number> {
  for (let n = from; n >= 0; n--) {
    if (tip - n >= limit) throw new DeepReorgError(tip, tip - n, limit);
    const ours = await kept(n);
    if (ours === undefined) throw new DeepReorgError(tip, Infinity, limit);
    if (ours === (await onChain(n))) return n;
  }
  throw new DeepReorgError(tip, Infinity, limit);
}
