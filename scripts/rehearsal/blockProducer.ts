import { setTimeout as sleep } from "node:timers/promises";

/**
 * The rehearsal chain's validator: a block every `intervalMs` (BSC makes one every 0.75 s; the rehearsal goes
 * faster, as confirmations are counted in blocks), each preceded by `beforeEachBlock` (the price feeds' rounds
 * that fall due, so that they land in that block). The first failure stops it and is kept in `failure`.
 */
export class BlockProducer {
  blocks = 0;
  failure: Error | undefined;
  /** Rejects with the failure that stopped the blocks, if one does. */
  readonly failed: Promise<never>;
  private fail: (error: Error) => void = () => undefined;
  private stopping = false;
  private wake: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly mine: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly beforeEachBlock: () => Promise<void> = async () => undefined,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
  }

  start(): void {
    this.running ??= this.produce();
  }

  /** Stops after the block being made, if any. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.abort();
    await this.running;
    this.running = undefined;
  }

  private async produce(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.beforeEachBlock();
        await this.mine();
        this.blocks += 1;
      } catch (error) {
        this.failure = new Error(`the rehearsal chain stopped making blocks: ${(error as Error).message}`);
        this.fail(this.failure);
        return;
      }
      this.wake = new AbortController();
      await sleep(this.intervalMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }
}
