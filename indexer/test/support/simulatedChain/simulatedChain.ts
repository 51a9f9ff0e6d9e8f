import type { Address, Hex } from "viem";
import { DEFAULT_MAX_TTL, emptyEscrowState, escrowConfig, type EscrowConfig, type EscrowState } from "./modelEscrow";
import { buildBlock, transactionHash, type ChainTransaction, type Senders, type SimulatedBlock } from "./simulatedBlock";
import { ServedView, type ViewOptions } from "./viewServer";

/**
 * A deterministic EVM chain made by a test: a tree of blocks carrying the model escrow's transactions, with a
 * canonical head that `mine` extends and `reorg` replaces, served over real JSON-RPC (`serve`) through views that
 * may lag, hide logs or misbehave. It stands in for BSC in property tests of the indexer: the same calls give the
 * same chain, hashes and answers, run after run.
 *
 *   const chain = SimulatedChain.create({ chainId: 56, escrow, tokens: [usdt], prices: new Map([[usdt, 10n ** 18n]]), genesisTimestamp });
 *   const intent = { …terms, acceptedTokens: acceptedMask(chain.model.tokenIndexes, [usdt]), depositAddress };
 *   chain.mine([{ kind: "pay", intent, payer, token: usdt, amount }]);
 *   const healthy = await chain.serve();
 *   const lagging = await chain.serve({ lag: 3, seed: 7, faults: { logsByHash: { kind: "subset", probability: 0.2 } } });
 *   const { orphaned } = chain.reorg(2, [{ txs: [] }, { txs: [] }, { txs: [] }]);
 *   lagging.setFaults({ logsByRange: { kind: "other-branch", times: 1 } });
 *   // RPC_URLS = [healthy.url, lagging.url]; … await chain.close();
 */

export interface ChainOptions {
  chainId: number;
  escrow: Address;
  /** The ERC-20 tokens that exist (their `balanceOf` answers; a balance read of another address reverts). */
  tokens: readonly Address[];
  /** USD per whole token, 18 decimals, of each token the escrow allows; BNB (the zero address) needs one too. */
  prices: ReadonlyMap<Address, bigint>;
  /**
   * Each allowed token's index in the escrow (`tokenAt`, from 1): its bit in an intent's `acceptedTokens`. By
   * default the order of `prices`: 1, 2, 3…
   */
  tokenIndexes?: ReadonlyMap<Address, number>;
  /** Each token's tolerance; 100 (1%, the escrow's default) for a token not named. */
  toleranceBps?: ReadonlyMap<Address, number>;
  /** `LATE_COLLECT_WINDOW`; 3,600 seconds by default. */
  lateCollectWindow?: bigint;
  /** The longest time to live of a payment at its first deposit (`maxTtlHours`), seconds; 24 hours by default. */
  maxTtl?: bigint;
  /** Block 0's timestamp (Unix seconds). */
  genesisTimestamp: bigint;
  /** Seconds between blocks unless `mine` says otherwise; 3 by default. */
  blockTime?: bigint;
  /**
   * The `finalized` (and `safe`) tag: the block this many below the head, never moving back. Without it the tags
   * answer geth's "finalized block not found" error, as a chain without finality does.
   */
  finalizedDepth?: number;
  /** The keeper's address (sender of operator actions). */
  operator?: Address;
}

/** One new block of a reorganisation's branch. */
export interface BranchBlock {
  txs: readonly ChainTransaction[];
  timestamp?: bigint;
}

export interface Reorganisation {
  /** The last block both branches share. */
  ancestor: SimulatedBlock;
  /** The blocks that left the canonical chain, oldest first (still served by hash and by branch views). */
  orphaned: SimulatedBlock[];
  /** The new canonical blocks, oldest first. */
  added: SimulatedBlock[];
}

