import type { Hex } from "viem";

/**
 * The lifecycle of one keeper transaction, as data (docs/indexer.md, "The keeper"): `nextStep` says what to do next
 * from where the transaction stands and what the chain shows; the keeper observes, asks, and performs.
 *
 * - `planned`: claimed with a nonce, nothing signed yet;
 * - `sent`: signed, recorded, then broadcast (or a dropped one broadcast again, or repriced);
 * - `mined`: a receipt, not final yet (a reorganisation may still take it);
 * - `cancelling`: dropped by the chain and no longer wanted: a no-op to the operator account takes its nonce;
 * - `done`, `failed`: its receipt is final, the call succeeded or reverted.
 *
 * The outcomes of a replacement are named as viem's `waitForTransactionReceipt` names them: `repriced` (the same
 * call mined under another attempt at a higher gas price), `cancelled` (a no-op took the nonce), `replaced` (some
 * other transaction took it).
 */
export const TRANSACTION_STATES = ["planned", "sent", "mined", "cancelling", "done", "failed"] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

/** A transaction claimed but never signed: nothing went out (the keeper records before it broadcasts). */
export interface PlannedTransaction {
  status: "planned";
  nonce: number;
}

/** What every signed transaction carries: what was sent, every attempt, and where its receipt was last seen. */
interface Signed {
  nonce: number;
  /** The latest attempt, or the one mined (the no-op once it is mined). */
  txHash: Hex;
  /** The latest attempt's gas price: a replacement pays more. */
  gasPrice: bigint;
  /** Signed attempts, the call's and the no-op's: replacements stop at the policy's limit. */
  attempts: number;
  /** When it last changed: how long it has waited. */
  updatedAt: Date;
  /** The escrow call: the same again when repriced. */
  calldata: Hex;
  /** The latest attempt's signed bytes, to broadcast again. */
  rawTx: Hex;
  /** Every attempt's hash (the call's, not the no-op's), oldest first. */
  txHashes: readonly Hex[];
  /** The block its receipt was seen in, until final. */
  minedBlock: number | null;
}

/**
 * A transaction signed and recorded. `cancelTx` is the signed no-op taking the nonce, once the call was dropped and
 * no longer wanted: a cancelling transaction always has one, and keeps it if the call is mined after all.
 */
export type SignedTransaction =
  | (Signed & { status: "sent" | "mined" | "done" | "failed"; cancelTx: Hex | null })
  | (Signed & { status: "cancelling"; cancelTx: Hex });

export type KeeperTransaction = PlannedTransaction | SignedTransaction;

/** What the keeper may be refused while performing a step this round. */
export type Refusal = "rebroadcast" | "reprice";

/** What the keeper saw of a transaction this round. */
export interface Observed {
  /** The newest receipt among the no-op's and the call's attempts (the no-op's first); null when none is mined. */
  receipt: { hash: Hex; block: number; reverted: boolean; of: "call" | "noop" } | null;
  /** Whether the node knows the latest attempt (mined, or waiting in its pool). */
  known: boolean;
  /** Whether this round's plan, from what the chain says now, still asks for the call. */
  wanted: boolean;
  head: number;
  /** Nonces of the operator account mined at the head, and at the deepest final block (null: no block is final). */
  minedNonce: number;
  finalNonce: number | null;
  now: Date;
  /**
   * What was refused while performing this round: the same signed bytes again (`rebroadcast`: the node refuses
   * them, e.g. priced too low now), the call at a higher price (`reprice`: the escrow refuses the call now, e.g. its
   * deposits are paused, or the node the replacement).
   */
  refused: ReadonlySet<Refusal>;
}

export interface LifecyclePolicy {
  /** Blocks after which a receipt is final (the indexer's confirmations). */
  finalityDepth: number;
  /** How long a transaction waits unmined, or unknown to the node, before it is replaced or sent again. */
  stuckAfterMs: number;
  /** Signed attempts after which a stuck transaction is left to wait. */
  maxAttempts: number;
}

/**
 * What to do next. Every step but `wait` is performed; after `reorganised`, or a refused `rebroadcast` or
 * `reprice`, the keeper asks again (with the transaction as recorded, or the refusal observed).
 */
