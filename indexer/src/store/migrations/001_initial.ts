import { sql, type Kysely } from "kysely";

const amount = "numeric(78, 0)";

/**
 * The schema: payments, their events and history, the merchants' outbox, recent blocks and the checkpoint
 * (`payments`); the keeper's transactions (`keeper`); the merchant API and its webhooks (`merchantApi`); the escrow's
 * merchant-level events for balances (`merchantLedger`). Nothing has shipped before it, so it is one version; a change
 * to a deployed schema is a new migration beside it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await payments(db);
  await keeper(db);
  await merchantApi(db);
  await merchantLedger(db);
}

async function payments(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("payments")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("merchant", "text", (c) => c.notNull())
    .addColumn("amount_usd", sql.raw(amount), (c) => c.notNull())
    .addColumn("expiry", sql.raw(amount), (c) => c.notNull())
    .addColumn("refund_to", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addColumn("deposit_address", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("previous_status", "text")
    .addColumn("sequence", "integer", (c) => c.notNull())
    .addColumn("received_usd", sql.raw(amount), (c) => c.notNull())
    .addColumn("remaining_usd", sql.raw(amount), (c) => c.notNull())
    .addColumn("excess_usd", sql.raw(amount), (c) => c.notNull())
    .addColumn("token", "text")
    .addColumn("paid_amount", sql.raw(amount), (c) => c.notNull())
    .addColumn("fee", sql.raw(amount), (c) => c.notNull())
    .addColumn("refunded_amount", sql.raw(amount), (c) => c.notNull())
    .addColumn("refund_requested", sql.raw(amount), (c) => c.notNull())
    .addColumn("deposits_returned", sql.raw(amount), (c) => c.notNull())
    .addColumn("completed_block", "bigint")
    .addColumn("deposit_address_funded", "boolean", (c) => c.notNull())
    .addColumn("failed_transactions", "integer", (c) => c.notNull())
    .addColumn("cursor_block", "bigint")
    .addColumn("cursor_log_index", "integer")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // The block of the escrow's `PaymentExpired` until it is confirmed.
    .addColumn("expired_block", "bigint")
    // Whether funds reached the deposit address by the expiry (the late-collect window waits for them).
    .addColumn("funded_by_expiry", "boolean", (c) => c.notNull().defaultTo(false))
    // The BNB believed waiting at the deposit address: BNB leaves no log.
    .addColumn("native_waiting", sql.raw(amount), (c) => c.notNull().defaultTo(0))
    // The indexer's checkpoint when the payment was registered: a re-read of its logs starts there.
    .addColumn("registered_block", "bigint")
    // The intent's `acceptedTokens` (bit `i`: the escrow's token at index `i`), and the same tokens by address,
    // comma-separated, in the order the checkout offers them (docs/contracts.md, "token-choice").
    .addColumn("accepted_token_mask", sql.raw(amount), (c) => c.notNull().defaultTo(0))
    .addColumn("accepted_tokens", "text", (c) => c.notNull().defaultTo(""))
    // JSON lists, amounts as decimal strings: what the payment holds in accepted tokens other than `token`; the
    // deposits of an expired payment sent back and the merchant's refunds; transfers the escrow sent back (strays,
    // deposits in a token that did not pay it); transfers of tokens the escrow does not take, and whether they went back.
    .addColumn("other_deposits", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("refunds", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("returned_transfers", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("unaccepted_transfers", "text", (c) => c.notNull().defaultTo("[]"))
    .addPrimaryKeyConstraint("payments_pk", ["chain_id", "id"])
    .execute();
  // The indexer's every block visits the open and the confirming payments.
  await db.schema.createIndex("payments_by_status").on("payments").columns(["chain_id", "status"]).execute();
  await db.schema.createIndex("payments_by_deposit_address").on("payments").columns(["chain_id", "deposit_address"]).execute();

  await db.schema
    .createTable("payment_events")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("block_number", "bigint")
    .addColumn("log_index", "integer")
    .addColumn("block_hash", "text")
    .addColumn("transaction_hash", "text")
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // Off-chain events: the indexer's checkpoint when it was recorded (a payment rebuilt after a reorganisation
    // replays it there, among the chain's events).
    .addColumn("recorded_block", "bigint")
    // Set when a rebuild found the event no longer applies: later rebuilds skip it.
    .addColumn("superseded_at", "timestamptz")
    .addColumn("superseded_reason", "text")
    .execute();
  await db.schema.createIndex("payment_events_by_payment").on("payment_events").columns(["chain_id", "payment_id", "id"]).execute();
  // A log is one event of one payment: delivering it again changes nothing.
  await db.schema
    .createIndex("payment_events_log_once")
    .on("payment_events")
    .columns(["chain_id", "block_number", "log_index", "payment_id"])
    .unique()
    .where(sql.ref("block_number"), "is not", null)
    .execute();

  await db.schema
    .createTable("status_changes")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("sequence", "integer", (c) => c.notNull())
    .addColumn("from_status", "text", (c) => c.notNull())
    .addColumn("to_status", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("transaction_hash", "text")
    .addColumn("block_number", "bigint")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("status_changes_pk", ["chain_id", "payment_id", "sequence"])
    .execute();

  await db.schema
    .createTable("outbox")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("blocks")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("number", "bigint", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("parent_hash", "text", (c) => c.notNull())
    .addColumn("timestamp", sql.raw(amount), (c) => c.notNull())
    .addPrimaryKeyConstraint("blocks_pk", ["chain_id", "number"])
    .execute();

  await db.schema
    .createTable("checkpoints")
    .addColumn("chain_id", "integer", (c) => c.primaryKey())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("block_timestamp", sql.raw(amount), (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

/**
 * The keeper's memory: what it sent for which state (one action per payment and state, ever), and what it needs to
 * follow each transaction through reorganisations (keeper/transactionLifecycle.ts): the call (is it still wanted?),
 * the signed bytes of its latest attempt (to broadcast again when the chain drops it), every attempt's hash (a
 * replaced attempt may be the one mined), the no-op that takes the nonce of a dropped call no longer wanted, and the
 * block a receipt was seen in until it is final.
 */
