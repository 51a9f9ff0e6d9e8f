import type { Address, PublicClient } from "viem";
import type { DeploymentRecord } from "../chain/deployment";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { modeOfChain, type Mode } from "../payments/paymentResource";
import type { MachineSettings } from "../payments/statusMachine";
import { PriceBook, type FeedToken } from "../prices/priceBook";
import type { Price } from "../prices/tokenAmount";
import type { Store } from "../store/database";
import type { Db } from "../store/paymentStore";
import { paymentViewsFor, type PaymentViews } from "./paymentViews";

/**
 * What the roles that serve merchants and customers (api/, checkout/) share of the chain's deployment: the database,
 * the escrow, its tokens and their prices, and the payment resources.
 */
export interface GatewayContext {
  db: Db;
  /** The database's LISTEN: payment changes reach the open checkout pages through it (openpay_payments). */
  listen: Store["listen"];
  chainId: number;
  /** live on BSC mainnet, test elsewhere: keys of the other mode are refused. */
  mode: Mode;
  /** The chain, read to check what the checkout reports (a customer's reverted transaction). */
  client: PublicClient;
  escrow: Address;
  depositForwarder: Address;
  /** The tokens the escrow accepts, in the order the checkout offers them. */
  tokens: readonly FeedToken[];
  /** The escrow's limit on a payment's time to live (seconds): a longer TTL could never be paid. */
  maxTtlSeconds: number;
  prices: { current(): ReadonlyMap<string, Price>; chainNow(): bigint };
  settings: MachineSettings;
  views: PaymentViews;
}

/**
 * The tokens of a deployment with their feeds, in the record's order (USDT, USDC, BNB for Open Pay's modules), and
 * each token's index in the escrow, read from it (an intent names the tokens it accepts by index).
 */
export async function feedTokens(client: PublicClient, record: DeploymentRecord): Promise<FeedToken[]> {
  return Promise.all(
    Object.entries(record.tokens).map(async ([symbol, token]) => {
      const config = await client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "tokenConfigOf", args: [token.address] });
      if (config.index === 0) throw new Error(`the escrow at ${record.escrow} has never been given ${symbol} (${token.address}): run its deployment again`);
      return { symbol, ...token, index: config.index };
    }),
  );
}

/** The escrow's time-to-live limit at a payment's first deposit, in seconds: the API refuses longer TTLs. */
export async function maxTtlSeconds(client: PublicClient, escrow: Address): Promise<number> {
  const settings = await client.readContract({ address: escrow, abi: openPayEscrowAbi, functionName: "settings" });
  return settings.maxTtlHours * 3600;
}

/** What a gateway context is made from: the database, the chain and its deployment, where customers reach it. */
export interface GatewayDeployment {
  db: Db;
  listen: Store["listen"];
  client: PublicClient;
  record: DeploymentRecord;
  publicUrl: string;
  settings: MachineSettings;
  priceRefreshMs?: number;
}

/** Wires the shared context of a deployment; reads the feeds once so that the first payment has its quotes. */
export async function gatewayContext({ db, listen, client, record, publicUrl, settings, priceRefreshMs }: GatewayDeployment): Promise<GatewayContext> {
  const [tokens, ttlLimit] = await Promise.all([feedTokens(client, record), maxTtlSeconds(client, record.escrow)]);
  const prices = new PriceBook(client, tokens, priceRefreshMs);
  await prices.refresh();
  return {
    db,
    listen,
    chainId: record.chainId,
    mode: modeOfChain(record.chainId),
    client,
    escrow: record.escrow,
    depositForwarder: record.depositForwarder,
    tokens,
    maxTtlSeconds: ttlLimit,
    prices,
    settings,
    views: paymentViewsFor(record, publicUrl, settings.confirmations),
  };
}
