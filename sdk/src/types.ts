/**
 * The objects of the Open Pay merchant API, written by hand after indexer/src/api/apiSchemas.ts (the zod schemas
 * the API validates and serialises with). Amounts are decimal strings, never numbers; times are ISO 8601 strings.
 */

export type PaymentStatus =
  | "initiated"
  | "pending"
  | "confirming"
  | "paid"
  | "failed"
  | "expired"
  | "refunding"
  | "refunded"
  | "partially_refunded";

export type WebhookEventType =
  | "payment.created"
  | "payment.pending"
  | "payment.underpaid"
  | "payment.confirming"
  | "payment.completed"
  | "payment.failed"
  | "payment.expired"
  | "payment.refunding"
  | "payment.refunded"
  | "payment.refund_abandoned"
  | "payment.transfer_returned"
  | "payment.transfer_unaccepted"
  | "payment.reverted";

/** One token the customer may pay in, with the exact amount to send now. */
export interface PaymentOption {
  token: string;
  address: string;
  decimals: number;
  /** Whole tokens, e.g. "0.041667". */
  amount: string;
  /** The same amount in the token's smallest unit. */
  amount_units: string;
  /** EIP-681 URI of a plain transfer of `amount` to the deposit address (for a QR code). */
  uri: string;
}

export interface HistoryEntry {
  sequence: number;
  from: PaymentStatus;
  to: PaymentStatus;
  reason: string;
  transaction_hash: string | null;
  block_number: number | null;
  at: string;
}

export interface TokenRef {
  symbol: string;
  address: string;
}

/** A token as money records name it: `symbol` null for a token the escrow does not take. */
export interface RecordTokenRef {
  symbol: string | null;
  address: string;
}

interface RecordAmount {
  /** Whole tokens; null for a token the escrow does not take (its decimals are not known). */
  amount: string | null;
  /** The same in the token's smallest unit. */
  amount_units: string;
  token: RecordTokenRef;
}

/** Money sent back to a customer: an expired payment's deposit (`expiry`) or your refund (`merchant`). */
export interface Refund extends RecordAmount {
  kind: "expiry" | "merchant";
  to: string;
  transaction_hash: string;
  /** `claimable`: the escrow could not push it and holds it for `to` to claim. */
  status: "sent" | "claimable";
}

export type ReturnReason = "token_not_supported" | "token_not_accepted" | "already_paid" | "paid_in_other_token" | "after_expiry";

/** A transfer the escrow sent back because it could not pay the payment. */
export interface ReturnedTransfer extends RecordAmount {
  reason: ReturnReason;
  /** Where the money was held: the deposit's payer, or the deposit address. */
  from: string;
  to: string;
  /** The transaction that sent it back. */
  transaction_hash: string;
  status: "sent" | "claimable";
}

/** A transfer of a token the escrow does not take to the deposit address. */
export interface UnacceptedTransfer extends RecordAmount {
  sender: string;
  transaction_hash: string;
  /** `needs_operator` until the gateway's operator sends it back. */
  status: "needs_operator" | "returned";
  returned_transaction_hash: string | null;
}

export interface Payment {
  object: "payment";
  id: string;
  livemode: boolean;
  chain_id: number;
  status: PaymentStatus;
  previous_status: PaymentStatus | null;
  /** Number of status changes so far: a webhook with a lower sequence than one already processed is stale. */
  sequence: number;
  amount_usd: string;
  received_usd: string;
  remaining_usd: string;
  excess_usd: string;
  token: TokenRef | null;
  paid_amount: string | null;
  /** What the payment holds in its other accepted tokens, not yet sent back to their payers. */
  other_deposits: Array<{ token: TokenRef; amount: string }>;
  fee: string | null;
  refunded_amount: string | null;
  refund_pending_amount: string | null;
  /** Money sent back to customers: an expired payment's deposits and your refunds. */
  refunds: Refund[];
  /** Transfers the escrow sent back because they could not pay the payment. */
  returned_transfers: ReturnedTransfer[];
  /** Transfers of tokens the escrow does not take to the deposit address. */
  unaccepted_transfers: UnacceptedTransfer[];
  description: string | null;
  order_id: string | null;
  metadata: Record<string, string>;
  merchant: string;
  refund_address: string | null;
  checkout_url: string;
  deposit_address: string;
  payment_options: PaymentOption[];
  intent: {
    intent: { paymentId: string; merchant: string; amountUsd: string; expiry: string; refundTo: string; acceptedTokens: string };
    signature: string;
  };
  confirmations: { seen: number; required: number };
  transactions: string[];
  /** Only in getPayment and refund responses; not in lists or webhooks. */
  history?: HistoryEntry[];
  expires_at: string;
  created_at: string;
  updated_at: string;
  success_url: string | null;
  cancel_url: string | null;
}

export interface CreatePaymentParams {
  /** The price in USD as a decimal string, e.g. "25.00". */
  amount_usd: string;
  description?: string;
  order_id?: string;
  /** Up to 50 keys (1–40 characters) with string values. */
  metadata?: Record<string, string>;
  /** 60 up to the escrow's time-to-live limit (86400 at deployment); the API's default is 1800. */
  ttl_seconds?: number;
  /** Symbols offered, e.g. ["USDT", "BNB"]; default: every token the escrow accepts. */
  tokens?: string[];
  success_url?: string;
  cancel_url?: string;
  refund_address?: string;
}

export interface ListPaymentsParams {
  /** One status or several (sent comma-separated). */
  status?: PaymentStatus | PaymentStatus[];
  /** Created at or after this time. */
  created_from?: Date | string;
  /** Created before this time. */
  created_to?: Date | string;
  order_id?: string;
  /** 1 to 100; the API's default is 20. */
  limit?: number;
  /** The previous page's `next_cursor`. */
  starting_after?: string;
}

export interface PaymentList {
  object: "list";
  data: Payment[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface RefundParams {
  /** Whole tokens of the payment's token, e.g. "5"; default: everything still refundable. */
  amount?: string;
  /** Who receives the refund; default: the payment's refund_address. */
  to?: string;
}

export interface Refund {
  object: "refund";
  payment: Payment;
  amount: string;
  amount_units: string;
  to: string;
  token: TokenRef;
  /** The escrow's refund call, to be signed and sent from the merchant's own address. */
  transaction: { chain_id: number; from: string; to: string; data: string; value: string };
}

/** Options of a creating request. */
export interface IdempotentRequestOptions {
  /** Sent as `Idempotency-Key`; when left out the SDK makes a random UUID (and reuses it on its own retries). */
  idempotencyKey?: string;
}

/** The body of a webhook delivery. */
export interface WebhookEvent {
  type: WebhookEventType;
  /** When the status change was committed (ISO 8601). */
  timestamp: string;
  /** The payment as of that change (no `history`). */
  data: Payment;
}