const DEFAULT_SENDERS = {
  operator: "0x0000000000000000000000000000000000000b0b",
  anyone: "0x000000000000000000000000000000000000a11c",
  faucet: "0x00000000000000000000000000000000000fa0c7",
} as const satisfies Senders;

export class SimulatedChain {
  readonly chainId: number;
  readonly escrow: Address;
  /** The ERC-20 tokens, lowercase. */
  readonly tokens: ReadonlySet<Address>;
  readonly model: EscrowConfig;
  readonly finalizedDepth: number | undefined;
  readonly blockTime: bigint;
  private readonly senders: Senders;
  private readonly canonical: SimulatedBlock[] = [];
  private readonly byHash = new Map<Hex, SimulatedBlock>();
  /** Blocks that include each transaction, in every branch. */
  private readonly byTransaction = new Map<Hex, SimulatedBlock[]>();
  private readonly orphanedTips: SimulatedBlock[] = [];
  private readonly views = new Set<ServedView>();
  private branches = 0;
  private transactionSerial = 0;
  private finalizedNumber = -1;

  private constructor(options: ChainOptions) {
    this.chainId = options.chainId;
    this.escrow = options.escrow.toLowerCase() as Address;
    this.tokens = new Set(options.tokens.map((token) => token.toLowerCase() as Address));
    this.model = escrowConfig({
      escrow: options.escrow,
      prices: options.prices,
      tokenIndexes: options.tokenIndexes ?? new Map([...options.prices.keys()].map((token, i) => [token, i + 1])),
      toleranceBps: new Map([...(options.toleranceBps ?? [])].map(([token, bps]) => [token, BigInt(bps)])),
      lateCollectWindow: options.lateCollectWindow ?? 3600n,
      maxTtl: options.maxTtl ?? DEFAULT_MAX_TTL,
    });
    this.finalizedDepth = options.finalizedDepth;
    this.blockTime = options.blockTime ?? 3n;
    this.senders = { ...DEFAULT_SENDERS, ...(options.operator ? { operator: options.operator } : {}) };
    this.append(this.build(undefined, [], options.genesisTimestamp, 0));
  }

  /** A chain with its genesis block (number 0, no transactions, empty state). */
  static create(options: ChainOptions): SimulatedChain {
    return new SimulatedChain(options);
  }

  get head(): SimulatedBlock {
    return this.canonical[this.canonical.length - 1];
  }

  /** The canonical block at `number`. */
  block(number: number): SimulatedBlock | undefined {
    return this.canonical[number];
  }

  /** Any block ever made, canonical or orphaned. */
  blockByHash(hash: Hex): SimulatedBlock | undefined {
    return this.byHash.get(hash.toLowerCase() as Hex);
  }

  /** The canonical chain's finalized block number, or undefined without finality (or before the depth is reached). */
  get finalized(): number | undefined {
    return this.finalizedNumber < 0 ? undefined : this.finalizedNumber;
  }

  /** Tips of the branches reorganisations orphaned, oldest first. */
  get orphanedBranches(): readonly SimulatedBlock[] {
    return this.orphanedTips;
  }

  isCanonical(block: SimulatedBlock): boolean {
    return this.canonical[block.number] === block;
  }

  /** The block at `number` in the branch ending at `tip` (its ancestor, or itself), if the branch is that long. */
  ancestorAt(tip: SimulatedBlock, number: number): SimulatedBlock | undefined {
    if (number > tip.number || number < 0) return undefined;
    let block = tip;
    // An orphaned branch is short: walk down to where it joins the canonical chain, which is indexed by number.
    while (block.number > number && !this.isCanonical(block)) block = this.byHash.get(block.parentHash)!;
    return block.number === number ? block : this.canonical[number];
  }

  /** Blocks that included a transaction, in every branch. */
  blocksWithTransaction(hash: Hex): readonly SimulatedBlock[] {
    return this.byTransaction.get(hash.toLowerCase() as Hex) ?? [];
  }

