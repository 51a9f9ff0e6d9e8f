import { z } from "zod";
import { parseFrameOrigin } from "../payments/frameAncestors";
import { paymentId, paymentIdParams } from "../payments/paymentId";
import { paymentResourceSchema, tokenRefSchema, withdrawalSchema } from "../payments/resourceSchemas";
import { paymentListQuery } from "../ledger/paymentList";
import { address, decimal, httpUrl, text } from "../ledger/fieldSchemas";
import { createEndpointBody, endpointIdParams, eventType, updateEndpointBody } from "../ledger/webhookEndpoints";
import { eventIdParams, resendFailedBody } from "../ledger/webhookResends";
import { createWithdrawalBody } from "../ledger/merchantBalances";
import { createRefundBody } from "../ledger/refundRequest";
import { BALANCE_EVENT_TYPES, PAYMENT_EVENT_TYPES } from "../payments/webhookEventTypes";

// The bodies the dashboard takes too, defined beside the ledger functions both call.
export { createRefundBody, createWithdrawalBody, createEndpointBody, updateEndpointBody, endpointIdParams, eventIdParams, resendFailedBody };

/**
 * The request and response schemas of the merchant API: they validate requests, serialise responses and are the
 * OpenAPI document (`/openapi.json`), so the three cannot drift apart.
 */

export const createPaymentBody = z.strictObject({
  amount_usd: decimal("a positive USD amount").refine((value) => /[1-9]/.test(value), "must be more than zero"),
  description: text(500).optional(),
  order_id: text(200).min(1).optional(),
  metadata: z
    .record(text(40).min(1), text(500))
    .refine((value) => Object.keys(value).length <= 50, "at most 50 keys")
    .optional(),
  ttl_seconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .optional()
    .describe("Seconds until the payment expires (default 1800), at most the escrow's time-to-live limit (86400 at deployment)."),
  tokens: z
    .array(z.string().min(1).max(20))
    .min(1)
    .max(10)
    .refine((value) => new Set(value.map((symbol) => symbol.toUpperCase())).size === value.length, "must not repeat a token")
    .optional()
    .describe("Symbols of the tokens offered (default: every token the escrow accepts)."),
  success_url: httpUrl.optional(),
  cancel_url: httpUrl.optional(),
  refund_address: address.optional().describe("Where refunds of partial deposits go; default: back to each payer."),
});
export type CreatePaymentBody = z.output<typeof createPaymentBody>;

export { paymentIdParams };

/** GET /v1/payments's query: the application layer's (ledger/paymentList.ts), shared with the dashboard. */
export { paymentListQuery as listPaymentsQuery };

export const paymentListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(paymentResourceSchema),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: "PaymentList", description: "A page of payments, newest first: pass `next_cursor` as `starting_after` for the next." });

const merchantTransactionSchema = {
  transaction: z
    .object({ chain_id: z.number().int(), from: z.string(), to: z.string(), data: z.string(), value: z.string() })
    .meta({ id: "MerchantTransaction", description: "The escrow call, to be signed and sent from the merchant's own address (eth_sendTransaction)." }),
  safe_transaction_batch: z
    .object({
      version: z.string(),
      chainId: z.string(),
      createdAt: z.number().int(),
      meta: z.object({ name: z.string(), description: z.string(), createdFromSafeAddress: z.string() }),
      transactions: z.array(z.object({ to: z.string(), value: z.string(), data: z.string() })),
    })
    .meta({
      id: "SafeTransactionBatch",
      description: "The same call as a Safe{Wallet} Transaction Builder batch file, for a merchant address that is a Safe.",
    }),
};

export const refundSchema = z
  .object({
    object: z.literal("refund"),
    payment: paymentResourceSchema,
    amount: z.string(),
    amount_units: z.string(),
    to: z.string(),
    token: tokenRefSchema,
    ...merchantTransactionSchema,
  })
  .meta({ id: "Refund", description: "A refund requested: the payment (now `refunding`) and the escrow call the merchant signs." });

const tokenBalanceSchema = z
  .object({
    token: z.object({ symbol: z.string(), address: z.string(), decimals: z.number().int() }),
    balance: z.string().describe("The escrow's balance at as_of.block_number, in whole tokens: what balanceOf(merchant, token) answers there."),
    balance_units: z.string(),
    confirmed: z.string().describe("The part of the balance made of movements at or below as_of.confirmed_block_number."),
    withdrawable: z.string().describe("What POST /v1/withdrawals may take: the balance less the refunds requested."),
    withdrawable_units: z.string(),
    pending: z.object({
      confirming_payments: z.string().describe("Credits of payments still confirming: in the balance, not yet final."),
      unconfirmed_debits: z.string().describe("Refunds and withdrawals not yet final: already out of the balance."),
      refunds_requested: z.string().describe("Refunds requested through the API (payments `refunding`) not yet on chain."),
    }),
    fees: z.string().describe("Platform fees the escrow took from this merchant's payments in the token."),
    totals: z.object({ credited: z.string(), refunded: z.string(), withdrawn: z.string() }),
  })
  .meta({ id: "TokenBalance", description: "One token's escrow balance, amounts in whole tokens." });

export const balanceSchema = z
  .object({
    object: z.literal("balance"),
    merchant: z.string(),
    as_of: z.object({
      block_number: z.number().int().nullable().describe("The indexer's checkpoint: the block the balances are as of."),
      block_hash: z.string().nullable(),
      confirmed_block_number: z.number().int().nullable().describe("The newest block final under the confirmation depth."),
    }),
    data: z.array(tokenBalanceSchema),
  })
  .meta({ id: "Balances", description: "The merchant's escrow balance per token, as indexed." });

