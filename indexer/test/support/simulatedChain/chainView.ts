import type { Hex } from "viem";
import { seededRandom } from "../faultyRpcProxy";
import { logMatches, type LogFilter } from "./logFilter";
import { logsJson, type LogJson } from "./rpcFormatting";
import type { SimulatedBlock } from "./simulatedBlock";
import type { SimulatedChain } from "./simulatedChain";

/**
 * What one provider sees of a simulated chain: which branch its headers and its logs come from, how far behind the
 * chain it is, and which log answers it gets wrong. Everything it decides at random comes from its seeded generator,
 * so the same seed and the same calls give the same answers.
 */

/** A branch: the canonical chain as it is now, or the branch that ends at a block (an orphaned tip). */
export type BranchChoice = "canonical" | Hex;

/** How a view's chain is made. Every field can be changed while the view is served. */
export interface ViewShape {
  /** Whose headers the view serves (blocks by number, `latest`, receipts by number). Canonical by default. */
  headers?: BranchChoice;
  /**
   * Whose logs `eth_getLogs` answers with: at each height, the logs of that branch's block there, with that
   * block's hash (headers of one branch, logs of another). By default each block's own logs.
   */
  logs?: BranchChoice;
  /** Blocks the view's head is behind its headers' tip: the newer blocks are unknown to it. */
  lag?: number;
  /** The newest blocks (below the view's head) whose logs the view's log index does not have yet: eth_getLogs answers none for them. */
  logLag?: number;
}

/** A wrong `eth_getLogs` answer. */
export interface LogFault {
  /**
   * `nothing`: an empty array. `subset`: each log kept with chance one half (seeded). `other-branch`: the logs an
   * orphaned branch (`branch`, by default the latest orphaned) had at those heights, with its block hashes; where
   * no branch was orphaned yet, the answer is left alone.
   */
  kind: "nothing" | "subset" | "other-branch";
  branch?: Hex;
  /** Chance per call, drawn from the view's generator; 1 (every call) by default. */
  probability?: number;
  /** Only the next `times` calls it applies to; every call by default. */
  times?: number;
}

/** A method that fails: a JSON-RPC error for its calls, or HTTP 503 for the requests that carry it. */
export interface Failure {
  /** The methods that fail; all when absent. */
  methods?: readonly string[];
  answer: "rpc-error" | "http-503";
  /** Only the next `times` matching calls (requests, for HTTP 503); every one by default. */
  times?: number;
  /** Chance per matching call, drawn from the view's generator; 1 by default. */
  probability?: number;
  /** The JSON-RPC error; geth's -32000 "internal error" by default. */
  code?: number;
  message?: string;
}

export interface ViewFaults {
  /** `eth_getLogs` by block range. */
  logsByRange?: LogFault;
  /** `eth_getLogs` by `blockHash`. */
  logsByHash?: LogFault;
  failures?: readonly Failure[];
}

export interface ViewStats {
  /** HTTP requests received. */
  requests: number;
  /** JSON-RPC calls received (each call of a batch counts). */
  calls: number;
  batches: number;
  /** Calls per method, as received. */
  byMethod: Record<string, number>;
  /** Faults injected, by kind. */
  faults: { logsNothing: number; logsSubset: number; logsOtherBranch: number; rpcErrors: number; http503: number };
  /** eth_getLogs answers that the view's log lag left logs out of. */
  logLagged: number;
  /** eth_getLogs ranges whose end was above the view's head (clamped to it). */
  clampedLogRanges: number;
}

export const emptyViewStats = (): ViewStats => ({
  requests: 0,
  calls: 0,
  batches: 0,
  byMethod: {},
  faults: { logsNothing: 0, logsSubset: 0, logsOtherBranch: 0, rpcErrors: 0, http503: 0 },
  logLagged: 0,
  clampedLogRanges: 0,
});

/** A fault with what is left of its `times`. */
type Armed<T> = T & { left: number };

const arm = <T extends { times?: number }>(fault: T | undefined): Armed<T> | undefined =>
  fault === undefined ? undefined : { ...fault, left: fault.times ?? Number.POSITIVE_INFINITY };

export class ChainView {
  readonly stats: ViewStats = emptyViewStats();
  private shape: ViewShape;
  private readonly random: () => number;
  private logsByRange?: Armed<LogFault>;
  private logsByHash?: Armed<LogFault>;
  private failures: Armed<Failure>[] = [];

  constructor(
    readonly chain: SimulatedChain,
    shape: ViewShape,
    seed: number,
    faults: ViewFaults = {},
  ) {
    this.shape = {};
    this.configure(shape);
    this.random = seededRandom(seed);
    this.setFaults(faults);
  }

