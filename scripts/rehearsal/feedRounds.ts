import { setTimeout as sleep } from "node:timers/promises";
import type { EthereumProvider } from "hardhat/types";
import { decodeFunctionResult, encodeFunctionData, parseAbi, type Address, type Hex } from "viem";
import type { PlacedFeed } from "./mainnetStandIns";

const feedAbi = parseAbi([
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function report(int256 answer)",
]);

/**
 * Chainlink's part on the rehearsal chain: each feed gets a new round once its heartbeat has passed on the chain's
 * clock, as Chainlink's nodes report on BSC, so that the feeds stay as fresh as the escrow's staleness limits expect
 * (300 s for BNB / USD) however long the rehearsal runs. Run before each block: a round that falls due is sent by
 * `reporter` and lands in that block.
 */
export class FeedRounds {
  /** Rounds reported since the feeds were placed, per feed. */
  readonly reported = new Map<string, number>();

  constructor(
    private readonly provider: EthereumProvider,
    private readonly feeds: readonly PlacedFeed[],
    private readonly reporter: Address,
  ) {}

  async beforeBlock(): Promise<void> {
    const now = await this.chainTime();
    for (const feed of this.feeds) {
      if (now - (await this.updatedAt(feed)) < BigInt(feed.heartbeatSeconds)) continue;
      await this.provider.request({
        method: "eth_sendTransaction",
        params: [{ from: this.reporter, to: feed.aggregator, data: encodeFunctionData({ abi: feedAbi, functionName: "report", args: [feed.answer] }) }],
      });
      this.reported.set(feed.description, (this.reported.get(feed.description) ?? 0) + 1);
    }
  }

  /**
   * Waits until every feed has a round at least as recent as the chain's clock now (after the clock jumped, say),
   * the blocks being made meanwhile; throws after `timeoutMs`.
   */
  async untilFresh(timeoutMs: number): Promise<void> {
    const since = await this.chainTime();
    const deadline = Date.now() + timeoutMs;
    for (const feed of this.feeds) {
      while ((await this.updatedAt(feed)) < since) {
        if (Date.now() > deadline) throw new Error(`${feed.description} reported no round for the chain's time ${since} within ${timeoutMs} ms`);
        await sleep(50);
      }
    }
  }

  /** The chain's clock: the latest block's time (the next block's is the same second or later). */
  private async chainTime(): Promise<bigint> {
    const latest = (await this.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { timestamp: Hex };
    return BigInt(latest.timestamp);
  }

  private async updatedAt(feed: PlacedFeed): Promise<bigint> {
    const result = (await this.provider.request({
      method: "eth_call",
      params: [{ to: feed.proxy, data: encodeFunctionData({ abi: feedAbi, functionName: "latestRoundData" }) }, "latest"],
    })) as Hex;
    return decodeFunctionResult({ abi: feedAbi, functionName: "latestRoundData", data: result })[3];
  }
}
