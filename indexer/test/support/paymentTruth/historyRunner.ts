import { keccak256, stringToHex, type Hex } from "viem";
import type { Indexer } from "../../../src/indexing/indexer";
import { recordOffChainEvent } from "../../../src/ledger/offChainEvents";
import type { MachineSettings } from "../../../src/payments/statusMachine";
import { readCheckpoint } from "../../../src/store/checkpointStore";
import type { Db } from "../../../src/store/paymentStore";
import { seededRandom } from "../faultyRpcProxy";
import { registerIntent } from "../intentRegistration";
import { applyAction, type EscrowState } from "../simulatedChain/modelEscrow";
import type { ChainTransaction, SimulatedBlock } from "../simulatedChain/simulatedBlock";
import type { SimulatedChain } from "../simulatedChain/simulatedChain";
import type { FaultChoice, History, HistoryStep } from "./histories";
import { planSteps, type PlanStep } from "./paymentPlans";
import { decide, isKeeperTransaction, type PaymentSetup, type TokenBook } from "./planActions";

/** The chain a history is played on. Its `model` is the chain itself (simulated) or a shadow of it (Hardhat). */
export interface TruthChain {
  readonly model: SimulatedChain;
  /** The chain's number of the model's block 0 (0 for a simulated chain): checkpoints count from the chain's. */
  readonly base: number;
  /** Mines one block of `transactions`, in that order, at `timestamp` on the head. */
  mine(transactions: readonly ChainTransaction[], timestamp: bigint): Promise<void>;
  /** Replaces the last `depth` blocks with a block of `transactions` at `timestamp`. */
  reorg(depth: number, transactions: readonly ChainTransaction[], timestamp: bigint): Promise<void>;
}

/** The indexer's JSON-RPC providers: a healthy one and one that misbehaves when told to. */
export interface TruthProviders {
  /** The URLs for an indexer starting now, the misbehaving one first when `faultyFirst`. */
  urls(faultyFirst: boolean): string[];
  fault(choice: FaultChoice): void;
  heal(): void;
}

export interface HistorySetup {
  history: History;
  chain: TruthChain;
  providers: TruthProviders;
  book: TokenBook;
  payments: readonly PaymentSetup[];
  db: Db;
  chainId: number;
  settings: MachineSettings;
  /** A new Indexer over `db` reading from `urls`. */
  indexer(urls: string[]): Indexer;
}

/** A checkout opened during the history, with the indexer's checkpoint then (where a rebuild replays it; the chain's numbering). */
export interface CheckoutRecord {
  payment: number;
  checkpoint: number | null;
}

export interface HistoryOutcome {
  checkouts: CheckoutRecord[];
  /**
   * Payments a reorganisation touched after the indexer had seen them: a transaction of theirs in an orphaned block it
   * had applied, or a checkout recorded at an orphaned block.
   */
  reorganised: Set<number>;
}

/** Steps an indexer until it says it is at its provider's head. */
export async function catchUp(indexer: Indexer, limit = 2_000): Promise<void> {
  for (let steps = 0; steps < limit; steps++) if ((await indexer.step()) === "idle") return;
  throw new Error(`the indexer did not catch up in ${limit} steps`);
}

/** Registers every payment of a history, as the API does before the chain can see them. */
export async function registerPayments(db: Db, chainId: number, settings: MachineSettings, payments: readonly PaymentSetup[]): Promise<void> {
  for (const { intent, acceptedTokens } of payments) {
    await registerIntent(db, settings, { chainId, intent, acceptedTokens, signature: "0x00", depositAddress: intent.depositAddress });
  }
}

/** A payment's steps still to take: a step, or a customer's transaction to send again after a reorganisation dropped it. */
interface Pending {
  step: PlanStep;
  transaction?: ChainTransaction;
}

/**
 * Plays a history: the payments' steps in the blocks the schedule makes, reorganisations, indexer steps, restarts,
 * provider faults and checkouts; then heals the providers, lets every payment finish its script, mines until
 * everything can settle (past every expiry and late-collect window, and `depth` blocks more) and lets the indexer
 * catch up.
 */
export class HistoryRunner {
  private indexer: Indexer;
  private readonly queues: Pending[][];
  /** Each transaction made, by hash: whose it is and which step it took. */
  private readonly origins = new Map<Hex, { payment: number; step: PlanStep }>();
  private readonly checkouts: CheckoutRecord[] = [];
  private readonly reorganised = new Set<number>();
  private maxHead: number;
  private serial = 0;

  constructor(private readonly setup: HistorySetup) {
    this.indexer = setup.indexer(setup.providers.urls(setup.history.faultyFirst));
    this.queues = setup.payments.map(({ plan }) => planSteps(plan).map((step) => ({ step })));
    this.maxHead = setup.chain.model.head.number;
  }

  private get model(): SimulatedChain {
    return this.setup.chain.model;
  }

  private get blockTime(): bigint {
    return this.model.blockTime;
  }

  private get window(): bigint {
    return BigInt(this.setup.history.lateCollectWindow);
  }

