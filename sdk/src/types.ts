/**
 * The objects of the Open Pay merchant API, named for the SDK's users. Each is an alias of a type generated from the
 * API's OpenAPI document (sdk/openapi.json → src/generated/openapi.ts, by `npm run openapi`), which the API makes
 * from the same zod schemas it validates requests with: a field added to the API reaches these types when the
 * document is exported again, and a test fails until it is. Amounts are decimal strings, never numbers; times are
 * ISO 8601 strings.
 */
import type { components, operations } from "./generated/openapi";

export type { components, operations, paths } from "./generated/openapi";

type Schemas = components["schemas"];
/** The JSON body an operation takes. */
type RequestBody<Operation extends keyof operations> = NonNullable<operations[Operation]["requestBody"]>["content"]["application/json"];
/** The query parameters an operation takes. */
type Query<Operation extends keyof operations> = NonNullable<operations[Operation]["parameters"]["query"]>;

export type PaymentStatus = Schemas["PaymentStatus"];

/** Every event type a webhook endpoint can subscribe to. */
export type WebhookEventType = WebhookEvent["type"];

/** One token the customer may pay in, with the exact amount to send now. */
export type PaymentOption = Schemas["PaymentOption"];

/** One status change of a payment. */
export type HistoryEntry = Schemas["HistoryEntry"];

/** A token the escrow accepts: its symbol and address. */
export type TokenRef = Schemas["TokenRef"];

/** A token as money records name it: `symbol` null for a token the escrow does not take. */
export type RecordTokenRef = Schemas["RecordToken"];

/** Money sent back to a customer: an expired payment's deposit (`expiry`) or your refund (`merchant`). */
export type RefundEntry = Schemas["RefundEntry"];

/** A transfer the escrow sent back because it could not pay the payment. */
export type ReturnedTransfer = Schemas["ReturnedTransfer"];

export type ReturnReason = ReturnedTransfer["reason"];

/** A transfer of a token the escrow does not take to the deposit address. */
export type UnacceptedTransfer = Schemas["UnacceptedTransfer"];

/** A payment, as the API returns it and webhooks carry it. `history` only in getPayment and refund responses. */
export type Payment = Schemas["Payment"];

export type CreatePaymentParams = RequestBody<"createPayment">;

/** The query of `listPayments`, with statuses as a list and times as dates too (the SDK sends them as the API wants). */
export interface ListPaymentsParams extends Omit<Query<"listPayments">, "status" | "created_from" | "created_to"> {
  /** One status or several (sent comma-separated). */
  status?: PaymentStatus | PaymentStatus[];
  /** Created at or after this time. */
  created_from?: Date | string;
  /** Created before this time. */
  created_to?: Date | string;
}

export type PaymentList = Schemas["PaymentList"];

export type RefundParams = RequestBody<"createRefund">;

/** A refund requested: the payment (now `refunding`) and the escrow's refund call, to be signed by the merchant. */
export type Refund = Schemas["Refund"];

/** Options of a creating request. */
export interface IdempotentRequestOptions {
  /** Sent as `Idempotency-Key`; when left out the SDK makes a random UUID (and reuses it on its own retries). */
  idempotencyKey?: string;
}

/** The body of a webhook delivery: a payment's change (the payment without `history`), or a confirmed withdrawal. */
export type WebhookEvent = Schemas["PaymentWebhookEvent"] | Schemas["WithdrawalWebhookEvent"];

/** A confirmed withdrawal, as `balance.withdrawn` carries it. */
export type Withdrawal = Schemas["Withdrawal"];

/** A signed escrow call: what `eth_sendTransaction` takes, from the merchant's own address. */
export type MerchantTransaction = Schemas["MerchantTransaction"];

/** One token's escrow balance (`GET /v1/balances`), amounts in whole tokens. */
export type TokenBalance = Schemas["TokenBalance"];

export type Balances = Schemas["Balances"];

export type WithdrawalParams = RequestBody<"createWithdrawal">;

/** A withdrawal to sign (`POST /v1/withdrawals`): the escrow pays it to the merchant's payout wallet. */
export type WithdrawalRequest = Schemas["WithdrawalRequest"];

/** A Safe{Wallet} Transaction Builder batch file: save it as JSON and load it in the builder. */
export type SafeTransactionBatch = Schemas["SafeTransactionBatch"];
