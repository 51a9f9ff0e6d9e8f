import type { Artifacts, EthereumProvider } from "hardhat/types";
import { decodeFunctionResult, encodeFunctionData, getAddress, zeroAddress, type Abi, type Address, type Hex } from "viem";
import type { LiveParameters } from "../../deploy/parameters";
import { deployContract, placeContract, sendAndMine } from "./placeContract";

/** What BSC mainnet holds at a token's address: a BEP-20 of 18 decimals (both stablecoins; not 6 as elsewhere). */
const TOKENS = {
  USDT: { name: "Tether USD", symbol: "USDT", decimals: 18 }, // BSC-USD
  USDC: { name: "USD Coin", symbol: "USDC", decimals: 18 }, // Binance-Peg USD Coin
} as const;

/**
 * Chainlink's USD feeds on BSC: a proxy at the address the parameters name, over an aggregator of its own, answering
 * in 8 decimals. Heartbeats as docs/operations.md gives them (BNB / USD 27 s; the stablecoins' 24 h, the longest any
 * source gives). Answers near real prices, none of them round, so that no amount comes out exact by luck.
 */
const FEEDS = {
  USDT: { description: "USDT / USD", decimals: 8, answer: 99_980_000n, heartbeatSeconds: 86_400 },
  USDC: { description: "USDC / USD", decimals: 8, answer: 100_010_000n, heartbeatSeconds: 86_400 },
  BNB: { description: "BNB / USD", decimals: 8, answer: 61_234_567_890n, heartbeatSeconds: 27 },
} as const;

export type AssetSymbol = keyof typeof FEEDS;

export interface PlacedFeed {
  symbol: AssetSymbol;
  /** The proxy, at the mainnet feed address: what the escrow and the API read. */
  proxy: Address;
  /** Where its rounds are reported. */
  aggregator: Address;
  description: string;
  answer: bigint;
  heartbeatSeconds: number;
}

export interface PlacedToken {
  symbol: AssetSymbol;
  address: Address;
  decimals: number;
}

async function artifactOf(artifacts: Artifacts, name: string): Promise<{ abi: Abi; bytecode: Hex }> {
  const artifact = await artifacts.readArtifact(name);
  return { abi: artifact.abi as Abi, bytecode: artifact.bytecode as Hex };
}

/**
 * Puts on the rehearsal chain what BSC mainnet has before Open Pay arrives, at the addresses of the parameters file:
 * USDT and USDC (TestToken's code, which `world` can mint as the issuers would hand out tokens), and for each
 * token a Chainlink-style feed: a RoundsAggregator deployed by `world` (Chainlink's reporter) with a first round,
 * behind a FeedProxy placed at the mainnet feed address.
 */
export async function placeMainnetStandIns(
  provider: EthereumProvider,
  artifacts: Artifacts,
  parameters: LiveParameters["OpenPay"],
  world: Address,
): Promise<{ tokens: PlacedToken[]; feeds: PlacedFeed[] }> {
  const [testToken, aggregatorCode, proxyCode] = await Promise.all([
    artifactOf(artifacts, "TestToken"),
    artifactOf(artifacts, "RoundsAggregator"),
    artifactOf(artifacts, "FeedProxy"),
  ]);
  const addresses: Record<AssetSymbol, { token: Address; feed: Address }> = {
    USDT: { token: getAddress(parameters.usdtToken), feed: getAddress(parameters.usdtFeed) },
    USDC: { token: getAddress(parameters.usdcToken), feed: getAddress(parameters.usdcFeed) },
    BNB: { token: zeroAddress, feed: getAddress(parameters.bnbFeed) },
  };

  const tokens: PlacedToken[] = [];
  for (const symbol of ["USDT", "USDC"] as const) {
    const { name, decimals } = TOKENS[symbol];
    await placeContract(provider, { from: world, ...testToken, args: [name, TOKENS[symbol].symbol, decimals] }, addresses[symbol].token);
    tokens.push({ symbol, address: addresses[symbol].token, decimals });
  }

  const feeds: PlacedFeed[] = [];
  for (const symbol of ["USDT", "USDC", "BNB"] as const) {
    const { description, decimals, answer, heartbeatSeconds } = FEEDS[symbol];
    const { address: aggregator } = await deployContract(provider, { from: world, ...aggregatorCode, args: [decimals, description] });
    await sendAndMine(provider, { from: world, to: aggregator, data: encodeFunctionData({ abi: aggregatorCode.abi, functionName: "report", args: [answer] }) });
    await placeContract(provider, { from: world, ...proxyCode, args: [aggregator] }, addresses[symbol].feed);
    feeds.push({ symbol, proxy: addresses[symbol].feed, aggregator, description, answer, heartbeatSeconds });
  }

  // Read back as BscScan would show them: the strings and the proxy's aggregator live in the copied storage.
  const call = async (to: Address, abi: Abi, functionName: string) =>
    decodeFunctionResult({
      abi,
      functionName,
      data: (await provider.request({ method: "eth_call", params: [{ to, data: encodeFunctionData({ abi, functionName }) }, "latest"] })) as Hex,
    });
  for (const token of tokens) {
    const [symbol, decimals] = [await call(token.address, testToken.abi, "symbol"), await call(token.address, testToken.abi, "decimals")];
    if (symbol !== TOKENS[token.symbol as "USDT" | "USDC"].symbol || Number(decimals) !== token.decimals) {
      throw new Error(`the ${token.symbol} placed at ${token.address} answers symbol ${String(symbol)}, decimals ${String(decimals)}`);
    }
  }
  for (const feed of feeds) {
    const [description, round] = [
      await call(feed.proxy, proxyCode.abi, "description"),
      (await call(feed.proxy, proxyCode.abi, "latestRoundData")) as readonly bigint[],
    ];
    if (description !== feed.description || round[1] !== feed.answer) {
      throw new Error(`the ${feed.description} feed placed at ${feed.proxy} answers "${String(description)}", ${String(round[1])}`);
    }
  }
  return { tokens, feeds };
}