  async run(): Promise<HistoryOutcome> {
    for (const step of this.setup.history.steps) await this.perform(step);
    await this.finish();
    return { checkouts: this.checkouts, reorganised: this.reorganised };
  }

  private async perform(step: HistoryStep): Promise<void> {
    const { providers, payments } = this.setup;
    switch (step.kind) {
      case "block": {
        const parent = this.model.head;
        const timestamp = parent.timestamp + this.blockTime + BigInt(step.gap);
        await this.mine(
          this.assemble(
            parent,
            timestamp,
            step.payments.map((n) => ({ payment: n % payments.length })),
          ),
          timestamp,
        );
        return;
      }
      case "empty":
        for (let i = 0; i < step.count; i++) await this.mine([], this.model.head.timestamp + this.blockTime);
        return;
      case "reorg":
        return this.reorg(step);
      case "step":
        for (let i = 0; i < step.count; i++) await this.indexer.step();
        return;
      case "catchUp":
        return catchUp(this.indexer);
      case "restart":
        this.indexer = this.setup.indexer(providers.urls(step.faultyFirst));
        return;
      case "fault":
        providers.fault(step.fault);
        return;
      case "heal":
        providers.heal();
        return;
      case "checkout": {
        const payment = step.payment % payments.length;
        const { db, chainId, settings } = this.setup;
        const checkpoint = (await readCheckpoint(db, chainId))?.blockNumber ?? null;
        await recordOffChainEvent(db, chainId, settings, payments[payment].intent.paymentId, { kind: "checkout_opened" });
        this.checkouts.push({ payment, checkpoint });
        return;
      }
    }
  }

  private async mine(transactions: readonly ChainTransaction[], timestamp: bigint): Promise<void> {
    await this.setup.chain.mine(transactions, timestamp);
    this.maxHead = Math.max(this.maxHead, this.model.head.number);
  }

  /** The state at the last block at or before `expiry` on the branch ending at `parent`; undefined if `timestamp` is in time. */
  private stateAtExpiry(parent: SimulatedBlock, expiry: bigint, timestamp: bigint): EscrowState | undefined {
    if (timestamp <= expiry) return undefined;
    for (let n = parent.number; n >= 0; n--) {
      const block = this.model.ancestorAt(parent, n)!;
      if (block.timestamp <= expiry) return block.state;
    }
    return undefined;
  }

  private newTransaction(payment: number, step: PlanStep, transaction: ChainTransaction): ChainTransaction {
    const hash = keccak256(stringToHex(`payment truth ${this.setup.chainId}:${++this.serial}`));
    this.origins.set(hash, { payment, step });
    return { ...transaction, hash };
  }

  /**
   * The transactions of a block on `parent` at `timestamp`: each candidate is a payment's next step (taken from its
   * queue when its moment has come) or a transaction of an orphaned block to include again (a keeper's only if the
   * keeper would still send it; otherwise its step goes back to the payment's queue).
   */
  private assemble(parent: SimulatedBlock, timestamp: bigint, candidates: ReadonlyArray<{ payment: number; again?: ChainTransaction }>): ChainTransaction[] {
    const { book, payments } = this.setup;
    let state = parent.state;
    const included: ChainTransaction[] = [];
    const moment = (payment: number) => ({
      timestamp,
      state,
      atExpiry: this.stateAtExpiry(parent, payments[payment].intent.expiry, timestamp),
      lateCollectWindow: this.window,
    });
    for (const { payment, again } of candidates) {
      let transaction: ChainTransaction | undefined;
      if (again) {
        const origin = this.origins.get(again.hash!)!;
        if (!isKeeperTransaction(again) || typeof decide(book, payments[payment], origin.step, moment(payment)) === "object") transaction = again;
        else this.queues[payment].unshift({ step: origin.step });
      } else {
        transaction = this.next(payment, moment(payment));
      }
      if (!transaction) continue;
      const outcome = applyAction(this.model.model, state, transaction, timestamp);
      if (!outcome.reverted) state = outcome.state;
      included.push(transaction);
    }
    return included;
  }

  /** The payment's next transaction if its next step's moment has come (steps whose moment passed are dropped). */
  private next(payment: number, moment: Parameters<typeof decide>[3]): ChainTransaction | undefined {
    const queue = this.queues[payment];
    while (queue.length > 0) {
      const { step, transaction } = queue[0];
      if (transaction) {
        queue.shift();
        return transaction;
      }
      const decision = decide(this.setup.book, this.setup.payments[payment], step, moment);
      if (decision === "wait") return undefined;
      // A step taken again until it has nothing left to do stays at the front of the queue.
      if (decision === "drop" || !decision.repeat) queue.shift();
      if (decision !== "drop") return this.newTransaction(payment, step, decision.now);
    }
    return undefined;
  }

