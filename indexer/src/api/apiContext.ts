import type { Address, PublicClient } from "viem";
import type { MachineSettings } from "../payments/statusMachine";
import type { FeedToken } from "../prices/priceBook";
import type { Price } from "../prices/tokenAmount";
import type { Store } from "../store/database";
import type { Db } from "../store/paymentStore";
import type { Authenticator } from "./authentication";
import type { IntentSigner } from "./intentSigner";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import type { WebhookWakeup } from "../store/webhookWakeup";
import type { Mode } from "../payments/paymentResource";
import type { PaymentViews } from "../ledger/paymentViews";

/** Everything the API's routes use: the database, the chain's deployment, prices, the intent signer. */
export interface ApiContext {
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
  /** Signs this escrow's payment intents with a key every merchant of this gateway authorised on the escrow. */
  intents: IntentSigner;
  settings: MachineSettings;
  views: PaymentViews;
  auth: Authenticator;
  /** Announces new payments' `payment.created` events to the webhook workers. */
  webhookWakeup: WebhookWakeup;
  /** CIDRs webhook URLs may resolve to although private (WEBHOOK_ALLOWED_CIDRS). */
  webhookAllowList: AllowList;
}