async function keeper(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("keeper_actions")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    // What the action answers (e.g. "token:amount" at the deposit address): one action per state, ever.
    .addColumn("state_key", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("nonce", "integer")
    .addColumn("tx_hash", "text")
    .addColumn("gas_price", sql.raw(amount))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("calldata", "text")
    .addColumn("raw_tx", "text")
    .addColumn("tx_hashes", "text")
    .addColumn("cancel_tx", "text")
    .addColumn("mined_block", "bigint")
    .addPrimaryKeyConstraint("keeper_actions_pk", ["chain_id", "payment_id", "action", "state_key"])
    .execute();
  await db.schema.createIndex("keeper_actions_by_status").on("keeper_actions").columns(["chain_id", "status"]).execute();
}

/**
 * The merchant API and its webhooks: merchants and their hashed API keys, what the merchant asked for with each
 * payment, idempotency keys, webhook endpoints, the event log and its deliveries and attempts.
 */
async function merchantApi(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("merchants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    // The merchant's address on chain: intents name it, the escrow credits it.
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // JSON array of the origins allowed to frame the merchant's checkout pages (the CSP's `frame-ancestors`; empty:
    // none may), and where an expired or failed checkout sends the shopper when the payment has no `cancel_url`.
    .addColumn("checkout_frame_origins", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("site_url", "text")
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("merchant_id", "text", (c) => c.notNull().references("merchants.id"))
    .addColumn("mode", "text", (c) => c.notNull())
    // SHA-256 of the whole key: keys are 32 random bytes, so a fast hash is as safe as a slow one and costs
    // nothing per request.
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    // The first characters, so that a merchant can tell keys apart in a list.
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("payment_requests")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("merchant_id", "text", (c) => c.notNull())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("order_id", "text")
    .addColumn("metadata", "jsonb", (c) => c.notNull())
    // The tokens offered, each with its quoted amount and EIP-681 URI.
    .addColumn("options", "jsonb", (c) => c.notNull())
    .addColumn("success_url", "text")
    .addColumn("cancel_url", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("payment_requests_pk", ["chain_id", "payment_id"])
    .execute();
  // The list route: a merchant's payments newest first, paged by (created_at, payment_id).
  await db.schema.createIndex("payment_requests_by_merchant").on("payment_requests").columns(["merchant_id", "mode", "created_at", "payment_id"]).execute();
  await db.schema.createIndex("payment_requests_by_order").on("payment_requests").columns(["merchant_id", "mode", "order_id"]).execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("merchant_id", "text", (c) => c.notNull())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("response_status", "integer", (c) => c.notNull())
    .addColumn("response", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["merchant_id", "mode", "key"])
    .execute();

  await db.schema
    .createTable("webhook_endpoints")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("merchant_id", "text", (c) => c.notNull())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("description", "text")
    // null: every event type.
    .addColumn("event_types", "jsonb")
    // Kept in the clear: an HMAC needs the secret itself (Standard Webhooks); the database is the secret's vault.
    .addColumn("secret", "text", (c) => c.notNull())
    // After a rotation the old secret signs too until it expires, so that the merchant can deploy the new one.
    .addColumn("previous_secret", "text")
    .addColumn("previous_secret_expires_at", "timestamptz")
    .addColumn("disabled_at", "timestamptz")
    .addColumn("disabled_reason", "text")
    // The first failure since the last success: an endpoint failing for days is disabled.
    .addColumn("failing_since", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("deleted_at", "timestamptz")
    .execute();
  await db.schema.createIndex("webhook_endpoints_by_merchant").on("webhook_endpoints").columns(["merchant_id", "mode"]).execute();

  await db.schema
    .createTable("webhook_events")
    // The `webhook-id` of every delivery of the event, retries and resends included.
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("merchant_id", "text", (c) => c.notNull())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("sequence", "integer", (c) => c.notNull())
    // The body sent, exactly: the signature covers these bytes.
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("webhook_events_by_merchant").on("webhook_events").columns(["merchant_id", "mode", "created_at", "id"]).execute();

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("endpoint_id", "text", (c) => c.notNull())
    // pending (due at next_attempt_at), succeeded, failed (schedule exhausted or endpoint disabled)
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // A worker's claim: another worker takes the delivery only once this has passed (the first died).
    .addColumn("leased_until", "timestamptz")
    .addColumn("last_error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await db.schema.createIndex("webhook_deliveries_by_event").on("webhook_deliveries").columns(["event_id"]).execute();

  await db.schema
    .createTable("webhook_attempts")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("delivery_id", "bigint", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("endpoint_id", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("started_at", "timestamptz", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("webhook_attempts_by_event").on("webhook_attempts").columns(["event_id", "id"]).execute();

  // Wakes the webhook workers when a delivery is queued (a resend). Outbox rows are announced by their writers
  // instead (paymentStore's insertChanges, the API's WebhookWakeup): a NOTIFY in every payment's creation would
  // serialise the API's commits on PostgreSQL's notification lock.
  await sql`
    create function openpay_notify_webhooks() returns trigger language plpgsql as $$
    begin
      perform pg_notify('openpay_webhooks', '');
      return null;
    end $$`.execute(db);
  await sql`create trigger deliveries_notify after insert on webhook_deliveries for each statement execute function openpay_notify_webhooks()`.execute(db);
}

/**
 * The escrow's merchant-level events, for merchants' balances (docs/api.md, "Balances"): one row per log that moves
 * a merchant's balance or that a credit is worked out from, written in the indexer's batch transaction and deleted
 * above the common ancestor on a reorganisation, like payment_events.
 * - kind: deposited (PaymentDeposited: counted when its payment completes in its token), completed
 *   (PaymentCompleted), refunded (PaymentRefunded), withdrawn (Withdrawn);
 * - credit: for `completed`, the units credited (every deposit in the token, less the fee);
 * - counterparty: the refund's receiver, or the withdrawal's payout wallet;
 * - announced_at: for `withdrawn`, when its `balance.withdrawn` went to the outbox (once confirmed).
 */
async function merchantLedger(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("merchant_ledger")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("log_index", "integer", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("transaction_hash", "text", (c) => c.notNull())
    .addColumn("merchant", "text", (c) => c.notNull())
    .addColumn("token", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("payment_id", "text")
    .addColumn("amount", sql.raw(amount), (c) => c.notNull())
    .addColumn("fee", sql.raw(amount), (c) => c.notNull().defaultTo(0))
    .addColumn("credit", sql.raw(amount), (c) => c.notNull().defaultTo(0))
    .addColumn("counterparty", "text")
    .addColumn("announced_at", "timestamptz")
    .addPrimaryKeyConstraint("merchant_ledger_pkey", ["chain_id", "block_number", "log_index"])
    .execute();
  await db.schema.createIndex("merchant_ledger_by_merchant").on("merchant_ledger").columns(["chain_id", "merchant", "token"]).execute();
  await db.schema.createIndex("merchant_ledger_by_payment").on("merchant_ledger").columns(["chain_id", "payment_id"]).execute();
  await sql`create index merchant_ledger_unannounced on merchant_ledger (chain_id, block_number) where kind = 'withdrawn' and announced_at is null`.execute(db);
}
