import type { ColumnType, Generated } from "kysely";

/**
 * The indexer's tables, as Kysely sees them. Amounts are `numeric(78,0)` (any uint256) and travel as decimal
 * strings; block numbers are `bigint` and are read back as strings or numbers depending on the driver, so the
 * repositories convert them with Number().
 */
type Numeric = ColumnType<string, string | bigint, string | bigint>;
type BlockNumber = ColumnType<string | number, number, number>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface PaymentsTable {
  chain_id: number;
  id: string;
  merchant: string;
  amount_usd: Numeric;
  expiry: Numeric;
  refund_to: string;
  accepted_token_mask: Numeric;
  /** The accepted tokens' addresses, comma-separated, in the order offered. */
  accepted_tokens: string;
  signature: string;
  deposit_address: string;
  status: string;
  previous_status: string | null;
  sequence: number;
  received_usd: Numeric;
  remaining_usd: Numeric;
  excess_usd: Numeric;
  token: string | null;
  paid_amount: Numeric;
  /** JSON `[{token, amount}]`: units held in accepted tokens other than `token`, amounts as decimal strings. */
  other_deposits: ColumnType<string, string | undefined, string>;
  /** JSON lists of the payment's refunds, returned transfers and unaccepted transfers (amounts as decimal strings). */
  refunds: ColumnType<string, string | undefined, string>;
  returned_transfers: ColumnType<string, string | undefined, string>;
  unaccepted_transfers: ColumnType<string, string | undefined, string>;
  fee: Numeric;
  refunded_amount: Numeric;
  refund_requested: Numeric;
  deposits_returned: Numeric;
  completed_block: BlockNumber | null;
  expired_block: BlockNumber | null;
  deposit_address_funded: boolean;
  funded_by_expiry: Generated<boolean>;
  native_waiting: ColumnType<string, string | bigint | undefined, string | bigint>;
  /** The indexer's checkpoint when the API registered the payment: a re-read of its logs starts there. */
  registered_block: BlockNumber | null;
  failed_transactions: number;
  cursor_block: BlockNumber | null;
  cursor_log_index: number | null;
  /** The API merchant and mode of the payment's request, null for a payment the API did not create (migration 007). */
  merchant_id: string | null;
  mode: string | null;
  /** For an API payment, the request's created_at: the list's order. */
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Every input the status machine was given for a payment, in order: replayed after a reorganisation. */
export interface PaymentEventsTable {
  id: Generated<string>;
  chain_id: number;
  payment_id: string;
  kind: string;
  /** Chain events only: where the log sits. */
  block_number: BlockNumber | null;
  log_index: number | null;
  block_hash: string | null;
  transaction_hash: string | null;
  /** The event's fields, amounts as decimal strings. */
  data: ColumnType<unknown, string, string>;
  /** Off-chain events: the indexer's checkpoint when it was recorded (where a rebuild replays it). */
  recorded_block: BlockNumber | null;
  /** Set when a rebuild after a reorganisation found the event no longer applies: later rebuilds skip it. */
  superseded_at: Timestamp | null;
  superseded_reason: string | null;
  created_at: Timestamp;
}

/**
 * Each status change: the payment's history, numbered per payment, and what is left to announce of it (migration 003).
 */
export interface StatusChangesTable {
  /** Drawn from the outbox's sequence: changes and outbox rows are announced in this one order. */
  id: Generated<string>;
  chain_id: number;
  payment_id: string;
  sequence: number;
  from_status: string;
  to_status: string;
  reason: string;
  transaction_hash: string | null;
  block_number: BlockNumber | null;
  /** The payment as of the change (`outboxPayment`) until the webhook dispatcher has announced it; then null. */
  announcement: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: Timestamp;
}

/**
 * Events for merchants other than status changes (a payment's creation, `balance.withdrawn`), written in the same
 * transaction as what they announce; webhooks deliver them. Status changes announce themselves (`announcement`).
 */
export interface OutboxTable {
  id: Generated<string>;
  chain_id: number;
  payment_id: string;
  type: string;
  data: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

/** Recent blocks of the canonical chain as the indexer saw them: reorganisations are found by their hashes. */
export interface BlocksTable {
  chain_id: number;
  number: BlockNumber;
  hash: string;
  parent_hash: string;
  timestamp: Numeric;
}

/** How far the indexer got, written in the same transaction as the state it covers. */
export interface CheckpointsTable {
  chain_id: number;
  block_number: BlockNumber;
  block_hash: string;
  block_timestamp: Numeric;
  updated_at: Timestamp;
}

/** One keeper action per payment and state: the guard against sending the same action twice. */
export interface KeeperActionsTable {
  chain_id: number;
  payment_id: string;
  action: string;
  state_key: string;
  /**
   * planned (nonce reserved, nothing signed), sent (signed and recorded, then broadcast), mined (a receipt, not final
   * yet), cancelling (dropped and no longer wanted: a no-op takes its nonce), done and failed (final)
   */
  status: string;
  nonce: number | null;
  /** The latest attempt (of the call, or the no-op once cancelling), or the one mined. */
  tx_hash: string | null;
  gas_price: Numeric | null;
  attempts: Generated<number>;
  error: string | null;
  /** The escrow call, hex. */
  calldata: string | null;
  /** The latest attempt's signed bytes. */
  raw_tx: string | null;
  /** Every attempt's hash, comma-separated (a replaced attempt may be the one mined). */
  tx_hashes: string | null;
  /** The signed no-op that takes the nonce of a dropped call no longer wanted. */
  cancel_tx: string | null;
  /** The block of the receipt while it is not final. */
  mined_block: BlockNumber | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A merchant of this gateway: its API keys and payments belong to it. */
export interface MerchantsTable {
  id: string;
  name: string;
  address: string;
  created_at: Timestamp;
  /** JSON array of origins allowed to frame the merchant's checkout pages. */
  checkout_frame_origins: Generated<string>;
  site_url: string | null;
}

/** API keys, stored only as hashes; `mode` is test or live. */
export interface ApiKeysTable {
  id: string;
  merchant_id: string;
  mode: string;
  key_hash: string;
  prefix: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  /** The merchant's name for the key ("" for keys made before keys had names). */
  name: Generated<string>;
  last_used_at: Timestamp | null;
}

/** What the merchant asked for with a payment, beside its signed terms in `payments`. */
export interface PaymentRequestsTable {
  chain_id: number;
  payment_id: string;
  merchant_id: string;
  mode: string;
  description: string | null;
  order_id: string | null;
  metadata: ColumnType<unknown, string, string>;
  options: ColumnType<unknown, string, string>;
  success_url: string | null;
  cancel_url: string | null;
  created_at: Timestamp;
}

/** A request made with an Idempotency-Key and the response it got, replayed for the same key and body. */
export interface IdempotencyKeysTable {
  merchant_id: string;
  mode: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  response_status: number;
  response: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

export interface WebhookEndpointsTable {
  id: string;
  merchant_id: string;
  mode: string;
  url: string;
  description: string | null;
  event_types: ColumnType<unknown, string | null, string | null>;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  disabled_at: Timestamp | null;
  disabled_reason: string | null;
  failing_since: Timestamp | null;
  created_at: Timestamp;
  deleted_at: Timestamp | null;
}

/** The merchant's event log: one row per event, its id the `webhook-id` of every delivery of it. */
export interface WebhookEventsTable {
  id: string;
  merchant_id: string;
  mode: string;
  chain_id: number;
  payment_id: string;
  type: string;
  sequence: number;
  body: string;
  created_at: Timestamp;
}

/** One event to one endpoint, retried on its schedule until it succeeds or the schedule ends. */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  event_id: string;
  endpoint_id: string;
  status: string;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Each HTTP attempt of a delivery and what came back. */
export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string | number;
  event_id: string;
  endpoint_id: string;
  attempt: number;
  started_at: Timestamp;
  duration_ms: number;
  response_status: number | null;
  error: string | null;
  /** The webhook-signature header sent (migration 008; null before it). */
  signature: string | null;
  /** The start of a failed attempt's response body (migration 008; null before it, without a response, or on a success). */
  response_excerpt: string | null;
}

/**
 * The escrow's merchant-level events: balances are summed from them. Deposits are not among them (migration 002): a
 * completion's credit is worked out from its payment's deposits in payment_events.
 */
export interface MerchantLedgerTable {
  chain_id: number;
  block_number: BlockNumber;
  log_index: number;
  block_hash: string;
  transaction_hash: string;
  merchant: string;
  token: string;
  kind: "completed" | "refunded" | "withdrawn";
  payment_id: string | null;
  amount: Numeric;
  fee: ColumnType<string, string | bigint | undefined, string | bigint>;
  credit: ColumnType<string, string | bigint | undefined, string | bigint>;
  counterparty: string | null;
  announced_at: Timestamp | null;
}

/** A Sign-In with Ethereum nonce the dashboard issued (migration 004). */
export interface DashboardNoncesTable {
  nonce: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** A dashboard session, by the SHA-256 of its id (migration 004). */
export interface DashboardSessionsTable {
  id_hash: string;
  merchant_id: string;
  address: string;
  role: "merchant" | "signer";
  csrf_token: string;
  created_at: Timestamp;
  renewed_at: Timestamp;
  expires_at: Timestamp;
  ends_at: Timestamp;
  previous_id_hash: string | null;
  previous_expires_at: Timestamp | null;
}

export interface Database {
  keeper_actions: KeeperActionsTable;
  payments: PaymentsTable;
  payment_events: PaymentEventsTable;
  status_changes: StatusChangesTable;
  outbox: OutboxTable;
  blocks: BlocksTable;
  checkpoints: CheckpointsTable;
  merchants: MerchantsTable;
  api_keys: ApiKeysTable;
  payment_requests: PaymentRequestsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  merchant_ledger: MerchantLedgerTable;
  dashboard_nonces: DashboardNoncesTable;
  dashboard_sessions: DashboardSessionsTable;
}
