import { encodeFunctionData, zeroAddress, type Address } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { PaymentEventRefused, recordOffChainEvent } from "./offChainEvents";
import { formatDecimal, parseDecimal } from "../prices/decimalAmounts";
import { z } from "zod";
import type { KeyOwner } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { loadPaymentRecords, lockPayment } from "../store/paymentRequestStore";
import type { MachineSettings } from "../payments/statusMachine";
import type { PaymentViews } from "./paymentViews";
import { ApiError, invalidField, notFound } from "./apiErrors";
import { merchantTransaction } from "./balanceResources";
import { sameAddress } from "../payments/addresses";
import { address, decimal } from "./fieldSchemas";

/** A refund's body, in the API and the dashboard. */
export const createRefundBody = z.strictObject({
  amount: decimal("an amount of the payment's token").optional().describe("In whole tokens of the payment's token; default: everything still refundable."),
  to: address.optional().describe("Who receives the refund; default: the payment's refund_address."),
});

/** Whose refunds: a merchant in the gateway's mode (an API key's owner, or a dashboard session's merchant). */
export type RefundOwner = Pick<KeyOwner, "merchant" | "mode">;

/** What refunds read of the gateway: the chain, its escrow and tokens, the status machine's settings, the views. */
export interface RefundContext {
  db: Db;
  chainId: number;
  escrow: Address;
  tokens: ReadonlyArray<{ symbol: string; address: Address; decimals: number }>;
  settings: MachineSettings;
  views: Pick<PaymentViews, "resources" | "one">;
}

/**
 * A merchant's refund of a paid payment. The escrow pays refunds out of the merchant's balance and only the
 * merchant's own key may ask it to (`refund` checks msg.sender), so the gateway never holds that key: it records the
 * request (the payment turns `refunding`) and hands back the transaction for the merchant to sign. The indexer
 * sees its `PaymentRefunded` and moves the payment to `refunded` or `partially_refunded`.
 */
export async function requestRefund(context: RefundContext, db: Db, owner: RefundOwner, paymentId: string, body: { amount?: string; to?: Address }) {
  const id = paymentId.toLowerCase();
  return inTransaction(db, (trx) => refundLocked(context, trx, owner, id, paymentId, body));
}

/** Runs `work` in the caller's transaction, or in a new one. */
function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

async function refundLocked(context: RefundContext, db: Db, owner: RefundOwner, id: string, paymentId: string, body: { amount?: string; to?: Address }) {
  // Concurrent refunds of one payment take turns: the second sees the first's `refunding` and is a conflict.
  await lockPayment(db, context.chainId, id);
  const record = (await loadPaymentRecords(db, context.chainId, [id])).get(id);
  if (!record || record.merchantId !== owner.merchant.id || record.mode !== owner.mode) throw notFound("payment", paymentId);
  const { payment, registration } = record;
  if (!["paid", "partially_refunded"].includes(payment.status) || !payment.token) {
    throw new ApiError(409, "conflict_error", `payment ${id} is ${payment.status}: only a paid or partially refunded payment can be refunded`, "id");
  }
  const token = context.tokens.find((candidate) => sameAddress(candidate.address, payment.token!));
  if (!token) throw new ApiError(409, "conflict_error", `payment ${id} was paid in ${payment.token}, a token no longer configured here`, "id");
  const refundable = payment.paidAmount - payment.refundedAmount - payment.refundRequested;
  const amount = body.amount === undefined ? refundable : parseAmount(body.amount, token.decimals);
  if (amount === 0n) throw invalidField("amount", "must be more than zero");
  if (amount > refundable) {
    throw invalidField(
      "amount",
      `${formatDecimal(amount, token.decimals)} ${token.symbol} exceeds the ${formatDecimal(refundable, token.decimals)} still refundable`,
    );
  }
  const to = body.to ?? (registration.refundTo !== zeroAddress ? registration.refundTo : undefined);
  if (!to) throw invalidField("to", "required: the payment has no refund_address to send the refund to");
  try {
    await recordOffChainEvent(db, context.chainId, context.settings, id, { kind: "refund_requested", amount });
  } catch (error) {
    if (error instanceof PaymentEventRefused) throw new ApiError(409, "conflict_error", error.message, "amount");
    throw error;
  }
  const [updated] = await context.views.resources(db, [(await loadPaymentRecords(db, context.chainId, [id])).get(id)!], true);
  return {
    object: "refund" as const,
    payment: updated,
    amount: formatDecimal(amount, token.decimals),
    amount_units: amount.toString(),
    to,
    token: { symbol: token.symbol, address: token.address },
    ...merchantTransaction(
      {
        chainId: context.chainId,
        escrow: context.escrow,
        merchant: registration.merchant,
        name: `Open Pay refund of ${formatDecimal(amount, token.decimals)} ${token.symbol}`,
        description: `refund(${registration.id}, ${to}, ${amount}) on the Open Pay escrow`,
      },
      encodeFunctionData({ abi: openPayEscrowAbi, functionName: "refund", args: [registration.id, to, amount] }),
    ),
  };
}

/** An amount field in whole tokens, as units; a 400 naming `amount` when it is not one. */
export function parseAmount(value: string, decimals: number): bigint {
  try {
    return parseDecimal(value, decimals, "amount");
  } catch (error) {
    throw invalidField("amount", (error as Error).message.replace(/^amount: /, ""));
  }
}

/** The merchant will not sign the refund after all: the payment returns to what it was. */
export async function abandonRefund(context: RefundContext, owner: RefundOwner, paymentId: string) {
  const id = paymentId.toLowerCase();
  return inTransaction(context.db, async (db) => {
    await lockPayment(db, context.chainId, id);
    const record = (await loadPaymentRecords(db, context.chainId, [id])).get(id);
    if (!record || record.merchantId !== owner.merchant.id || record.mode !== owner.mode) throw notFound("payment", paymentId);
    try {
      await recordOffChainEvent(db, context.chainId, context.settings, id, { kind: "refund_abandoned", reason: "cancelled by the merchant" });
    } catch (error) {
      if (error instanceof PaymentEventRefused) throw new ApiError(409, "conflict_error", error.message, "id");
      throw error;
    }
    return (await context.views.one(db, id, { merchantId: owner.merchant.id, mode: owner.mode }))!;
  });
}