  /** The model's state after a block (canonical or orphaned). */
  stateAt(hash: Hex): EscrowState {
    const block = this.blockByHash(hash);
    if (!block) throw new Error(`no block ${hash}`);
    return block.state;
  }

  /** Mines a block of `txs` on the canonical head, `blockTime` after it unless `timestamp` says when. */
  mine(txs: readonly ChainTransaction[] = [], options: { timestamp?: bigint } = {}): SimulatedBlock {
    const head = this.head;
    const block = this.build(head, txs, options.timestamp ?? head.timestamp + this.blockTime, head.branch);
    this.append(block);
    return block;
  }

  /** Mines `count` empty blocks. */
  mineEmpty(count: number): SimulatedBlock {
    for (let i = 0; i < count; i++) this.mine();
    return this.head;
  }

  /**
   * Replaces the last `depth` canonical blocks with `branch` (at least one block; as many, more or fewer). The new
   * blocks get a new branch salt, so equal content still hashes differently; the orphaned ones stay servable.
   * A reorganisation below the finalized block is refused unless `beyondFinality` asks for one.
   */
  reorg(depth: number, branch: readonly BranchBlock[], options: { beyondFinality?: boolean } = {}): Reorganisation {
    const head = this.head;
    if (!Number.isInteger(depth) || depth < 1 || depth > head.number) throw new Error(`reorg: depth ${depth} is not within 1..${head.number}`);
    if (branch.length === 0) throw new Error("reorg: the new branch needs at least one block");
    const ancestor = this.canonical[head.number - depth];
    if (this.finalizedNumber > ancestor.number && !options.beyondFinality) {
      throw new Error(`reorg: depth ${depth} would replace finalized block ${this.finalizedNumber}`);
    }
    const orphaned = this.canonical.splice(ancestor.number + 1);
    this.orphanedTips.push(head);
    const salt = ++this.branches;
    const added: SimulatedBlock[] = [];
    let parent = ancestor;
    for (const { txs, timestamp } of branch) {
      const block = this.build(parent, txs, timestamp ?? parent.timestamp + this.blockTime, salt);
      this.append(block);
      added.push(block);
      parent = block;
    }
    return { ancestor, orphaned, added };
  }

  /** Serves the chain over JSON-RPC on 127.0.0.1 through a view (healthy by default). */
  async serve(options: ViewOptions = {}): Promise<ServedView> {
    const view = await ServedView.start(this, options);
    this.views.add(view);
    view.onClose(() => this.views.delete(view));
    return view;
  }

  /** Closes every view still served. */
  async close(): Promise<void> {
    await Promise.all([...this.views].map((view) => view.close()));
  }

  private build(parent: SimulatedBlock | undefined, txs: readonly ChainTransaction[], timestamp: bigint, branch: number): SimulatedBlock {
    if (parent && timestamp <= parent.timestamp)
      throw new Error(`block ${parent.number + 1}: timestamp ${timestamp} is not after its parent's ${parent.timestamp}`);
    return buildBlock({
      parent,
      number: parent ? parent.number + 1 : 0,
      timestamp,
      branch,
      transactions: txs.map((transaction) => ({
        transaction,
        hash: (transaction.hash ?? transactionHash(this.chainId, ++this.transactionSerial, transaction)).toLowerCase() as Hex,
      })),
      config: this.model,
      senders: this.senders,
      state: parent?.state ?? emptyEscrowState(),
    });
  }

  private append(block: SimulatedBlock): void {
    this.canonical.push(block);
    this.byHash.set(block.hash, block);
    for (const transaction of block.transactions) {
      const blocks = this.byTransaction.get(transaction.hash);
      if (blocks) blocks.push(block);
      else this.byTransaction.set(transaction.hash, [block]);
    }
    if (this.finalizedDepth !== undefined) this.finalizedNumber = Math.max(this.finalizedNumber, block.number - this.finalizedDepth);
  }
}