export const withdrawalRequestSchema = z
  .object({
    object: z.literal("withdrawal_request"),
    token: tokenRefSchema,
    amount: z.string(),
    amount_units: z.string(),
    as_of_block_number: z.number().int().nullable(),
    ...merchantTransactionSchema,
  })
  .meta({ id: "WithdrawalRequest", description: "A withdrawal to sign: the escrow pays it to the merchant's payout wallet." });

/** The bodies of webhook deliveries: the API's document lists them under `webhooks` (webhookDocument.ts). */
export const paymentWebhookEventSchema = z
  .object({
    type: z.enum(PAYMENT_EVENT_TYPES),
    timestamp: z.string().describe("When the change was committed (ISO 8601)."),
    data: paymentResourceSchema,
  })
  .meta({ id: "PaymentWebhookEvent", description: "A payment's change: the payment as of that change (without `history`)." });

export const withdrawalWebhookEventSchema = z
  .object({
    type: z.enum(BALANCE_EVENT_TYPES),
    timestamp: z.string().describe("When the withdrawal was confirmed (ISO 8601)."),
    data: withdrawalSchema,
  })
  .meta({ id: "WithdrawalWebhookEvent", description: "A withdrawal of the merchant's escrow balance, once confirmed." });

export const endpointSchema = z
  .object({
    object: z.literal("webhook_endpoint"),
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    event_types: z.array(z.string()).nullable(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    failing_since: z.string().nullable(),
    created_at: z.string(),
    secret: z.string().optional().describe("Shown only when the endpoint is created and when its secret is rotated."),
  })
  .meta({ id: "WebhookEndpoint", description: "Where the gateway sends signed webhooks, and for which event types." });

export const endpointListSchema = z
  .object({ object: z.literal("list"), data: z.array(endpointSchema) })
  .meta({ id: "WebhookEndpointList", description: "Every webhook endpoint of the merchant." });

export const deletedEndpointSchema = z
  .object({ object: z.literal("webhook_endpoint"), id: z.string(), deleted: z.literal(true) })
  .meta({ id: "DeletedWebhookEndpoint", description: "The endpoint deleted: no more deliveries go to it." });

const frameOrigin = z
  .string()
  .max(300)
  .transform((value, context) => {
    const parsed = parseFrameOrigin(value);
    if ("origin" in parsed) return parsed.origin;
    context.addIssue({ code: "custom", message: parsed.problem, input: value });
    return z.NEVER;
  });

export const updateCheckoutSettingsBody = z.strictObject({
  checkout_frame_origins: z
    .array(frameOrigin)
    .max(20)
    .optional()
    .describe("Origins (https://host[:port]; http only for localhost) allowed to show the checkout in an iframe; [] forbids framing."),
  site_url: httpUrl.nullable().optional().describe("The shop's address: an expired or failed checkout returns there when the payment has no cancel_url."),
});

export const checkoutSettingsSchema = z
  .object({
    object: z.literal("checkout_settings"),
    checkout_frame_origins: z.array(z.string()),
    site_url: z.string().nullable(),
  })
  .meta({ id: "CheckoutSettings", description: "Who may frame the hosted checkout, and where it returns the shopper." });

export const listEventsQuery = z.strictObject({
  type: eventType.optional(),
  payment_id: paymentId.optional(),
  delivery_status: z.enum(["pending", "succeeded", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(200).optional(),
});

const attemptSchema = z
  .object({
    attempt: z.number().int(),
    at: z.string(),
    duration_ms: z.number().int(),
    response_status: z.number().int().nullable(),
    error: z.string().nullable(),
    signature: z
      .string()
      .nullable()
      .describe("The `webhook-signature` header sent (`webhook-id` is the event's id, `webhook-timestamp` this attempt's `at` in seconds)."),
    response_excerpt: z.string().nullable().describe("The first 200 bytes of a failed attempt's response body, if it had one; null on a success (not kept)."),
  })
  .meta({ id: "DeliveryAttempt", description: "One try at delivering an event to an endpoint." });

export const eventSchema = z
  .object({
    object: z.literal("event"),
    id: z.string(),
    type: z.string(),
    payment_id: z.string(),
    sequence: z.number().int(),
    created_at: z.string(),
    data: z.unknown().describe("The body delivered, parsed."),
    deliveries: z.array(
      z.object({
        endpoint_id: z.string(),
        status: z.enum(["pending", "succeeded", "failed"]),
        attempts: z.array(attemptSchema),
        next_attempt_at: z.string().nullable(),
        last_error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "Event", description: "A webhook event as logged, with its deliveries to each subscribed endpoint." });

export const eventListSchema = z
  .object({ object: z.literal("list"), data: z.array(eventSchema), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .meta({ id: "EventList", description: "A page of events, newest first: pass `next_cursor` as `starting_after` for the next." });

export const resendSchema = z
  .object({ object: z.literal("resend"), deliveries: z.number().int() })
  .meta({ id: "Resend", description: "How many deliveries were queued again." });

export const errorSchema = z
  .object({ error: z.object({ type: z.string(), message: z.string(), field: z.string().optional() }) })
  .meta({ id: "Error", description: "Every error: its type, what was wrong, and the field at fault when there is one." });
