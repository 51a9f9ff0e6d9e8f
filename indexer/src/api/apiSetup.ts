import type { Hex } from "viem";
import { gatewayContext, type GatewayDeployment } from "../ledger/gatewayContext";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import { WebhookWakeup } from "../store/webhookWakeup";
import type { ApiContext } from "./apiContext";
import { AuthFailureLimit } from "./authFailureLimit";
import { Authenticator } from "./authentication";
import { IntentSigner } from "./intentSigner";

/** Wires the API's context for a deployment; reads the feeds once so that the first payment has its quotes. */
export async function apiContext({
  signerKey,
  webhookAllowList,
  authFailureLimit,
  ...deployment
}: GatewayDeployment & {
  /** INTENT_SIGNER_PRIVATE_KEY. */
  signerKey: Hex;
  webhookAllowList: AllowList;
  /** Unknown or revoked keys a client address may send per minute before its keys are no longer looked up. */
  authFailureLimit?: number;
}): Promise<ApiContext> {
  const gateway = await gatewayContext(deployment);
  return {
    ...gateway,
    intents: new IntentSigner(signerKey, { chainId: gateway.chainId, escrow: gateway.escrow }),
    auth: new Authenticator(gateway.db, gateway.mode, gateway.chainId, new AuthFailureLimit(authFailureLimit)),
    webhookWakeup: new WebhookWakeup(gateway.db),
    webhookAllowList,
  };
}
