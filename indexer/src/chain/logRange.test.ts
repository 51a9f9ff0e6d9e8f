import { expect } from "chai";
import fc from "fast-check";
import { createPublicClient, http } from "viem";
import { AdaptiveRange, isRangeTooLarge } from "./logRange";

describe("AdaptiveRange", function () {
  it("starts at the initial size", function () {
    expect(new AdaptiveRange({ initial: 2_000, max: 50_000, fastMs: 1_000 }).size).to.equal(2_000);
  });

  it("doubles after a fast answer, up to the maximum, and stays after a slow one (fastMs itself is slow)", function () {
    const range = new AdaptiveRange({ initial: 100, max: 500, fastMs: 1_000 });
    range.succeeded(999);
    expect(range.size).to.equal(200);
    range.succeeded(1_000);
    expect(range.size).to.equal(200);
    range.succeeded(60_000);
    expect(range.size).to.equal(200);
    range.succeeded(0);
    expect(range.size).to.equal(400);
    range.succeeded(0);
    expect(range.size, "capped at max, not 800").to.equal(500);
    range.succeeded(0);
    expect(range.size).to.equal(500);
  });

  it("halves (rounding down) when refused, down to 1 by default, then says it cannot shrink", function () {
    const range = new AdaptiveRange({ initial: 7, max: 7, fastMs: 1 });
    expect(range.refused()).to.equal(true);
    expect(range.size).to.equal(3);
    expect(range.refused()).to.equal(true);
    expect(range.size).to.equal(1);
    expect(range.refused()).to.equal(false);
    expect(range.size).to.equal(1);
    expect(range.refused()).to.equal(false);
    expect(range.size).to.equal(1);
  });

  it("never goes below a given minimum, and refused() is false once there", function () {
    const range = new AdaptiveRange({ initial: 100, min: 30, max: 100, fastMs: 1 });
    expect(range.refused()).to.equal(true);
    expect(range.size).to.equal(50);
    expect(range.refused()).to.equal(true);
    expect(range.size, "max(30, 25)").to.equal(30);
    expect(range.refused()).to.equal(false);
    expect(range.size).to.equal(30);
    range.succeeded(0);
    expect(range.size, "grows again, but stays below the 50 that was refused").to.equal(49);
  });

  it("grows back after refusals, up to just below the smallest size refused", function () {
    const range = new AdaptiveRange({ initial: 64, max: 64, fastMs: 10 });
    range.refused();
    range.refused();
    expect(range.size).to.equal(16);
    range.succeeded(1);
    range.succeeded(1);
    expect(range.size).to.equal(31);
  });

  it("halves the range actually asked for when it was cut short (at the safe block)", function () {
    const range = new AdaptiveRange({ initial: 1_000, max: 1_000, fastMs: 10 });
    expect(range.refused(375)).to.equal(true);
    expect(range.size).to.equal(187);
  });

  it("rejects sizes that are not whole numbers with 1 ≤ min ≤ initial ≤ max, naming them", function () {
    expect(() => new AdaptiveRange({ initial: 0, max: 10, fastMs: 1 })).to.throw(
      "log range: need whole numbers 1 ≤ min ≤ initial ≤ max, got min 1, initial 0, max 10",
    );
    expect(() => new AdaptiveRange({ initial: -5, max: 10, fastMs: 1 })).to.throw(/initial -5, max 10/);
    expect(() => new AdaptiveRange({ initial: 11, max: 10, fastMs: 1 })).to.throw(/initial 11, max 10/);
    expect(() => new AdaptiveRange({ initial: 1.5, max: 10, fastMs: 1 })).to.throw(/initial 1.5/);
    expect(() => new AdaptiveRange({ initial: 5, min: 6, max: 10, fastMs: 1 })).to.throw(/min 6, initial 5/);
    expect(() => new AdaptiveRange({ initial: Number.NaN, max: 10, fastMs: 1 })).to.throw(/initial NaN/);
    expect(new AdaptiveRange({ initial: 1, max: 1, fastMs: 1 }).size).to.equal(1);
    expect(new AdaptiveRange({ initial: 10, max: 10, fastMs: 1 }).size).to.equal(10);
  });

  it("keeps a whole size within [min, max] whatever the answers (property)", function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.oneof(fc.constant<"refused">("refused"), fc.integer({ min: 0, max: 3_000 })), { maxLength: 60 }),
        (min, aboveMin, aboveInitial, answers) => {
          const initial = min + aboveMin;
          const max = initial + aboveInitial;
          const range = new AdaptiveRange({ initial, min, max, fastMs: 1_000 });
          let ceiling = max;
          for (const answer of answers) {
            const before = range.size;
            if (answer === "refused") {
              const shrank = range.refused();
              expect(shrank).to.equal(before > min);
              if (shrank) ceiling = Math.max(min, before - 1);
              expect(range.size).to.equal(shrank ? Math.max(min, Math.floor(before / 2)) : before);
            } else {
              range.succeeded(answer);
              expect(range.size).to.equal(answer < 1_000 ? Math.min(ceiling, before * 2) : before);
            }
            expect(Number.isInteger(range.size)).to.equal(true);
            expect(range.size).to.be.within(min, max);
          }
        },
      ),
    );
  });
});

