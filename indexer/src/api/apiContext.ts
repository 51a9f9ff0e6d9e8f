import type { GatewayContext } from "../ledger/gatewayContext";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import type { WebhookWakeup } from "../store/webhookWakeup";
import type { Authenticator } from "./authentication";
import type { IntentSigner } from "./intentSigner";

/** Everything the API's routes use: the deployment's shared context, the intent signer and the keys' owners. */
export interface ApiContext extends GatewayContext {
  /** Signs this escrow's payment intents with a key every merchant of this gateway authorised on the escrow. */
  intents: IntentSigner;
  auth: Authenticator;
  /** Announces new payments' `payment.created` events to the webhook workers. */
  webhookWakeup: WebhookWakeup;
  /** CIDRs webhook URLs may resolve to although private (WEBHOOK_ALLOWED_CIDRS). */
  webhookAllowList: AllowList;
}
