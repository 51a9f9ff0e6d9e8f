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
  | "payment.reverted"
  | "balance.withdrawn";

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
  /** The escrow's refund call, to be signed and sent from the merchant's own address (see `sendMerchantTransaction`). */
  transaction: MerchantTransaction;
  /** The same call as a Safe{Wallet} Transaction Builder batch file. */
  safe_transaction_batch: SafeTransactionBatch;
}

/** Options of a creating request. */
export interface IdempotentRequestOptions {
  /** Sent as `Idempotency-Key`; when left out the SDK makes a random UUID (and reuses it on its own retries). */
  idempotencyKey?: string;
}

/** The body of a webhook delivery: a payment's change, or a confirmed withdrawal (`balance.withdrawn`). */
export type WebhookEvent =
  | {
      type: Exclude<WebhookEventType, "balance.withdrawn">;
      /** When the status change was committed (ISO 8601). */
      timestamp: string;
      /** The payment as of that change (no `history`). */
      data: Payment;
    }
  | {
      type: "balance.withdrawn";
      /** When the withdrawal was confirmed (ISO 8601). */
      timestamp: string;
      data: Withdrawal;
    };

/** A signed escrow call: what `eth_sendTransaction` takes, from the merchant's own address. */
export interface MerchantTransaction {
  chain_id: number;
  from: string;
  to: string;
  data: string;
  value: string;
}

/** One token's escrow balance (`GET /v1/balances`), amounts in whole tokens. */
export interface TokenBalance {
  token: TokenRef & { decimals: number };
  /** The escrow's balance at `as_of.block_number`: what its balanceOf(merchant, token) answers there. */
  balance: string;
  balance_units: string;
  /** The part made of movements at or below `as_of.confirmed_block_number`. */
  confirmed: string;
  /** What a withdrawal may take: the balance less the refunds requested. */
  withdrawable: string;
  withdrawable_units: string;
  pending: {
    /** Credits of payments still confirming. */
    confirming_payments: string;
    /** Refunds and withdrawals not yet final (already out of the balance). */
    unconfirmed_debits: string;
    /** Refunds requested through the API, not yet sent. */
    refunds_requested: string;
  };
  /** Platform fees the escrow took from the merchant's payments. */
  fees: string;
  totals: { credited: string; refunded: string; withdrawn: string };
}

export interface Balances {
  object: "balance";
  merchant: string;
  as_of: { block_number: number | null; block_hash: string | null; confirmed_block_number: number | null };
  data: TokenBalance[];
}

export interface WithdrawalParams {
  /** USDT, USDC, BNB or the token's address. */
  token: string;
  /** Whole tokens, e.g. "25.5", or "all" (everything withdrawable). */
  amount: string;
}

/** A withdrawal to sign (`POST /v1/withdrawals`): the escrow pays it to the merchant's payout wallet. */
export interface WithdrawalRequest {
  object: "withdrawal_request";
  token: TokenRef;
  amount: string;
  amount_units: string;
  as_of_block_number: number | null;
  transaction: MerchantTransaction;
  /** The same call as a Safe{Wallet} Transaction Builder batch file. */
  safe_transaction_batch: SafeTransactionBatch;
}

/** A Safe{Wallet} Transaction Builder batch file: save it as JSON and load it in the builder. */
export interface SafeTransactionBatch {
  version: string;
  chainId: string;
  createdAt: number;
  meta: { name: string; description: string; createdFromSafeAddress: string };
  transactions: Array<{ to: string; value: string; data: string }>;
}

/** A confirmed withdrawal, as `balance.withdrawn` carries it. */
export interface Withdrawal {
  object: "withdrawal";
  id: string;
  merchant: string;
  payout: string;
  token: TokenRef;
  amount: string;
  amount_units: string;
  transaction_hash: string;
  block_number: number;
}
