import { zeroAddress, type Address, type Hex } from "viem";
import { depositAddress } from "../chain/depositAddress";
import type { ConfirmationPolicy } from "../payments/confirmations";
import { acceptedTokenMask, newPaymentId, type PaymentIntent } from "../payments/paymentIntent";
import { paymentResource, type PaymentResource, type TokenInfo } from "../payments/paymentResource";
import { parseUsd } from "../prices/decimalAmounts";
import { paymentOptions } from "../prices/paymentOptions";
import type { FeedToken } from "../prices/priceBook";
import type { Price } from "../prices/tokenAmount";
import type { KeyClaim } from "../store/idempotencyStore";
import type { KeyOwner } from "../store/merchantStore";
import { newPayment } from "../payments/payment";
import { insertApiPayment } from "../store/paymentRequestStore";
import type { Db } from "../store/paymentStore";
import { invalidField } from "./apiErrors";
import { checkoutUrl } from "./paymentViews";

export const DEFAULT_TTL_SECONDS = 30 * 60;

/** What creating a payment reads of the gateway: the chain's escrow, its tokens and their prices, the intent signer. */
export interface PaymentCreationContext {
  chainId: number;
  escrow: Address;
  depositForwarder: Address;
  /** The tokens the escrow accepts, in the order the checkout offers them. */
  tokens: readonly FeedToken[];
  /** The escrow's limit on a payment's time to live (seconds). */
  maxTtlSeconds: number;
  prices: { current(): ReadonlyMap<string, Price>; chainNow(): bigint };
  intents: { sign(intent: PaymentIntent): { digest: Hex; signature: Hex } };
  views: { tokens: ReadonlyMap<string, TokenInfo>; publicUrl: string };
  settings: { confirmations: ConfirmationPolicy };
}

/** What the merchant asks for (POST /v1/payments, validated). */
export interface PaymentOrder {
  amount_usd: string;
  description?: string;
  order_id?: string;
  metadata?: Record<string, string>;
  ttl_seconds?: number;
  /** Symbols of the tokens offered; every accepted token when absent. */
  tokens?: string[];
  success_url?: string;
  cancel_url?: string;
  refund_address?: Address;
}

/**
 * Creates a payment: new id in the merchant's namespace, the terms signed, the deposit address derived, the
 * amount quoted in each offered token, and everything stored with its `payment.created` event. Nothing goes on
 * chain: most checkouts are abandoned, so a payment costs gas only once money moves.
 */
export async function createPayment(
  context: PaymentCreationContext,
  db: Db,
  owner: KeyOwner,
  body: PaymentOrder,
  /** An Idempotency-Key to claim in the same statement, with the resource as its response. */
  key?: KeyClaim,
): Promise<PaymentResource> {
  const offered = body.tokens
    ? body.tokens.map((symbol) => {
        const token = context.tokens.find((candidate) => candidate.symbol.toUpperCase() === symbol.toUpperCase());
        if (!token) throw invalidField("tokens", `${symbol} is not accepted here; one or more of ${context.tokens.map((t) => t.symbol).join(", ")}`);
        return token;
      })
    : context.tokens;
  const amountUsd = parseUsd(body.amount_usd, "amount_usd");
  const ttl = body.ttl_seconds ?? DEFAULT_TTL_SECONDS;
  if (ttl > context.maxTtlSeconds) {
    throw invalidField("ttl_seconds", `must be at most ${context.maxTtlSeconds} (the escrow's time-to-live limit), got ${ttl}`);
  }
  const intent: PaymentIntent = {
    paymentId: newPaymentId(owner.merchant.address),
    merchant: owner.merchant.address,
    amountUsd,
    expiry: context.prices.chainNow() + BigInt(ttl),
    refundTo: body.refund_address ?? zeroAddress,
    // The escrow takes deposits only in these, each adding up apart (docs/contracts.md, "token-choice").
    acceptedTokens: acceptedTokenMask(offered.map((token) => token.index)),
  };
  const { digest, signature } = context.intents.sign(intent);
  const address = depositAddress({ escrow: context.escrow, forwarderImplementation: context.depositForwarder, digest });
  const options = paymentOptions({ amountUsd, depositAddress: address, chainId: context.chainId, tokens: offered, prices: context.prices.current() });
  const { acceptedTokens: acceptedTokenMaskOfIntent, ...terms } = intent;
  const registration = {
    chainId: context.chainId,
    id: intent.paymentId,
    ...terms,
    acceptedTokenMask: acceptedTokenMaskOfIntent,
    acceptedTokens: offered.map((token) => token.address),
    signature,
    depositAddress: address,
  };
  const request = {
    chainId: context.chainId,
    paymentId: intent.paymentId,
    merchantId: owner.merchant.id,
    mode: owner.mode,
    description: body.description ?? null,
    orderId: body.order_id ?? null,
    metadata: body.metadata ?? {},
    options,
    successUrl: body.success_url ?? null,
    cancelUrl: body.cancel_url ?? null,
  };
  const now = new Date();
  const payment = newPayment(registration);
  const resource = paymentResource({
    mode: owner.mode,
    chainId: context.chainId,
    payment,
    registration,
    request: { ...request, createdAt: now },
    updatedAt: now,
    tokens: context.views.tokens,
    checkoutUrl: checkoutUrl(context.views.publicUrl, payment.id),
    confirmations: { seen: 0, required: context.settings.confirmations.depth },
    transactions: [],
  });
  await insertApiPayment(db, registration, request, now, key && { ...key, response: resource });
  return resource;
}
