import { z } from "zod";
import { RETURN_REASONS } from "./payment";
import { PAYMENT_STATUSES } from "./statuses";

/**
 * The payment resource as merchants see it (API responses and webhook bodies), written once: paymentResource.ts
 * renders it with the types inferred from these schemas, the API's OpenAPI document publishes them (each `id` is a
 * component name there, and so a type name in the SDK generated from it), and the SDK's types come from that document.
 */

/** `0x` and hex digits, typed as viem's `0x${string}` (Address and Hex alike). */
const hexDigits = (digits: number | undefined) =>
  z.templateLiteral(["0x", z.string().regex(new RegExp(`^[0-9a-fA-F]${digits === undefined ? "*" : `{${digits}}`}$`))]);
const address = hexDigits(40);
const hash = hexDigits(64);

export const paymentStatusSchema = z.enum(PAYMENT_STATUSES).meta({ id: "PaymentStatus" });

/** A token the escrow accepts: its symbol (BNB for the chain's coin, at the zero address) and address. */
export const tokenRefSchema = z.object({ symbol: z.string(), address }).meta({ id: "TokenRef" });

export const paymentOptionSchema = z
  .object({
    token: z.string(),
    address,
    decimals: z.number().int(),
    amount: z.string().describe("The amount to send at the quoted price, in whole tokens (a decimal string)."),
    amount_units: z.string().describe("The same in the token's smallest unit."),
    uri: z.string().describe("EIP-681 URI of a plain transfer of `amount` to the deposit address."),
  })
  .meta({ id: "PaymentOption", description: "One way to pay: a token, and the exact amount to send now." });

export const historyEntrySchema = z
  .object({
    sequence: z.number().int(),
    from: paymentStatusSchema,
    to: paymentStatusSchema,
    reason: z.string(),
    transaction_hash: hash.nullable(),
    block_number: z.number().int().nullable(),
    at: z.string(),
  })
  .meta({ id: "HistoryEntry", description: "One status change of a payment." });

export const recordTokenSchema = z
  .object({ symbol: z.string().nullable(), address })
  .meta({ id: "RecordToken", description: "A token as money records name it: `symbol` null for a token the escrow does not take." });

/** An amount of a money record: in whole tokens (null when the token's decimals are unknown) and in its smallest unit. */
const recordAmount = {
  amount: z.string().nullable().describe("In whole tokens; null for a token the escrow does not take (its decimals are not known)."),
  amount_units: z.string().describe("In the token's smallest unit."),
  token: recordTokenSchema,
};
const pushStatus = z.enum(["sent", "claimable"]).describe("claimable: the escrow could not push it and holds it for the receiver to claim.");

export const refundEntrySchema = z
  .object({
    kind: z.enum(["expiry", "merchant"]).describe("expiry: a deposit of the expired payment sent back; merchant: your refund."),
    ...recordAmount,
    to: address,
    transaction_hash: hash,
    status: pushStatus,
  })
  .meta({ id: "RefundEntry", description: "Money sent back to a customer: an expired payment's deposit, or the merchant's refund." });

export const returnedTransferSchema = z
  .object({
    reason: z.enum(RETURN_REASONS),
    ...recordAmount,
    from: address.describe("Where the money was held: the deposit's payer, or the deposit address."),
    to: address,
    transaction_hash: hash.describe("The transaction that sent it back."),
    status: pushStatus,
  })
  .meta({ id: "ReturnedTransfer", description: "A transfer the escrow sent back because it could not pay the payment." });

export const unacceptedTransferSchema = z
  .object({
    ...recordAmount,
    sender: address,
    transaction_hash: hash,
    status: z.enum(["needs_operator", "returned"]).describe("needs_operator until the gateway's operator sends it back."),
    returned_transaction_hash: hash.nullable(),
  })
  .meta({ id: "UnacceptedTransfer", description: "A transfer of a token the escrow does not take to the deposit address." });

export const signedIntentSchema = z
  .object({
    intent: z.object({
      paymentId: hash,
      merchant: z.string(),
      amountUsd: z.string(),
      expiry: z.string(),
      refundTo: z.string(),
      acceptedTokens: z.string(),
    }),
    signature: hexDigits(undefined),
  })
  .meta({ id: "SignedIntent", description: "The payment's terms as the intent signer signed them (EIP-712), integers as decimal strings." });

export const paymentResourceSchema = z
  .object({
    object: z.literal("payment"),
    id: hash,
    livemode: z.boolean(),
    chain_id: z.number().int(),
    status: paymentStatusSchema,
    previous_status: paymentStatusSchema.nullable(),
    sequence: z.number().int().describe("Number of status changes so far: webhooks with a lower sequence are stale."),
    amount_usd: z.string(),
    received_usd: z.string(),
    remaining_usd: z.string(),
    excess_usd: z.string(),
    token: tokenRefSchema.nullable(),
    paid_amount: z.string().nullable(),
    other_deposits: z
      .array(z.object({ token: tokenRefSchema, amount: z.string() }))
      .describe(
        "What the payment holds in its other accepted tokens, not yet sent back (each token adds up apart, and those that " +
          "do not pay it go back to their payers).",
      ),
    fee: z.string().nullable(),
    refunded_amount: z.string().nullable(),
    refund_pending_amount: z.string().nullable(),
    refunds: z.array(refundEntrySchema).describe("Money sent back to customers: an expired payment's deposits and your refunds."),
    returned_transfers: z.array(returnedTransferSchema).describe("Transfers the escrow sent back because they could not pay the payment."),
    unaccepted_transfers: z.array(unacceptedTransferSchema).describe("Transfers of tokens the escrow does not take to the deposit address."),
    description: z.string().nullable(),
    order_id: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    merchant: address,
    refund_address: address.nullable(),
    checkout_url: z.string(),
    deposit_address: address,
    payment_options: z.array(paymentOptionSchema),
    intent: signedIntentSchema,
    confirmations: z.object({ seen: z.number().int(), required: z.number().int() }),
    transactions: z.array(hash),
    history: z.array(historyEntrySchema).optional().describe("Only when one payment is asked for (and in refund responses); not in lists or webhooks."),
    expires_at: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    success_url: z.string().nullable(),
    cancel_url: z.string().nullable(),
  })
  .meta({ id: "Payment", description: "A payment as the API returns it and webhooks carry it: amounts as decimal strings, times in ISO 8601." });

/** A confirmed withdrawal, as `balance.withdrawn` carries it (balanceResources.ts renders it). */
export const withdrawalSchema = z
  .object({
    object: z.literal("withdrawal"),
    id: z.string(),
    merchant: z.string(),
    payout: z.string().describe("The payout wallet the escrow paid."),
    token: tokenRefSchema,
    amount: z.string(),
    amount_units: z.string(),
    transaction_hash: z.string(),
    block_number: z.number().int(),
  })
  .meta({ id: "Withdrawal", description: "A withdrawal of the escrow balance to the payout wallet, confirmed on chain." });
export type WithdrawalResource = z.infer<typeof withdrawalSchema>;
