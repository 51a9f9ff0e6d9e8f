import { parseAbi, type Address, type PublicClient } from "viem";
import type { TokenInfo } from "../payments/paymentResource";
import type { Price } from "./tokenAmount";

const aggregatorAbi = parseAbi([
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);

export interface FeedToken extends TokenInfo {
  feed: Address;
  /** Seconds after which the escrow refuses the feed's answer. */
  maxStaleness: number;
  /** The token's index in the escrow (`tokenAt`): its bit in an intent's `acceptedTokens`. */
  index: number;
}

/**
 * The Chainlink prices the API quotes with, read from the feeds the escrow uses and kept for `refreshMs`, so that
 * creating a payment costs no RPC round trip. Also tracks the chain's clock: expiries are in chain time, which
 * on a local chain can run ahead of the wall clock.
 */
export class PriceBook {
  private prices = new Map<string, Price>();
  private feedDecimals = new Map<string, number>();
  /** Chain time minus wall time, in seconds, at the last refresh. */
  private clockOffset = 0;
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly client: PublicClient,
    private readonly tokens: readonly FeedToken[],
    private readonly refreshMs = 10_000,
  ) {}

  /** Reads every feed and the latest block. A feed that fails or is stale is left out until it answers again. */
  async refresh(): Promise<void> {
    const [block, ...answers] = await Promise.all([
      this.client.getBlock({ blockTag: "latest" }),
      ...this.tokens.map(async (token) => {
        try {
          const key = token.feed.toLowerCase();
          if (!this.feedDecimals.has(key)) {
            this.feedDecimals.set(key, await this.client.readContract({ address: token.feed, abi: aggregatorAbi, functionName: "decimals" }));
          }
          const [, answer, , updatedAt] = await this.client.readContract({ address: token.feed, abi: aggregatorAbi, functionName: "latestRoundData" });
          return { token, answer, updatedAt, feedDecimals: this.feedDecimals.get(key)! };
        } catch {
          return undefined;
        }
      }),
    ]);
    const next = new Map<string, Price>();
    for (const quote of answers) {
      if (!quote || quote.answer <= 0n) continue;
      if (block.timestamp - quote.updatedAt > BigInt(quote.token.maxStaleness)) continue;
      next.set(quote.token.address.toLowerCase(), { answer: quote.answer, feedDecimals: quote.feedDecimals, tokenDecimals: quote.token.decimals });
    }
    this.prices = next;
    this.clockOffset = Number(block.timestamp) - Math.floor(Date.now() / 1000);
    this.refreshedAt = Date.now();
  }

  /** The prices, refreshed in the background once older than `refreshMs` (callers never wait for the chain). */
  current(): ReadonlyMap<string, Price> {
    if (Date.now() - this.refreshedAt > this.refreshMs && !this.refreshing) {
      this.refreshing = this.refresh()
        .catch(() => undefined)
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    return this.prices;
  }

  /** The chain's time now (seconds), as of the last refresh's offset. */
  chainNow(): bigint {
    return BigInt(Math.floor(Date.now() / 1000) + this.clockOffset);
  }
}
