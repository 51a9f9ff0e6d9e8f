import type { Address, LocalAccount } from "viem";
import type { MachineSettings } from "../payments/statusMachine";
import type { FeedToken } from "../prices/priceBook";
import type { Price } from "../prices/tokenAmount";
import type { Db } from "../store/paymentStore";
import type { Authenticator } from "./authentication";
import type { AllowList } from "../webhooks/addressPolicy";
import type { Mode } from "./paymentResource";
import type { PaymentViews } from "./paymentViews";

/** Everything the API's routes use: the database, the chain's deployment, prices, the intent signer. */
export interface ApiContext {
  db: Db;
  chainId: number;
  /** live on BSC mainnet, test elsewhere: keys of the other mode are refused. */
  mode: Mode;
  escrow: Address;
  depositForwarder: Address;
  /** The tokens the escrow accepts, in the order the checkout offers them. */
  tokens: readonly FeedToken[];
  prices: { current(): ReadonlyMap<string, Price>; chainNow(): bigint };
  /** Signs payment intents: a signer every merchant of this gateway authorised on the escrow. */
  signer: LocalAccount;
  settings: MachineSettings;
  views: PaymentViews;
  auth: Authenticator;
  /** CIDRs webhook URLs may resolve to although private (WEBHOOK_ALLOWED_CIDRS). */
  webhookAllowList: AllowList;
}
