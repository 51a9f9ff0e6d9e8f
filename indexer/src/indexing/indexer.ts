import type { Address, Hex, Log, PublicClient } from "viem";
import type { Logger } from "pino";
import { fetchBlock } from "../chain/blockHeaders";
import { AdaptiveRange, isRangeTooLarge } from "../chain/logRange";
import { retrying, sleep } from "../chain/retry";
import type { MachineSettings } from "../payments/statusMachine";
import { keptBlock, readCheckpoint, type BlockRecord, type Checkpoint } from "../store/checkpointStore";
import type { Db } from "../store/paymentStore";
import { commitBatch, type Batch, type BatchResult } from "./commitBatch";
import { paymentLogs } from "./escrowLogs";
import { commonAncestor, DeepReorgError } from "./reorg";

export interface IndexerOptions {
  client: PublicClient;
  db: Db;
  chainId: number;
  escrow: Address;
  /** The block the escrow was deployed in (deployments/<chainId>.json): indexing starts there. */
  startBlock: number;
  settings: MachineSettings;
  logger: Logger;
  /** How often to ask for a new head once caught up. */
  pollIntervalMs?: number;
  /** eth_getLogs range bounds while backfilling. */
  range?: { initial: number; max: number; fastMs: number };
  /** Told of every committed batch and every RPC error (metrics). */
  observer?: IndexerObserver;
}

export interface IndexerObserver {
  head?(number: number): void;
  /** The block the indexer has committed up to, as read at each step (also after a restart with nothing to do). */
  indexed?(number: number): void;
  committed?(batch: { from: number; to: number; logs: number; result: BatchResult; ms: number; head: number }): void;
  rpcError?(error: unknown): void;
}

/**
 * Turns the escrow's logs into payment statuses. Blocks deeper than the confirmation depth are backfilled with
 * `eth_getLogs` in adaptive ranges; the unfinalised ones are followed block by block, by hash, with their hashes
 * kept so that a reorganisation is found at the next block whose parent differs, rolled back to the common ancestor
 * and re-applied in the same transaction. Every batch commits its checkpoint with its state.
 */
export class Indexer {
  private readonly range: AdaptiveRange;
  private readonly depth: number;

  get settings(): MachineSettings {
    return this.options.settings;
  }

  constructor(private readonly options: IndexerOptions) {
    this.range = new AdaptiveRange(options.range ?? { initial: 2_000, max: 50_000, fastMs: 1_000 });
    this.depth = options.settings.confirmations.depth;
  }

