import { zeroAddress, type Address, type Hex } from "viem";
import type { z } from "zod";
import type { Payment } from "../payments/payment";
import type {
  historyEntrySchema,
  paymentOptionSchema,
  paymentResourceSchema,
  recordTokenSchema,
  refundEntrySchema,
  returnedTransferSchema,
  unacceptedTransferSchema,
} from "../payments/resourceSchemas";
import { signedIntentToJson } from "../payments/signedIntentJson";
import { formatDecimal, formatUsd } from "../prices/decimalAmounts";
import { intentOf, type PaymentRegistration } from "../payments/paymentRegistration";

export type Mode = "test" | "live";

/** BNB Smart Chain mainnet: the only chain where keys are live. */
const LIVE_CHAIN_ID = 56;

/** The mode of a chain's keys, payments and events: live on BSC mainnet, test elsewhere. */
export function modeOfChain(chainId: number): Mode {
  return chainId === LIVE_CHAIN_ID ? "live" : "test";
}

/** A token the escrow accepts, as the API names it. BNB is the zero address. */
export interface TokenInfo {
  symbol: string;
  address: Address;
  decimals: number;
}

/** One way to pay: the token, the amount to send at the quoted price, and the EIP-681 URI of a scan-and-send. */
export type PaymentOption = z.infer<typeof paymentOptionSchema>;

/** What the merchant asked for with the payment (payment_requests). */
export interface PaymentRequestDetails {
  description: string | null;
  orderId: string | null;
  metadata: Record<string, string>;
  options: PaymentOption[];
  successUrl: string | null;
  cancelUrl: string | null;
  createdAt: Date;
}

export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export interface PaymentResourceInput {
  mode: Mode;
  chainId: number;
  payment: Payment;
  registration: PaymentRegistration;
  request: PaymentRequestDetails;
  updatedAt: Date;
  tokens: ReadonlyMap<string, TokenInfo>;
  checkoutUrl: string;
  confirmations: { seen: number; required: number };
  transactions: Hex[];
  history?: HistoryEntry[];
}

/** A token as money records name it: `symbol` null for a token the escrow does not take (its decimals unknown too). */
export type RecordToken = z.infer<typeof recordTokenSchema>;
/** Money sent back to a customer: an expired payment's deposit (`expiry`) or the merchant's refund (`merchant`). */
export type RefundEntry = z.infer<typeof refundEntrySchema>;
/** A transfer the escrow sent back because it could not pay the payment. */
export type ReturnedTransferEntry = z.infer<typeof returnedTransferSchema>;
/** A transfer of a token the escrow does not take to the deposit address. */
export type UnacceptedTransferEntry = z.infer<typeof unacceptedTransferSchema>;
/** An amount of a money record: in whole tokens (null when the token's decimals are unknown) and in its smallest unit. */
type RecordAmount = Pick<RefundEntry, "amount" | "amount_units" | "token">;
/** The payment as the API returns it and webhooks carry it: amounts as decimal strings, times in ISO 8601. */
export type PaymentResource = z.infer<typeof paymentResourceSchema>;

/** Builds the payment resource; pure, so that the API, the webhooks and the tests agree on every field. */
export function paymentResource(input: PaymentResourceInput): PaymentResource {
  const { payment, registration, request } = input;
  const token = payment.token ? input.tokens.get(payment.token.toLowerCase()) : undefined;
  const inToken = (units: bigint) => (token ? formatDecimal(units, token.decimals) : null);
  const amountOf = (address: Address, units: bigint): RecordAmount => {
    const known = input.tokens.get(address.toLowerCase());
    return {
      amount: known ? formatDecimal(units, known.decimals) : null,
      amount_units: units.toString(),
      token: known ? { symbol: known.symbol, address: known.address } : { symbol: null, address },
    };
  };
  const pushed = (claimable: boolean) => (claimable ? ("claimable" as const) : ("sent" as const));
  return {
    object: "payment",
    id: payment.id,
    livemode: input.mode === "live",
    chain_id: input.chainId,
    status: payment.status,
    previous_status: payment.previousStatus,
    sequence: payment.sequence,
    amount_usd: formatUsd(payment.amountUsd),
    received_usd: formatUsd(payment.receivedUsd),
    remaining_usd: formatUsd(payment.remainingUsd),
    excess_usd: formatUsd(payment.excessUsd),
    token: token ? { symbol: token.symbol, address: token.address } : null,
    paid_amount: inToken(payment.paidAmount),
    other_deposits: payment.otherDeposits.flatMap(({ token: address, amount }) => {
      const held = input.tokens.get(address.toLowerCase());
      return held ? [{ token: { symbol: held.symbol, address: held.address }, amount: formatDecimal(amount, held.decimals) }] : [];
    }),
    fee: inToken(payment.fee),
    // The merchant's refunds of a paid payment, or the deposits of an expired one sent back (never both).
    refunded_amount: inToken(payment.refundedAmount + payment.depositsReturned),
    refund_pending_amount: inToken(payment.refundRequested),
    refunds: payment.refunds.map((refund) => ({
      kind: refund.kind,
      ...amountOf(refund.token, refund.amount),
      to: refund.to,
      transaction_hash: refund.transactionHash,
      status: pushed(refund.claimable),
    })),
    returned_transfers: payment.returnedTransfers.map((returned) => ({
      reason: returned.reason,
      ...amountOf(returned.token, returned.amount),
      from: returned.from,
      to: returned.to,
      transaction_hash: returned.transactionHash,
      status: pushed(returned.claimable),
    })),
    unaccepted_transfers: payment.unacceptedTransfers.map((seen) => ({
      ...amountOf(seen.token, seen.amount),
      sender: seen.sender,
      transaction_hash: seen.transactionHash,
      status: seen.returnedBy === null ? "needs_operator" : "returned",
      returned_transaction_hash: seen.returnedBy,
    })),
    description: request.description,
    order_id: request.orderId,
    metadata: request.metadata,
    merchant: registration.merchant,
    refund_address: registration.refundTo === zeroAddress ? null : registration.refundTo,
    checkout_url: input.checkoutUrl,
    deposit_address: registration.depositAddress,
    payment_options: request.options,
    intent: signedIntentToJson(intentOf(registration), registration.signature),
    confirmations: input.confirmations,
    transactions: input.transactions,
    ...(input.history ? { history: input.history } : {}),
    expires_at: new Date(Number(registration.expiry) * 1000).toISOString(),
    created_at: request.createdAt.toISOString(),
    updated_at: input.updatedAt.toISOString(),
    success_url: request.successUrl,
    cancel_url: request.cancelUrl,
  };
}
