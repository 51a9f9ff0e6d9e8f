import type { Address, PublicClient } from "viem";
import type { Mode } from "../payments/paymentResource";
import type { MachineSettings } from "../payments/statusMachine";
import type { FeedToken } from "../prices/priceBook";
import type { Price } from "../prices/tokenAmount";
import type { Store } from "../store/database";
import type { Db } from "../store/paymentStore";
import type { PaymentViews } from "./paymentViews";

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
