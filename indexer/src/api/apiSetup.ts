import type { Address, Hex, PublicClient } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { ConfirmationPolicy } from "../payments/confirmations";
import type { DeploymentRecord } from "../chain/deployment";
import { tokenCatalogue } from "../chain/tokenCatalogue";
import type { MachineSettings } from "../payments/statusMachine";
import { PriceBook, type FeedToken } from "../prices/priceBook";
import type { Store } from "../store/database";
import type { Db } from "../store/paymentStore";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import { WebhookWakeup } from "../store/webhookWakeup";
import type { ApiContext } from "./apiContext";
import { AuthFailureLimit } from "./authFailureLimit";
import { Authenticator } from "./authentication";
import { IntentSigner } from "./intentSigner";
import { modeOfChain } from "../payments/paymentResource";
import { PaymentViews } from "../ledger/paymentViews";

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

/** Payment resources of a deployment's payments, with checkout links under `publicUrl`. */
export function paymentViewsFor(record: DeploymentRecord, publicUrl: string, confirmations: ConfirmationPolicy): PaymentViews {
  return new PaymentViews({ chainId: record.chainId, tokens: tokenCatalogue(record), publicUrl, confirmations });
}

/** Wires the API's context for a deployment; reads the feeds once so that the first payment has its quotes. */
export async function apiContext({
  db,
  listen,
  client,
  record,
  signerKey,
  publicUrl,
  settings,
  webhookAllowList,
  priceRefreshMs,
  authFailureLimit,
}: {
  db: Db;
  listen: Store["listen"];
  client: PublicClient;
  record: DeploymentRecord;
  /** INTENT_SIGNER_PRIVATE_KEY. */
  signerKey: Hex;
  publicUrl: string;
  settings: MachineSettings;
  webhookAllowList: AllowList;
  priceRefreshMs?: number;
  /** Unknown or revoked keys a client address may send per minute before its keys are no longer looked up. */
  authFailureLimit?: number;
}): Promise<ApiContext> {
  const [tokens, ttlLimit] = await Promise.all([feedTokens(client, record), maxTtlSeconds(client, record.escrow)]);
  const prices = new PriceBook(client, tokens, priceRefreshMs);
  await prices.refresh();
  const mode = modeOfChain(record.chainId);
  return {
    db,
    listen,
    chainId: record.chainId,
    mode,
    client,
    escrow: record.escrow,
    depositForwarder: record.depositForwarder,
    tokens,
    maxTtlSeconds: ttlLimit,
    prices,
    intents: new IntentSigner(signerKey, { chainId: record.chainId, escrow: record.escrow }),
    settings,
    views: paymentViewsFor(record, publicUrl, settings.confirmations),
    auth: new Authenticator(db, mode, record.chainId, new AuthFailureLimit(authFailureLimit)),
    webhookWakeup: new WebhookWakeup(db),
    webhookAllowList,
  };
}