  /** Changes how the view's chain is made (the fields given; the others are kept). */
  configure(changes: ViewShape): void {
    for (const choice of [changes.headers, changes.logs]) if (choice !== undefined && choice !== "canonical") this.tip(choice);
    for (const [name, value] of [
      ["lag", changes.lag],
      ["logLag", changes.logLag],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new Error(`view: ${name} must be a whole number ≥ 0, not ${value}`);
    }
    this.shape = { ...this.shape, ...changes };
  }

  /** Replaces every fault (`{}` clears them); counters and the generator's position are kept. */
  setFaults(faults: ViewFaults): void {
    this.logsByRange = arm(faults.logsByRange);
    this.logsByHash = arm(faults.logsByHash);
    this.failures = (faults.failures ?? []).map((failure) => arm(failure)!);
  }

  private tip(choice: BranchChoice): SimulatedBlock {
    if (choice === "canonical") return this.chain.head;
    const block = this.chain.blockByHash(choice);
    if (!block) throw new Error(`view: no block ${choice} to follow`);
    return block;
  }

  /** The view's newest block. */
  get head(): SimulatedBlock {
    const tip = this.tip(this.shape.headers ?? "canonical");
    return this.chain.ancestorAt(tip, Math.max(0, tip.number - (this.shape.lag ?? 0)))!;
  }

  /** The view's block at `number`, if it has one. */
  blockAt(number: number): SimulatedBlock | undefined {
    return this.chain.ancestorAt(this.head, number);
  }

  /** A block by hash, if the view has seen it: any branch's block up to the view's height (a node keeps side blocks). */
  blockByHash(hash: Hex): SimulatedBlock | undefined {
    const block = this.chain.blockByHash(hash);
    return block && block.number <= this.head.number ? block : undefined;
  }

  /** Whether `block` is on the view's chain (what `requireCanonical` asks). */
  isOnChain(block: SimulatedBlock): boolean {
    return this.blockAt(block.number) === block;
  }

  /** The `finalized` block's number: the chain's, unless the view has not reached it. */
  get finalized(): number | undefined {
    const finalized = this.chain.finalized;
    return finalized === undefined ? undefined : Math.min(finalized, this.head.number);
  }

  /** The failure for a call of `method`, if one fires (its `times` then counts down). */
  failureFor(method: string, answer: Failure["answer"]): Failure | undefined {
    for (const failure of this.failures) {
      if (failure.answer !== answer || failure.left <= 0) continue;
      if (failure.methods && !failure.methods.includes(method)) continue;
      if ((failure.probability ?? 1) < 1 && this.random() >= failure.probability!) continue;
      failure.left -= 1;
      return failure;
    }
    return undefined;
  }

  /** The log fault for the next call, if one fires. */
  private logFault(which: "range" | "hash"): LogFault | undefined {
    const fault = which === "range" ? this.logsByRange : this.logsByHash;
    if (!fault || fault.left <= 0) return undefined;
    if ((fault.probability ?? 1) < 1 && this.random() >= fault.probability!) return undefined;
    if (fault.kind === "other-branch" && fault.branch === undefined && this.chain.orphanedBranches.length === 0) return undefined;
    fault.left -= 1;
    return fault;
  }

  /** Where the logs at a height come from: the view's log branch, else the block the view's headers have there. */
  private logSource(fault: LogFault | undefined): ((number: number, block?: SimulatedBlock) => SimulatedBlock | undefined) | undefined {
    const branch =
      fault?.kind === "other-branch" ? (fault.branch ?? this.chain.orphanedBranches[this.chain.orphanedBranches.length - 1].hash) : this.shape.logs;
    if (branch === undefined) return undefined;
    const tip = this.tip(branch);
    return (number) => this.chain.ancestorAt(tip, number);
  }

  /** Logs the log index holds up to (inclusive). */
  private get indexedUpTo(): number {
    return this.head.number - (this.shape.logLag ?? 0);
  }

  /** `eth_getLogs` over `from..to` (resolved, `to` clamped to the view's head). */
  logsInRange(from: number, to: number, filter: LogFilter): LogJson[] {
    const fault = this.logFault("range");
    const source = this.logSource(fault);
    const last = Math.min(to, this.indexedUpTo);
    if (last < to) this.stats.logLagged += 1;
    const logs: LogJson[] = [];
    for (let number = from; number <= last; number++) {
      const block = source ? source(number) : this.blockAt(number);
      if (block) this.collect(block, filter, logs);
    }
    return this.spoil(logs, fault);
  }

  /** `eth_getLogs` by `blockHash`, of a block the view knows. */
  logsOfBlock(block: SimulatedBlock, filter: LogFilter): LogJson[] {
    const fault = this.logFault("hash");
    const source = this.logSource(fault);
    const logs: LogJson[] = [];
    if (block.number > this.indexedUpTo) this.stats.logLagged += 1;
    else {
      const from = source ? source(block.number) : block;
      if (from) this.collect(from, filter, logs);
    }
    return this.spoil(logs, fault);
  }

  private collect(block: SimulatedBlock, filter: LogFilter, into: LogJson[]): void {
    const json = logsJson(block);
    block.logs.forEach((log, i) => {
      if (logMatches(log, filter)) into.push(json[i]);
    });
  }

  /** Applies a fault that removes logs, and counts every fault applied. */
  private spoil(logs: LogJson[], fault: LogFault | undefined): LogJson[] {
    switch (fault?.kind) {
      case undefined:
        return logs;
      case "other-branch":
        this.stats.faults.logsOtherBranch += 1;
        return logs;
      case "nothing":
        this.stats.faults.logsNothing += 1;
        return [];
      case "subset":
        this.stats.faults.logsSubset += 1;
        return logs.filter(() => this.random() < 0.5);
    }
  }
}
