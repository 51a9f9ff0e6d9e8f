import { z } from "zod";
import type { Mode, PaymentResource } from "../payments/paymentResource";
import { PAYMENT_STATUSES, type PaymentStatus } from "../payments/statuses";
import { parseUsd } from "../prices/decimalAmounts";
import { listPaymentRecords, type PaymentFilter, type PaymentRecord } from "../store/paymentRequestStore";
import { invalidField } from "./apiErrors";
import { isoTime, text } from "./fieldSchemas";
import type { GatewayContext } from "./gatewayContext";
import { decodeCursor, pageOf } from "./pageCursor";

/**
 * Listing a merchant's payments, for the merchant API (GET /v1/payments) and the dashboard: one reading of the
 * filters, one keyset order (newest first, by created time then id, so that a page never repeats or skips a payment
 * while new ones arrive), one resource per payment.
 */

/** The filters and page of GET /v1/payments and of the dashboard's list. */
export const paymentListQuery = z.strictObject({
  status: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const statuses = value.split(",").map((status) => status.trim());
      const unknown = statuses.filter((status) => !(PAYMENT_STATUSES as readonly string[]).includes(status));
      if (unknown.length > 0) {
        ctx.addIssue({ code: "custom", message: `unknown status ${unknown.join(", ")}; one or more of ${PAYMENT_STATUSES.join(", ")}, comma-separated` });
        return z.NEVER;
      }
      return statuses as PaymentStatus[];
    })
    .describe("Comma-separated statuses."),
  created_from: isoTime.optional().describe("Payments created at or after this time."),
  created_to: isoTime.optional().describe("Payments created before this time."),
  order_id: text(200).optional(),
  token: z.string().max(20).optional().describe("Payments paid in this token: its symbol (any case), one the gateway takes."),
  amount_min: z.string().max(40).optional().describe("Payments asking at least this many USD (a decimal string, at most 18 decimals)."),
  amount_max: z.string().max(40).optional().describe("Payments asking at most this many USD (a decimal string, at most 18 decimals)."),
  search: text(200).optional().describe("Payments whose id or deposit address (either in any case) or order id starts with this text."),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(200).optional().describe("`next_cursor` of the previous page."),
});
export type PaymentListQuery = z.output<typeof paymentListQuery>;

/** Whose payments a list shows: a merchant's, in the gateway's mode. */
export interface ListOwner {
  merchantId: string;
  mode: Mode;
}

const usdBound = (field: string, value: string | undefined) => {
  if (value === undefined || value === "") return undefined;
  try {
    return parseUsd(value, field);
  } catch (error) {
    throw invalidField(field, (error as Error).message.replace(`${field}: `, ""));
  }
};

/** The store's filter for `query`, or a 400 naming the field that cannot be one. */
export function paymentFilter(
  context: Pick<GatewayContext, "tokens">,
  owner: ListOwner,
  query: Omit<PaymentListQuery, "limit" | "starting_after">,
): Omit<PaymentFilter, "limit" | "after"> {
  let token: string | undefined;
  if (query.token) {
    const symbol = query.token.toUpperCase();
    const found = context.tokens.find((candidate) => candidate.symbol.toUpperCase() === symbol);
    if (!found) throw invalidField("token", `${query.token} is not a token this gateway takes; one of ${context.tokens.map((t) => t.symbol).join(", ")}`);
    token = found.address;
  }
  const amountMin = usdBound("amount_min", query.amount_min);
  const amountMax = usdBound("amount_max", query.amount_max);
  if (amountMin !== undefined && amountMax !== undefined && amountMin > amountMax) throw invalidField("amount_max", "must not be less than amount_min");
  return {
    merchantId: owner.merchantId,
    mode: owner.mode,
    status: query.status,
    createdFrom: query.created_from ? new Date(query.created_from) : undefined,
    createdTo: query.created_to ? new Date(query.created_to) : undefined,
    orderId: query.order_id,
    token,
    amountMin,
    amountMax,
    prefix: query.search || undefined,
  };
}

const cursorOf = (record: PaymentRecord) => ({ createdAt: record.request.createdAt, id: record.payment.id });

/** A page of the owner's payments matching `query`, newest first, as API resources. */
export async function listPayments(
  context: Pick<GatewayContext, "db" | "chainId" | "tokens" | "views">,
  owner: ListOwner,
  query: PaymentListQuery,
): Promise<{ object: "list"; data: PaymentResource[]; has_more: boolean; next_cursor: string | null }> {
  const records = await listPaymentRecords(context.db, context.chainId, {
    ...paymentFilter(context, owner, query),
    after: query.starting_after ? decodeCursor(query.starting_after) : undefined,
    limit: query.limit + 1,
  });
  return pageOf(records, query.limit, cursorOf, (page) => context.views.resources(context.db, page));
}

/**
 * Every payment matching `filter`, newest first, as resources, a page of `pageSize` at a time: each page is read
 * when the one before has been taken (a CSV export streams them), so no more than one page is ever held.
 */
export async function* allPayments(
  context: Pick<GatewayContext, "db" | "chainId" | "views">,
  filter: Omit<PaymentFilter, "limit" | "after">,
  pageSize: number,
): AsyncGenerator<PaymentResource[]> {
  let after: PaymentFilter["after"];
  for (;;) {
    const records = await listPaymentRecords(context.db, context.chainId, { ...filter, after, limit: pageSize });
    if (records.length === 0) return;
    yield await context.views.resources(context.db, records);
    if (records.length < pageSize) return;
    after = cursorOf(records.at(-1)!);
  }
}
