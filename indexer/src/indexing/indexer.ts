import { getAddress, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { Logger } from "pino";
import { fetchBlock, fetchHeaders, type BlockHeader, type BlockRecord } from "../chain/blockHeaders";
import { lastConfirmedBlock } from "../payments/confirmations";
import { readBalances } from "../chain/escrowReadings";
import { AdaptiveRange, CATCH_UP_RANGE, isRangeTooLarge } from "../chain/logRange";
import { ProviderFault, type ProviderFaultKind } from "../chain/providerFault";
import type { ProviderPool } from "../chain/providerPool";
import { backoffDelay, retrying, sleep } from "../chain/retry";
import { isStateUnavailable } from "../chain/stateAvailability";
import type { ConfirmedBlock } from "../payments/paymentEvents";
import type { MachineSettings } from "../payments/statusMachine";
import { keptBlock, keptBlocks, readCheckpoint, type Checkpoint } from "../store/checkpointStore";
import { watchedPayments, type Db, type WatchedPayment } from "../store/paymentStore";
import { lastBlockAtOrBefore } from "./blockAtTime";
import { commitBatch, type BatchResult } from "./commitBatch";
import { depositTransferEvents, tokenSet } from "./depositTransfers";
import { paymentLogs, type PaymentLog } from "./escrowLogs";
import { merchantLogs } from "./merchantLogs";
import { nativeArrivals } from "./nativeArrivals";
import { commonAncestor, DeepReorgError } from "./reorg";
import { rereadLogs, type Reread } from "./rereads";
import { readSegment, WatchedBits, type ChainSegment, type ReadTargets } from "./segmentReader";
import { settlementEvidence } from "./settlementEvidence";

export interface IndexerOptions {
  /** The providers (RPC_URLS), read one at a time with failover. */
  rpc: ProviderPool;
  db: Db;
  chainId: number;
  escrow: Address;
  /** BEP-20 tokens the escrow accepts: their transfers into deposit addresses are read with the escrow's logs. */
  tokens: readonly Address[];
  /** The block the escrow was deployed in (deployments/<chainId>.json): indexing starts there. */
  startBlock: number;
  settings: MachineSettings;
  logger: Logger;
  /** How often to ask for a new head once caught up. */
  pollIntervalMs?: number;
  /** Blocks per segment while catching up: every block's header is read too, so the ceiling stays moderate. */
  range?: { initial: number; max: number; fastMs: number };
  /** Told of every committed batch, RPC error and provider fault (metrics). */
  observer?: IndexerObserver;
}

export interface IndexerObserver {
  head?(number: number): void;
  /** The block the indexer has committed up to, as read at each step (also after a restart with nothing to do). */
  indexed?(number: number): void;
  committed?(batch: { from: number; to: number; logs: number; result: BatchResult; ms: number; head: number }): void;
  rpcError?(error: unknown): void;
  /** A provider's answer the chain contradicted (never applied). */
  providerFault?(kind: ProviderFaultKind): void;
  /** The indexer moved to another provider. */
  failover?(): void;
  /** A reorganisation rolled back `depth` blocks. */
  reorganised?(depth: number): void;
  /** Blocks whose bloom allowed logs none of which were there (the receipts said so). */
  bloomFalsePositives?(count: number): void;
  /** A payment whose escrow record is not what its logs say (a log missed), once per payment and reason. */
  escrowMismatch?(): void;
  /** A settlement the escrow's record contradicted (withheld), once per payment and reason. */
  escrowDisagreement?(to: "paid" | "expired" | "failed"): void;
  /** A re-read of recent blocks (or of a disagreeing payment's history) found logs the first read had not. */
  reread?(what: Reread["what"], found: number): void;
}

/** How many blocks behind the head the trailing re-read looks, in confirmation depths. */
const REREAD_DEPTHS = 2;

/**
 * Turns the chain into payment statuses. Each step reads a segment of blocks above the checkpoint: one block when
 * following the head, a range while catching up. Every segment is hash-linked to the checkpoint (its first block's
 * parent must be the checkpoint's hash), so a checkpoint a reorganisation took away is found before anything is
 * read on top of it, at every start, after every failover and at every step: the indexer then walks its kept
 * blocks back to the common ancestor and rolls back in the same transaction as the new branch. Logs are checked
 * against the headers they belong to and their blooms (`segmentReader.ts`); deposit-address transfers and BNB
 * arrivals are read in the same segment, under the same checkpoint. Payments are told paid, expired or failed
 * only once the escrow's own record at the segment's head agrees (`settlementEvidence.ts`, `commitBatch.ts`).
 */
export class Indexer {
  private readonly range: AdaptiveRange;
  private readonly depth: number;
  /** The next segment, read while the current one commits (catch-up only), with the payments it is read for. */
  private prefetched?: {
    from: number;
    to: number;
    parentHash: Hex;
    watched: WatchedPayment[];
    read: Promise<ChainSegment | { forked: true; header: BlockHeader }>;
  };
  /** The watched items' bloom bits, from one segment to the next. */
  private readonly watchedBits = new WatchedBits();
  /** Payments whose settlement the escrow contradicted, their history to read again. */
  private readonly rederive = new Set<string>();
  /** When each payment's history was last read again: at most once per confirmation depth. */
  private readonly rederivedAt = new Map<string, number>();
  /** The disagreements of the last batch, by payment: one that persists is not said again. */
  private disagreements = new Map<string, string>();
  /** The mismatches of the last batch, likewise. */
  private mismatches = new Map<string, string>();
  /** The checkpoint at the last trailing re-read. */
  private rereadAt = -1;

  get settings(): MachineSettings {
    return this.options.settings;
  }

  constructor(private readonly options: IndexerOptions) {
    this.range = new AdaptiveRange(options.range ?? CATCH_UP_RANGE);
    this.depth = options.settings.confirmations.depth;
  }

  /** A call on the current provider, retried with backoff; a failure or a fault moves to the next provider. */
  private rpc<T>(call: (client: PublicClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retrying(() => call(this.options.rpc.current), {
      signal,
      onError: (error, attempt) => this.providerFailed(error, attempt),
    });
  }

  /**
   * A read of an older block's state: retried (and failed over) like any call, except when the node says the state
   * is gone (pruned): then it throws at once, for the caller to do without.
   */
  private attempt<T>(call: (client: PublicClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retrying(() => call(this.options.rpc.current), {
      signal,
      isFatal: isStateUnavailable,
      onError: (error, attempt) => this.providerFailed(error, attempt),
    });
  }

  private providerFailed(error: unknown, attempt: number) {
    const { observer, logger, rpc } = this.options;
    if (error instanceof ProviderFault) {
      observer?.providerFault?.(error.kind);
      logger.warn({ fault: error.kind, provider: rpc.currentName, attempt, reason: error.message }, "provider answer contradicts the chain; not applied");
    } else {
      observer?.rpcError?.(error);
      logger.warn({ err: error, provider: rpc.currentName, attempt }, "RPC request failed; retrying");
    }
    if (rpc.failover()) {
      observer?.failover?.();
      // What was read ahead came from the provider just left.
      this.prefetched = undefined;
      logger.warn({ provider: rpc.currentName }, "moved to another RPC provider; its chain is checked against the checkpoint before anything is read on");
    }
  }

  /** Where indexing stands: the checkpoint, or the block before the escrow's deployment. */
  private async checkpoint(signal?: AbortSignal): Promise<Checkpoint> {
    const stored = await readCheckpoint(this.options.db, this.options.chainId);
    if (stored) return stored;
    const before = await this.rpc((client) => fetchBlock(client, Math.max(0, this.options.startBlock - 1)), signal);
    return { blockNumber: before.number, blockHash: before.hash, timestamp: before.timestamp };
  }

  private async finalizedBlock(signal?: AbortSignal): Promise<number | undefined> {
    if (this.options.settings.confirmations.mode === "depth") return undefined;
    return (await this.rpc((client) => fetchBlock(client, "finalized"), signal)).number;
  }

  /**
   * The payments watched now, as the last commit left them, judged at `at`: the chain time of the block a segment is
   * read on top of (the checkpoint's, or a common ancestor's after a reorganisation). No later than any block the
   * segment holds, so no address is dropped before the segment's blocks are past its window (the clock would drop
   * them after an outage, and the checkpoint's time would after a rollback to an older ancestor).
   */
  private watchedNow(at: bigint): Promise<WatchedPayment[]> {
    return watchedPayments(this.options.db, this.options.chainId, at);
  }

  /** What a segment reads for `watched`: the escrow, the accepted tokens, and their deposit addresses. */
  private targetsOf(watched: readonly WatchedPayment[]): ReadTargets {
    return {
      escrow: this.options.escrow,
      tokens: this.options.tokens,
      // Lower-cased where used: a checksum (a keccak256 per watched payment, per segment) would be thrown away.
      depositAddresses: watched.map((payment) => payment.depositAddress as Address),
      paymentIds: watched.map((payment) => payment.id),
    };
  }

  private readSegment(from: number, to: number, parentHash: Hex, watched: readonly WatchedPayment[]) {
    return readSegment(this.options.rpc.current, this.targetsOf(watched), { from, to, parentHash }, this.watchedBits);
  }

  private readAhead(from: number, to: number, parentHash: Hex, watched: WatchedPayment[]) {
    const read = this.readSegment(from, to, parentHash, watched);
    // A failed read ahead is retried when it is needed; until then it must not count as an unhandled rejection.
    read.catch(() => undefined);
    return { from, to, parentHash, watched, read };
  }

  /**
   * Reads the blocks after `base` up to `to` (taking what was read ahead when it is that), with the payments it was
   * read for; `current` when those were loaded after the last commit (not for a read ahead).
   */
  private async read(
    base: BlockRecord,
    to: number,
    signal?: AbortSignal,
  ): Promise<{ segment: Awaited<ReturnType<typeof readSegment>>; watched: WatchedPayment[]; current: boolean }> {
    const from = base.number + 1;
    const parentHash = base.hash;
    let ahead = this.prefetched;
    this.prefetched = undefined;
    if (!(ahead && ahead.from === from && ahead.to === to && ahead.parentHash === parentHash)) ahead = undefined;
    for (let failures = 0; ; ) {
      const started = performance.now();
      try {
        if (ahead) {
          const { watched, read } = ahead;
          ahead = undefined;
          const segment = await read;
          if ("forked" in segment || (await this.stillOnChain(segment.headers[segment.headers.length - 1], signal)))
            return { segment, watched, current: false };
          this.options.logger.warn({ from, to }, "blocks read ahead were replaced before they were applied; reading them again");
          continue;
        }
        const watched = await this.watchedNow(base.timestamp);
        const segment = await this.readSegment(from, to, parentHash, watched);
        this.range.succeeded(performance.now() - started, "escrowLogs" in segment ? segment.escrowLogs.length : 0);
        return { segment, watched, current: true };
      } catch (error) {
        ahead = undefined;
        if (signal?.aborted) throw error;
        // Too wide for this provider (refused, or timed out): a narrower range, at once.
        if (isRangeTooLarge(error) && to > from && this.range.refused(to - from + 1)) {
          this.options.observer?.rpcError?.(error);
          this.options.logger.info({ from, to, size: this.range.size }, "log range refused; halving it");
          to = Math.min(to, from + this.range.size - 1);
          continue;
        }
        failures += 1;
        this.providerFailed(error, failures);
        await sleep(backoffDelay(failures, 200, 15_000), signal);
      }
    }
  }

  /**
   * Whether `header` is still the chain's block at its height. Blocks read ahead waited for the last batch's commit;
   * if the chain replaced them meanwhile (deeper than the confirmation depth, so rare), applying them would ask the
   * node for the state of blocks it may no longer serve, and retry that for ever: they are read again instead.
   */
  private async stillOnChain(header: BlockHeader, signal?: AbortSignal): Promise<boolean> {
    return (await this.rpc((client) => fetchBlock(client, header.number), signal)).hash === header.hash;
  }

  /**
   * The newest block both the indexer and the chain agree on, at or below `from`, walking the kept blocks down:
   * a fork at the confirmation depth or deeper stops the indexer (DeepReorgError).
   */
  private async ancestor(from: number, tip: number, signal?: AbortSignal): Promise<BlockRecord> {
    const { db, chainId } = this.options;
    const number = await commonAncestor(
      from,
      tip,
      this.depth,
      async (n) => (await keptBlock(db, chainId, n))?.hash,
      async (n) => (await this.rpc((client) => fetchBlock(client, n), signal)).hash,
    );
    const block = await keptBlock(db, chainId, number);
    if (!block) throw new DeepReorgError(tip, Infinity, this.depth);
    return block;
  }

  /**
   * The newest confirmed block, with its timestamp, for every head from `from` to `to`: what settlements are judged
   * against, block by block. Timestamps come from the blocks at hand (the segment, the kept ones) or the chain.
   */
  private async confirmedBlocks(from: number, to: number, finalized: number | undefined, known: readonly BlockRecord[], signal?: AbortSignal) {
    const policy = this.options.settings.confirmations;
    const confirmedNumber = (head: number) => Math.min(head, lastConfirmedBlock({ number: head, finalized }, policy));
    const times = new Map(known.map((block) => [block.number, block.timestamp]));
    const lowest = Math.max(0, confirmedNumber(from));
    const highest = confirmedNumber(to);
    const missing: number[] = [];
    for (let n = lowest; n <= highest; n++) if (!times.has(n)) missing.push(n);
    if (missing.length > 0) {
      const fetched = await this.rpc((client) => fetchHeaders(client, missing[0], missing[missing.length - 1]), signal);
      for (const block of fetched) times.set(block.number, block.timestamp);
    }
    return (head: number): ConfirmedBlock => {
      const number = confirmedNumber(head);
      return number < 0 ? { number, timestamp: 0n } : { number, timestamp: times.get(number)! };
    };
  }

  /**
   * Applies a segment read on top of `base` (rolling back to it first when it is a common ancestor). Its transfers
   * are those of the payments it was read for (`readFor`); BNB, read by balance now, is judged by the payments as
   * the last commit left them (`watched`).
   */
  private async apply(
    segment: ChainSegment,
    {
      base,
      rollbackTo,
      finalized,
      readFor,
      watched,
    }: { base: BlockRecord; rollbackTo?: number; finalized?: number; readFor: readonly WatchedPayment[]; watched: readonly WatchedPayment[] },
    signal?: AbortSignal,
  ): Promise<BatchResult> {
    const { db, chainId, settings, escrow, tokens, logger, observer } = this.options;
    const { headers } = segment;
    const head = headers[headers.length - 1];
    const byAddress = new Map(readFor.map((payment) => [getAddress(payment.depositAddress), payment.id]));
    const headerByNumber = new Map(headers.map((header) => [header.number, header]));
    const logs: PaymentLog[] = [
      ...paymentLogs(segment.escrowLogs),
      ...depositTransferEvents(segment.transferLogs, byAddress, headerByNumber, tokenSet(tokens)),
    ];
    // The newest block's state is always there (retried until read); an older one's may be pruned (given up on).
    const balancesAt = async (addresses: readonly Address[], block: BlockHeader) => {
      const read = (client: PublicClient) => readBalances(client, addresses, [zeroAddress], { blockHash: block.hash });
      const balances = headers.length === 1 ? await this.rpc(read, signal) : await this.attempt(read, signal);
      return balances.map(([balance]) => balance);
    };
    const arriving = nativeArrivals(headers, watched, logs, balancesAt);
    // Read while the BNB balances are (settlements depend on the escrow's logs, not on BNB arrivals).
    arriving.catch(() => undefined);

    // The segment's own headers, the block it builds on and the kept blocks below that: after a reorganisation, the
    // kept blocks above the ancestor are the branch that is gone, whose times must not stand for the new branch's.
    const below = (await keptBlocks(db, chainId)).filter((block) => block.number < base.number);
    const known = [...below, base, ...headers];
    const confirmedAt = await this.confirmedBlocks(headers[0].number, head.number, finalized, known, signal);
    const confirmed = confirmedAt(head.number);
    const evidence = await settlementEvidence(
      db,
      chainId,
      { escrow, tokens, head, confirmed, logs },
      {
        read: (call) => this.rpc(call, signal),
        attempt: (call) => this.attempt(call, signal),
        blockAtOrBefore: async (timestamp) => {
          const number = await lastBlockAtOrBefore(timestamp, {
            known,
            upTo: confirmed.number,
            lowest: Math.max(0, this.options.startBlock - 1),
            timeOf: async (n) => (await this.rpc((client) => fetchBlock(client, n), signal)).timestamp,
          });
          if (number === undefined) return undefined;
          return known.find((block) => block.number === number) ?? (await this.rpc((client) => fetchBlock(client, number), signal));
        },
      },
    );

    logs.push(...(await arriving));
    logs.sort((a, b) => a.event.position.blockNumber - b.event.position.blockNumber || a.event.position.logIndex - b.event.position.logIndex);

    const started = performance.now();
    const keep = headers.slice(-this.depth * REREAD_DEPTHS).map(({ number, hash, parentHash, timestamp }) => ({ number, hash, parentHash, timestamp }));
    const result = await commitBatch(db, chainId, settings, {
      logs,
      merchantLogs: merchantLogs(segment.escrowLogs),
      from: headers[0].number,
      head,
      confirmedAt,
      evidence,
      keep,
      rollbackTo,
      pruneBelow: head.number - this.depth * REREAD_DEPTHS,
    });
    for (const refusal of result.refusals) logger.error({ refusal }, "status machine refused a chain event");
    for (const superseded of result.superseded) logger.warn(superseded, "an off-chain event no longer applies after a reorganisation: recorded as superseded");
    // Withheld, or found again, at every block until resolved: each is said (and counted) once per payment and reason.
    const disagreeing = new Map(result.disagreements.map((disagreement) => [disagreement.paymentId, `${disagreement.to}: ${disagreement.reason}`]));
    for (const disagreement of result.disagreements) {
      if (this.disagreements.get(disagreement.paymentId) === disagreeing.get(disagreement.paymentId)) continue;
      logger.error(disagreement, `the escrow's record contradicts the indexer: not announced ${disagreement.to}; reading the payment's history again`);
      observer?.escrowDisagreement?.(disagreement.to);
      this.rederive.add(disagreement.paymentId);
    }
    this.disagreements = disagreeing;
    const mismatching = new Map(result.mismatches.map((mismatch) => [mismatch.paymentId, mismatch.reason]));
    for (const mismatch of result.mismatches) {
      if (this.mismatches.get(mismatch.paymentId) === mismatch.reason) continue;
      logger.warn(
        { ...mismatch, provider: this.options.rpc.currentName },
        "the escrow's record of a payment is not what its logs say: a log was missed; reading its history again",
      );
      observer?.escrowMismatch?.();
      this.rederive.add(mismatch.paymentId);
    }
    this.mismatches = mismatching;
    // Most likely the provider answered with part of a block's logs: the next reads go to another one.
    if (result.mismatches.length > 0 && this.options.rpc.failover()) observer?.failover?.();
    if (segment.bloomFalsePositives > 0) observer?.bloomFalsePositives?.(segment.bloomFalsePositives);
    observer?.committed?.({ from: headers[0].number, to: head.number, logs: logs.length, result, ms: performance.now() - started, head: head.number });
    return result;
  }

  /** One step: catch up a range, follow one block, or report that the indexer is at the head. */
  async step(signal?: AbortSignal): Promise<"backfilled" | "followed" | "idle"> {
    this.headAnnounced = false;
    const head = Number(await this.rpc((client) => client.getBlockNumber({ cacheTime: 0 }), signal));
    this.options.observer?.head?.(head);
    const finalized = await this.finalizedBlock(signal);
    const checkpoint = await this.checkpoint(signal);
    this.options.observer?.indexed?.(checkpoint.blockNumber);
    await this.rereadIfDue(checkpoint, head, signal);

    let base: BlockRecord = { number: checkpoint.blockNumber, hash: checkpoint.blockHash, parentHash: "0x" as Hex, timestamp: checkpoint.timestamp };
    let rollbackTo: number | undefined;
    let to: number;
    if (checkpoint.blockNumber >= head) {
      if (checkpoint.blockNumber === head) return "idle";
      // The provider's head is below the checkpoint: it lags on this chain, or the chain got shorter without it.
      const theirs = await this.rpc((client) => fetchBlock(client, head), signal);
      const ours = await keptBlock(this.options.db, this.options.chainId, head);
      if (!ours) {
        // Too far behind to compare: wait for it (or for a failover to a provider that is not behind).
        this.options.logger.warn(
          { provider: this.options.rpc.currentName, head, checkpoint: checkpoint.blockNumber },
          "the RPC provider is behind the indexer; waiting",
        );
        return "idle";
      }
      if (ours.hash === theirs.hash) return "idle";
      base = await this.ancestor(head - 1, checkpoint.blockNumber, signal);
      rollbackTo = base.number;
      to = head;
    } else {
      const safe = Math.max(head - this.depth + 1, finalized ?? 0);
      to = checkpoint.blockNumber < safe - 1 ? Math.min(safe - 1, checkpoint.blockNumber + this.range.size) : checkpoint.blockNumber + 1;
    }

    let read = await this.read(base, to, signal);
    if ("forked" in read.segment) {
      // The checkpoint is not on this provider's chain: back to where both agree, and the new branch from there.
      const ancestor = await this.ancestor(base.number - 1, checkpoint.blockNumber, signal);
      this.options.logger.warn(
        { at: read.segment.header.number, ancestor: ancestor.number, depth: checkpoint.blockNumber - ancestor.number },
        "chain reorganised; rolling back",
      );
      this.options.observer?.reorganised?.(checkpoint.blockNumber - ancestor.number);
      base = ancestor;
      rollbackTo = ancestor.number;
      read = await this.read(base, Math.max(to, base.number + 1), signal);
      // The chain moved again meanwhile: the next step starts over from the checkpoint.
      if ("forked" in read.segment) return "followed";
    }
    const { segment } = read;
    if ("forked" in segment) return "followed";
    // The watched payments as the last commit left them (a read of this step's has them; one read ahead does not, and
    // BNB judged against its payments would miss what that commit recorded): this segment's BNB is judged by them,
    // and the next segment is read for them. One load of the watched set per segment.
    const watched = read.current ? read.watched : await this.watchedNow(base.timestamp);
    const catchingUp = rollbackTo === undefined && to > base.number + 1;
    const last = segment.headers[segment.headers.length - 1];
    if (catchingUp) {
      const safe = Math.max(head - this.depth + 1, finalized ?? 0);
      if (last.number < safe - 1) this.prefetched = this.readAhead(last.number + 1, Math.min(safe - 1, last.number + this.range.size), last.hash, watched);
    }
    await this.apply(segment, { base, rollbackTo, finalized, readFor: read.watched, watched }, signal);
    return catchingUp ? "backfilled" : "followed";
  }

  /**
   * A second line of defence behind the bloom check: every `depth` blocks, the logs of the kept blocks are read
   * again, and so is the history of any payment whose settlement the escrow contradicted. Logs found that the
   * first reads missed are applied (their payments rebuilt); nothing found costs one range query.
   */
  private async rereadIfDue(checkpoint: Checkpoint, head: number, signal?: AbortSignal) {
    const { db, chainId, logger, observer } = this.options;
    const due = [...this.rederive].filter((id) => checkpoint.blockNumber - (this.rederivedAt.get(id) ?? -Infinity) >= this.depth);
    // Only when following the head: blocks caught up in ranges are deep, and each was checked against its bloom.
    const window = head - checkpoint.blockNumber <= this.depth && checkpoint.blockNumber - this.rereadAt >= this.depth;
    if (!window && due.length === 0) return;
    const kept = await keptBlocks(db, chainId);
    if (kept.length === 0 || kept[kept.length - 1].hash !== checkpoint.blockHash) return;
    const reads: Reread[] = [];
    if (window) reads.push({ what: "recent_blocks", from: kept[0].number, to: checkpoint.blockNumber });
    for (const id of due) reads.push({ what: "payment_history", paymentId: id as Hex, to: checkpoint.blockNumber });
    for (const reread of reads) {
      const watched = await this.watchedNow(checkpoint.timestamp);
      const found = await rereadLogs(reread, {
        db,
        chainId,
        targets: this.targetsOf(watched),
        watched,
        kept,
        startBlock: this.options.startBlock,
        read: (call) => this.rpc(call, signal),
        attempt: (call) => this.attempt(call, signal),
        current: () => this.options.rpc.current,
      });
      const count = found.logs.length + found.merchantLogs.length;
      observer?.reread?.(reread.what, count);
      if (count > 0) {
        logger.warn({ what: reread.what, found: count }, "a re-read found logs the first read had missed; applying them");
        // Applied at the checkpoint, which does not move: nothing is settled here (no evidence was read).
        const head = kept[kept.length - 1];
        const confirmedAt = await this.confirmedBlocks(head.number, head.number, undefined, kept, signal);
        await commitBatch(db, chainId, this.options.settings, { ...found, from: head.number, head, confirmedAt, evidence: new Map(), keep: [] });
      }
    }
    if (window) this.rereadAt = checkpoint.blockNumber;
    // Read again once; a disagreement that persists asks again (no sooner than a confirmation depth later).
    for (const id of due) {
      this.rederive.delete(id);
      this.rederivedAt.set(id, checkpoint.blockNumber);
    }
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