export type Step =
  | { kind: "wait" }
  /** Delete the claim: no attempt of the call can be mined any more, so the action is planned again from the chain. */
  | { kind: "release"; outcome: "never_sent" | "cancelled" | "replaced" }
  /** Record a receipt of the call: `mined` until it is final, then `done` or `failed`. */
  | { kind: "record_receipt"; status: "mined" | "done" | "failed"; hash: Hex; block: number; reverted: boolean; repriced: boolean }
  /** Record the no-op's receipt, not final yet: the call can no longer be mined. */
  | { kind: "record_noop_receipt"; hash: Hex; block: number }
  /** Record that the block its receipt was in is gone: unmined again. */
  | { kind: "reorganised"; status: "sent" | "cancelling" }
  /** Broadcast the same signed bytes again, the call's or the no-op's. */
  | { kind: "rebroadcast"; raw: Hex; status: "sent" | "cancelling" }
  /** The same call with the same nonce at a higher gas price. */
  | { kind: "reprice"; calldata: Hex; nonce: number; gasPrice: bigint }
  /** A no-op with the same nonce at a higher gas price takes the nonce. */
  | { kind: "cancel"; nonce: number; gasPrice: bigint };

const WAIT: Step = { kind: "wait" };

const sameHash = (a: Hex, b: Hex | undefined) => b !== undefined && a.toLowerCase() === b.toLowerCase();

/** The deepest block whose contents the keeper takes as final at `head` (negative while the chain is shorter). */
export const deepestFinalBlock = (head: number, policy: Pick<LifecyclePolicy, "finalityDepth">) => head - policy.finalityDepth + 1;

/** The next step of a keeper transaction, from where it stands and what was observed. */
export function nextStep(transaction: KeeperTransaction, observed: Observed, policy: LifecyclePolicy): Step {
  if (transaction.status === "planned") return { kind: "release", outcome: "never_sent" };
  if (transaction.status === "done" || transaction.status === "failed") return WAIT;
  const { receipt } = observed;
  if (receipt) {
    const final = receipt.block <= deepestFinalBlock(observed.head, policy);
    if (receipt.of === "noop") {
      // Once that is final, the claim goes and the action is planned again from what the chain says then.
      if (final) return { kind: "release", outcome: "cancelled" };
      return transaction.minedBlock === receipt.block ? WAIT : { kind: "record_noop_receipt", hash: receipt.hash, block: receipt.block };
    }
    const status = !final ? "mined" : receipt.reverted ? "failed" : "done";
    if (status === transaction.status && transaction.minedBlock === receipt.block && sameHash(receipt.hash, transaction.txHash)) return WAIT;
    return {
      kind: "record_receipt",
      status,
      hash: receipt.hash,
      block: receipt.block,
      reverted: receipt.reverted,
      repriced: !sameHash(receipt.hash, transaction.txHashes[0]),
    };
  }
  // It was mined, and its block is no longer in the chain: until the node puts it back in its pool (or it waited
  // past the limit), the payment gets no other action.
  if (transaction.minedBlock !== null) return { kind: "reorganised", status: transaction.status === "cancelling" ? "cancelling" : "sent" };
  if (transaction.nonce < observed.minedNonce) {
    // The nonce went to a transaction that is none of this call's attempts: once that is final, the call can
    // never be mined, and planning again from what the chain says is safe.
    return observed.finalNonce !== null && transaction.nonce < observed.finalNonce ? { kind: "release", outcome: "replaced" } : WAIT;
  }
  if (observed.now.getTime() - transaction.updatedAt.getTime() < policy.stuckAfterMs) return WAIT;

  const cancelling = transaction.status === "cancelling";
  const canReplace = transaction.attempts < policy.maxAttempts;
  const cancel: Step = { kind: "cancel", nonce: transaction.nonce, gasPrice: transaction.gasPrice };
  const reprice: Step = { kind: "reprice", calldata: transaction.calldata, nonce: transaction.nonce, gasPrice: transaction.gasPrice };
  if (observed.known) {
    // Waiting in the pool past the limit: the same transaction again at a higher gas price.
    if (!canReplace) return WAIT;
    if (cancelling) return cancel;
    return observed.refused.has("reprice") ? WAIT : reprice;
  }
  // Neither mined nor known to the node, its nonce unused: dropped (a reorganisation took its block and no node put
  // it back, or the pool evicted it). Every later transaction of the account waits for this nonce.
  if (cancelling) {
    if (!observed.refused.has("rebroadcast")) return { kind: "rebroadcast", raw: transaction.cancelTx, status: "cancelling" };
    return canReplace ? cancel : WAIT;
  }
  if (observed.wanted) {
    // Still what the chain's state asks for: the same signed transaction again, or, refused, the same call at a
    // higher price.
    if (!observed.refused.has("rebroadcast")) return { kind: "rebroadcast", raw: transaction.rawTx, status: "sent" };
    if (canReplace && !observed.refused.has("reprice")) return reprice;
  }
  // No longer wanted (the state it answered is gone), or refused however sent: a no-op takes the nonce, at a higher
  // gas price in case the call is still in some node's pool. The claim goes only once the no-op is final.
  return cancel;
}