/** The error viem's http transport throws for a getLogs answered with `status` and `body` (no retries). */
async function viemError(status: number, body: unknown): Promise<unknown> {
  const client = createPublicClient({
    transport: http("http://rpc.example", {
      retryCount: 0,
      timeout: 50,
      fetchFn: (async (_url: unknown, init?: RequestInit) => {
        if (body === "no answer") {
          return new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
        }
        if (body === "connection dropped") throw new TypeError("fetch failed", { cause: new Error("other side closed") });
        const json = typeof body !== "string";
        return new Response(json ? JSON.stringify(body) : body, { status, headers: { "content-type": json ? "application/json" : "text/html" } });
      }) as typeof fetch,
    }),
  });
  try {
    await client.getLogs({ address: "0x1111111111111111111111111111111111111111", fromBlock: 40_000_000n, toBlock: 40_020_000n });
  } catch (error) {
    return error;
  }
  throw new Error("getLogs was expected to fail");
}

const rpcError = (code: number, message: string, data?: unknown) => ({ jsonrpc: "2.0", id: 0, error: { code, message, ...(data ? { data } : {}) } });

describe("isRangeTooLarge", function () {
  /** Real providers' refusals of a log query as too big, with where each was seen. */
  const TOO_LARGE: Array<[string, number, unknown]> = [
    // https://github.com/AlphaWallet/alpha-wallet-android/issues/2736 (bsc-dataseed.binance.org)
    ["BSC public node", 200, rpcError(-32000, "exceed maximum block range: 5000")],
    // https://github.com/status-im/nimbus-eth2/issues/1823
    ["Infura, results", 200, rpcError(-32005, "query returned more than 10000 results")],
    // https://github.com/INFURA/infura/issues/237
    ["Infura, range", 200, rpcError(-32602, "range 1000000 exceeds limit of 10000")],
    // https://github.com/bancorprotocol/webapp/issues/523
    ["Alchemy, response size", 200, rpcError(-32602, "Log response size exceeded. Please reduce query block range.")],
    // https://github.com/BobTheBuidler/dank_mids/issues/772
    [
      "Alchemy, block range",
      400,
      rpcError(
        -32600,
        "You can make eth_getLogs requests with up to a 500 block range. Based on your parameters, this block range should work: [0x123c9b2, 0x123cba5]",
      ),
    ],
    // https://github.com/ethers-io/ethers.js/issues/3612
    ["QuickNode (2022)", 200, rpcError(-32602, "eth_getLogs and eth_newFilter are limited to a 10,000 blocks range")],
    // https://github.com/moonbeam-foundation/moonbeam/pull/3250
    ["Frontier / Moonbeam", 200, rpcError(-32603, "block range is too wide (maximum 1024)")],
    // https://github.com/0xPolygon/zkevm-node/issues/3136
    ["Polygon zkEVM", 200, rpcError(-32602, "logs are limited to a 10000 block range")],
    // https://github.com/AlphaWallet/alpha-wallet-ios/issues/5277
    ["Candle", 200, rpcError(-32600, "block range too high")],
    // https://github.com/scroll-tech/go-ethereum/pull/529
    ["Scroll geth", 200, rpcError(-32000, "block range is bigger than maxBlockRange")],
    // https://github.com/enviodev/hyperindex/issues/605
    ["Morph", 200, rpcError(-32000, "block range is larger than max block range, block range = 5120, max block range = 5000")],
    // https://github.com/base/base/issues/2421 (reth)
    ["reth", 200, rpcError(-32602, "query exceeds max results 20000, retry with the range 25766988-25775072")],
    // What the faulty proxy of the integration tests answers.
    ["test proxy", 200, rpcError(-32000, "query exceeds max block range 100")],
    // A gateway that gave up on the query.
    ["gateway timeout", 504, "Gateway Timeout"],
  ];

  for (const [provider, status, body] of TOO_LARGE) {
    it(`counts as too large: ${provider} (as viem reports it)`, async function () {
      expect(isRangeTooLarge(await viemError(status, body))).to.equal(true);
    });
  }

  it("counts a timeout as too large (the range halves)", async function () {
    const error = await viemError(0, "no answer");
    expect((error as Error).name).to.equal("TimeoutError");
    expect(isRangeTooLarge(error)).to.equal(true);
  });

  /** Failures that shrinking the range cannot cure: rate limits, outages, broken nodes. */
  const NOT_TOO_LARGE: Array<[string, number, unknown]> = [
    ["HTTP 429", 429, "Too Many Requests"],
    // https://github.com/latticexyz/mud/issues/1522
    [
      "Alchemy's rate limit",
      429,
      rpcError(
        429,
        "Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message. If not, check out https://docs.alchemy.com/reference/throughput",
      ),
    ],
    // https://github.com/latticexyz/mud/issues/1522
    ["QuickNode's credit limit", 200, rpcError(-32012, "credits limited to 6000/sec")],
    // viem's buildRequest (the -32007 code it retries)
    ["QuickNode's request limit", 200, rpcError(-32007, "15/second request limit reached - reduce calls per second or upgrade your account at quicknode.com")],
    // https://github.com/web3/web3.js/issues/7284
    ["Infura's rate limit", 429, rpcError(-32005, "project ID request rate exceeded")],
    // https://github.com/MoralisWeb3/youtube-tutorials/issues/41
    ["Infura's daily limit", 429, rpcError(-32005, "daily request count exceeded, request rate limited")],
    // https://github.com/bnb-chain/docs-site/issues/621: eth_getLogs is disabled on BSC's public dataseed nodes, and
    // they say so with this even for one block; halving cannot help (see the report).
    ["BSC public node without eth_getLogs", 200, rpcError(-32005, "limit exceeded")],
    ["a plain rate limit", 200, rpcError(-32000, "rate limit")],
    ["HTTP 503", 503, "Service Temporarily Unavailable"],
    ["HTTP 502", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>"],
    ["HTTP 500", 500, "Internal Server Error"],
    ["a node without the block", 200, rpcError(-32000, "header not found")],
    ["a dropped connection", 0, "connection dropped"],
  ];

  for (const [what, status, body] of NOT_TOO_LARGE) {
    it(`does not count as too large: ${what}`, async function () {
      expect(isRangeTooLarge(await viemError(status, body))).to.equal(false);
    });
  }

  it("reads message, details and shortMessage of any error-like value, and survives values that are not errors", function () {
    expect(isRangeTooLarge(new Error("query returned more than 10000 results"))).to.equal(true);
    expect(isRangeTooLarge({ details: "exceed maximum block range: 5000" })).to.equal(true);
    expect(isRangeTooLarge({ shortMessage: "Log response size exceeded." })).to.equal(true);
    expect(isRangeTooLarge(new Error("429 Too Many Requests"))).to.equal(false);
    expect(isRangeTooLarge(new Error("rate limit exceeded"))).to.equal(false);
    expect(isRangeTooLarge(undefined)).to.equal(false);
    expect(isRangeTooLarge(null)).to.equal(false);
    expect(isRangeTooLarge("block range too large")).to.equal(false);
    expect(isRangeTooLarge({})).to.equal(false);
  });

  /** Refusals that once went unrecognised (the indexer would have asked for the same range forever). */
  const ONCE_MISSED: Array<[string, number, unknown]> = [
    // https://github.com/OffchainLabs/arbitrum-sdk/issues/609 (HTTP 413 with a JSON-RPC error)
    ["QuickNode (2025)", 413, rpcError(-32614, "eth_getLogs is limited to a 10,000 range")],
    // https://github.com/ponder-sh/ponder/issues/1940
    ["Ankr", 200, rpcError(-32000, "maximum [from, to] blocks distance: 10000")],
    // https://github.com/bobanetwork/boba_legacy/issues/827: the reason is in error.data, which viem keeps apart
    ["Tenderly", 200, rpcError(-32602, "invalid params", { error_id: "4ed94073", payload: "range 9009594 is bigger than range limit 2000" })],
  ];

  for (const [provider, status, body] of ONCE_MISSED) {
    it(`counts as too large: ${provider}`, async function () {
      expect(isRangeTooLarge(await viemError(status, body))).to.equal(true);
    });
  }
});