  /**
   * A reorganisation within depth − 1 of the highest head ever mined: the orphaned blocks' transactions are included
   * again re-ordered, some of them, or none; a customer's dropped transaction is sent again later, a keeper's step
   * is planned again.
   */
  private async reorg(step: Extract<HistoryStep, { kind: "reorg" }>): Promise<void> {
    const head = this.model.head;
    const depth = Math.min(step.depth, this.setup.history.depth - 1 - (this.maxHead - head.number));
    if (depth < 1) return;
    const ancestor = this.model.block(head.number - depth)!;
    const orphaned: ChainTransaction[] = [];
    for (let n = ancestor.number + 1; n <= head.number; n++) {
      for (const { action, hash } of this.model.block(n)!.transactions) orphaned.push({ ...action, hash } as ChainTransaction);
    }
    // Payments with transactions in orphaned blocks the indexer had applied, or a checkout recorded at an orphaned
    // block: what it announced of them may rightly differ from a reading of the final chain.
    const { base } = this.setup.chain;
    const applied = ((await readCheckpoint(this.setup.db, this.setup.chainId))?.blockNumber ?? -1) - base;
    for (let n = ancestor.number + 1; n <= Math.min(applied, head.number); n++) {
      for (const { hash } of this.model.block(n)!.transactions) this.reorganised.add(this.origins.get(hash)!.payment);
    }
    for (const { payment, checkpoint } of this.checkouts) if (checkpoint !== null && checkpoint - base > ancestor.number) this.reorganised.add(payment);
    const random = seededRandom(step.salt + 1);
    const kept: ChainTransaction[] = [];
    const dropped: ChainTransaction[] = [];
    for (const transaction of orphaned) {
      if (step.mode === "replace" || (step.mode === "drop" && random() < 0.5)) dropped.push(transaction);
      else kept.push(transaction);
    }
    if (step.mode === "reorder") {
      for (let i = kept.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [kept[i], kept[j]] = [kept[j], kept[i]];
      }
    }
    // Dropped transactions go back to the front of their payments' queues, in their order.
    for (const transaction of [...dropped].reverse()) {
      const { payment, step: planStep } = this.origins.get(transaction.hash!)!;
      this.queues[payment].unshift(isKeeperTransaction(transaction) ? { step: planStep } : { step: planStep, transaction });
    }
    let parent = ancestor;
    // The new branch starts at another time than the orphaned one (its blocks must hash differently on a real chain too).
    let timestamp = ancestor.timestamp + this.blockTime + BigInt(1 + (step.salt % 5));
    for (let k = 0; k < step.length; k++) {
      const slice = kept.slice(Math.floor((k * kept.length) / step.length), Math.floor(((k + 1) * kept.length) / step.length));
      const transactions = this.assemble(
        parent,
        timestamp,
        slice.map((again) => ({ payment: this.origins.get(again.hash!)!.payment, again })),
      );
      if (k === 0) await this.setup.chain.reorg(depth, transactions, timestamp);
      else await this.setup.chain.mine(transactions, timestamp);
      parent = this.model.head;
      timestamp = parent.timestamp + this.blockTime;
    }
    this.maxHead = Math.max(this.maxHead, this.model.head.number);
  }

  /**
   * The end of the history: providers healed, every payment's remaining steps taken (time moved on to each expiry
   * and window end as they need), then a block past every expiry and late-collect window and `depth` more, the
   * indexer catching up and then following them.
   */
  private async finish(): Promise<void> {
    const { providers, payments, history } = this.setup;
    providers.heal();
    const left = () => this.queues.reduce((sum, queue) => sum + queue.length, 0);
    for (let round = 0; round < 500 && left() > 0; round++) {
      const parent = this.model.head;
      const timestamp = parent.timestamp + this.blockTime;
      const waiting = payments.map((_, i) => i).filter((i) => this.queues[i].length > 0);
      const before = left();
      const transactions = this.assemble(
        parent,
        timestamp,
        waiting.map((payment) => ({ payment })),
      );
      if (transactions.length > 0) {
        await this.mine(transactions, timestamp);
        continue;
      }
      // Steps whose moment passed were dropped: look again before moving time on.
      if (left() < before) continue;
      // Nothing can happen now: on to the next moment something may (an expiry or a window's end passed).
      const moments = waiting
        .flatMap((i) => [payments[i].intent.expiry + 1n, payments[i].intent.expiry + this.window + 1n])
        .filter((moment) => moment > timestamp);
      if (moments.length === 0) throw new Error("a payment's step waits for nothing that can come");
      await this.mine(
        [],
        moments.reduce((a, b) => (a < b ? a : b)),
      );
    }
    const lastMoment = payments.reduce((latest, { intent }) => (intent.expiry + this.window > latest ? intent.expiry + this.window : latest), 0n) + 1n;
    const head = this.model.head.timestamp;
    await this.mine([], lastMoment > head + this.blockTime ? lastMoment : head + this.blockTime);
    await catchUp(this.indexer);
    // The last `depth` blocks followed one by one, as a live indexer does: its re-read of recent blocks runs too.
    for (let i = 0; i < history.depth; i++) {
      await this.mine([], this.model.head.timestamp + this.blockTime);
      await catchUp(this.indexer);
    }
  }
}