  private rpc<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retrying(call, {
      signal,
      onError: (error, attempt) => {
        this.options.observer?.rpcError?.(error);
        this.options.logger.warn({ err: error, attempt }, "RPC request failed; retrying");
      },
    });
  }

  /** Where indexing stands: the checkpoint, or the block before the escrow's deployment. */
  private async checkpoint(signal?: AbortSignal): Promise<Checkpoint> {
    const stored = await readCheckpoint(this.options.db, this.options.chainId);
    if (stored) return stored;
    const before = await this.rpc(() => fetchBlock(this.options.client, Math.max(0, this.options.startBlock - 1)), signal);
    return { blockNumber: before.number, blockHash: before.hash, timestamp: before.timestamp };
  }

  private async finalizedBlock(signal?: AbortSignal): Promise<number | undefined> {
    if (this.options.settings.confirmations.mode === "depth") return undefined;
    return (await this.rpc(() => fetchBlock(this.options.client, "finalized"), signal)).number;
  }

  private async commit(batch: Batch, from: number): Promise<void> {
    const started = performance.now();
    const result = await commitBatch(this.options.db, this.options.chainId, this.options.settings, batch);
    for (const refusal of result.refusals) this.options.logger.error({ refusal }, "status machine refused a chain event");
    this.options.observer?.committed?.({
      from,
      to: batch.head.number,
      logs: batch.logs.length,
      result,
      ms: performance.now() - started,
      head: batch.head.number,
    });
  }

  /** The next range's logs, asked for while the current range is being committed. */
  private prefetched?: { from: number; to: number; started: number; logs: Promise<Log[]> };

  private requestLogs(from: number, to: number) {
    const logs = this.options.client.getLogs({ address: this.options.escrow, fromBlock: BigInt(from), toBlock: BigInt(to) });
    // A failed prefetch is handled when it is awaited; until then it must not count as an unhandled rejection.
    logs.catch(() => undefined);
    return { from, to, started: performance.now(), logs };
  }

  /** Backfills from the checkpoint up to `safe` (blocks no reorganisation within the depth can reach). */
  private async backfill(checkpoint: Checkpoint, safe: number, finalized: number | undefined, signal?: AbortSignal) {
    const from = checkpoint.blockNumber + 1;
    for (;;) {
      const request =
        this.prefetched && this.prefetched.from === from && this.prefetched.to <= safe
          ? this.prefetched
          : this.requestLogs(from, Math.min(safe, from + this.range.size - 1));
      this.prefetched = undefined;
      const { to, started } = request;
      let logs;
      try {
        logs = await request.logs;
      } catch (error) {
        if (signal?.aborted) throw error;
        this.options.observer?.rpcError?.(error);
        if (isRangeTooLarge(error)) {
          if (this.range.refused(to - from + 1)) {
            this.options.logger.info({ from, to, size: this.range.size }, "log range refused; halving it");
            continue;
          }
          this.options.logger.error({ err: error, from, to }, "the provider refuses even the smallest log range: does it serve eth_getLogs?");
        } else {
          this.options.logger.warn({ err: error, from, to }, "backfill request failed; retrying");
        }
        await sleep(500, signal);
        continue;
      }
      this.range.succeeded(performance.now() - started, logs.length);
      // The node works on the next range while the database commits this one.
      if (to < safe) this.prefetched = this.requestLogs(to + 1, Math.min(safe, to + this.range.size));
      const head = await this.rpc(() => fetchBlock(this.options.client, to), signal);
      await this.commit({ logs: paymentLogs(logs), head, finalized, keep: [head], pruneBelow: to }, from);
      return;
    }
  }

  /** Applies the next unfinalised block, rolling back first when its parent is not the block the indexer holds. */
  private async follow(checkpoint: Checkpoint, finalized: number | undefined, signal?: AbortSignal) {
    const { client, chainId, db } = this.options;
    const next = await this.rpc(() => fetchBlock(client, checkpoint.blockNumber + 1), signal);
    let rollbackTo: number | undefined;
    let blocks: BlockRecord[] = [next];
    if (next.parentHash !== checkpoint.blockHash) {
      const ancestor = await commonAncestor(
        checkpoint.blockNumber - 1,
        checkpoint.blockNumber,
        this.depth,
        async (n) => (await keptBlock(db, chainId, n))?.hash,
        async (n) => (await this.rpc(() => fetchBlock(client, n), signal)).hash,
      );
      this.options.logger.warn({ at: next.number, ancestor, depth: checkpoint.blockNumber - ancestor }, "chain reorganised; rolling back");
      rollbackTo = ancestor;
      blocks = [];
      for (let n = ancestor + 1; n <= next.number; n++) blocks.push(await this.rpc(() => fetchBlock(client, n), signal));
    }
    const logs = [];
    for (const block of blocks) {
      // By hash: the logs of exactly this block, even if the chain moves again meanwhile.
      logs.push(...(await this.rpc(() => client.getLogs({ address: this.options.escrow, blockHash: block.hash as Hex }), signal)));
    }
    const head = blocks[blocks.length - 1];
    // A block switched again between the header and its logs shows up as a parent mismatch at the next block.
    await this.commit({ logs: paymentLogs(logs), head, finalized, keep: blocks, rollbackTo, pruneBelow: head.number - this.depth * 2 }, blocks[0].number);
  }

  /** One step: backfill a range, follow one block, or report that the indexer is at the head. */
  async step(signal?: AbortSignal): Promise<"backfilled" | "followed" | "idle"> {
    this.headAnnounced = false;
    const head = Number(await this.rpc(() => this.options.client.getBlockNumber({ cacheTime: 0 }), signal));
    this.options.observer?.head?.(head);
    const finalized = await this.finalizedBlock(signal);
    const checkpoint = await this.checkpoint(signal);
    this.options.observer?.indexed?.(checkpoint.blockNumber);
    if (checkpoint.blockNumber >= head) return "idle";
    const safe = Math.max(head - this.depth + 1, finalized ?? 0);
    if (checkpoint.blockNumber < safe - 1) {
      await this.backfill(checkpoint, safe - 1, finalized, signal);
      return "backfilled";
    }
    await this.follow(checkpoint, finalized, signal);
    return "followed";
  }

  private wake?: () => void;
  /** A head announced while a step was running: the next wait must not wait for it. */
  private headAnnounced = false;

  /** A new head was announced (a newHeads subscription): stop waiting and step at once. */
  notifyHead(): void {
    if (this.wake) this.wake();
    else this.headAnnounced = true;
  }

  /** Waits for the poll interval, a new head's announcement, or the end. */
  private idle(signal?: AbortSignal): Promise<void> {
    if (this.headAnnounced) {
      this.headAnnounced = false;
      return Promise.resolve();
    }
    const waking = new AbortController();
    const wake = () => waking.abort();
    this.wake = wake;
    signal?.addEventListener("abort", wake, { once: true });
    return sleep(this.options.pollIntervalMs ?? 250, waking.signal).finally(() => {
      this.wake = undefined;
      signal?.removeEventListener("abort", wake);
    });
  }

  /** Runs until `signal` aborts; a deep reorganisation stops it with DeepReorgError. */
  async run(signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      try {
        if ((await this.step(signal)) === "idle") await this.idle(signal);
      } catch (error) {
        if (error instanceof DeepReorgError || signal?.aborted) throw error;
        this.options.logger.error({ err: error }, "indexing step failed; retrying");
        await sleep(1_000, signal);
      }
    }
  }
}
