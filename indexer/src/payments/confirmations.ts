/**
 * When a block counts as final for payments: after a fixed number of confirmations, when BSC's fast finality
 * marks it `finalized`, either of the two (whichever comes first) or both.
 */
export interface ConfirmationPolicy {
  /** Confirmations required (the block itself counts as one); 12 by default on BSC. */
  depth: number;
  /** How the depth and the `finalized` block tag combine. */
  mode: "depth" | "finalized" | "either" | "both";
}

export const DEFAULT_CONFIRMATION_POLICY: ConfirmationPolicy = { depth: 12, mode: "depth" };

/** Where the chain stands: its head and, when the node reports it, its latest finalized block. */
export interface ChainHead {
  number: number;
  finalized?: number;
}

/** Confirmations of a block at `head`: 1 when it is the head itself, 0 when it is not yet (or no longer) there. */
export function confirmationsOf(blockNumber: number, head: number): number {
  return head >= blockNumber ? head - blockNumber + 1 : 0;
}

/** Whether a block is final for payments under `policy`. */
export function isConfirmed(blockNumber: number, head: ChainHead, policy: ConfirmationPolicy): boolean {
  const deepEnough = confirmationsOf(blockNumber, head.number) >= policy.depth;
  const finalized = head.finalized !== undefined && head.finalized >= blockNumber;
  switch (policy.mode) {
    case "depth":
      return deepEnough;
    case "finalized":
      return finalized;
    case "either":
      return deepEnough || finalized;
    case "both":
      return deepEnough && finalized;
  }
}

/** The newest block that is final for payments at `head` under `policy` (-1 when none is). */
export function lastConfirmedBlock(head: ChainHead, policy: ConfirmationPolicy): number {
  const byDepth = head.number - policy.depth + 1;
  const byFinality = head.finalized ?? -1;
  switch (policy.mode) {
    case "depth":
      return byDepth;
    case "finalized":
      return byFinality;
    case "either":
      return Math.max(byDepth, byFinality);
    case "both":
      return Math.min(byDepth, byFinality);
  }
}

/** Checks a policy from configuration, naming the field that is wrong. */
export function confirmationPolicy(depth: number, mode: string): ConfirmationPolicy {
  if (!Number.isInteger(depth) || depth < 1 || depth > 1000) throw new Error(`confirmations: must be an integer 1..1000, got ${depth}`);
  if (!["depth", "finalized", "either", "both"].includes(mode)) {
    throw new Error(`finality: must be one of depth, finalized, either, both; got "${mode}"`);
  }
  return { depth, mode: mode as ConfirmationPolicy["mode"] };
}
