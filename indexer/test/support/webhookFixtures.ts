import { randomBytes } from "node:crypto";
import pino from "pino";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import type { Mode } from "../../src/payments/paymentResource";
import { PaymentViews } from "../../src/ledger/paymentViews";
import { recordOffChainEvent } from "../../src/ledger/offChainEvents";
import type { MachineSettings } from "../../src/payments/statusMachine";
import { createMerchant, type Merchant } from "../../src/store/merchantStore";
import { insertApiPayment } from "../../src/store/paymentRequestStore";
import type { Db } from "../../src/store/paymentStore";
import { createEndpoint, type WebhookEndpoint } from "../../src/store/webhookEndpointStore";
import { parseAllowList } from "../../src/ledger/webhookAddressPolicy";
import type { WebhookEventType } from "../../src/payments/webhookEventTypes";

/**
 * Merchants, endpoints and payments written straight through the stores, for the webhook tests: they need no chain,
 * only the rows the API and the indexer would have written.
 */

export const WEBHOOK_CHAIN_ID = 31337;
export const MACHINE_SETTINGS: MachineSettings = { confirmations: { depth: 12, mode: "depth" }, lateCollectWindow: 3600n };
/** The tests' receivers listen on 127.0.0.1, which only the operator's allow-list lets deliveries reach. */
export const ALLOW_LOCALHOST = parseAllowList("127.0.0.1/32");
export const silentLogger = pino({ level: "silent" });

export function testViews(chainId = WEBHOOK_CHAIN_ID): PaymentViews {
  return new PaymentViews({ chainId, tokens: new Map(), publicUrl: "http://127.0.0.1:8080", confirmations: { depth: 12, mode: "depth" } });
}

const randomAddress = (): Address => getAddress(`0x${randomBytes(20).toString("hex")}`);

export function newMerchant(db: Db, name = "Test shop"): Promise<Merchant> {
  return createMerchant(db, { name, address: randomAddress() });
}

export function newEndpoint(
  db: Db,
  merchant: Merchant,
  url: string,
  { mode = "test", eventTypes = null }: { mode?: Mode; eventTypes?: WebhookEventType[] | null } = {},
): Promise<WebhookEndpoint> {
  return createEndpoint(db, { merchantId: merchant.id, mode, url, description: null, eventTypes });
}

/** A payment created through the API's store (its `payment.created` outbox row included); returns its id. */
export async function newPayment(db: Db, merchant: Merchant, { mode = "test", orderId = null }: { mode?: Mode; orderId?: string | null } = {}): Promise<Hex> {
  const id = `0x${randomBytes(32).toString("hex")}` as Hex;
  await insertApiPayment(
    db,
    {
      chainId: WEBHOOK_CHAIN_ID,
      id,
      merchant: merchant.address,
      amountUsd: 25n * 10n ** 18n,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 1800),
      refundTo: zeroAddress,
      acceptedTokenMask: 0b1000n,
      acceptedTokens: [zeroAddress],
      signature: `0x${"11".repeat(65)}`,
      depositAddress: randomAddress(),
    },
    {
      chainId: WEBHOOK_CHAIN_ID,
      paymentId: id,
      merchantId: merchant.id,
      mode,
      description: "A test order",
      orderId,
      metadata: { cart: "42" },
      options: [],
      successUrl: null,
      cancelUrl: null,
    },
    new Date(),
  );
  return id;
}

/** The customer opens the checkout: initiated → pending, a real status change with its outbox row. */
export async function openCheckout(db: Db, paymentId: Hex): Promise<void> {
  await recordOffChainEvent(db, WEBHOOK_CHAIN_ID, MACHINE_SETTINGS, paymentId, { kind: "checkout_opened" });
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
