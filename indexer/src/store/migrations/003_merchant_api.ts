import { sql, type Kysely } from "kysely";

/**
 * The merchant API and its webhooks: merchants and their hashed API keys, what the merchant asked for with each
 * payment, idempotency keys, webhook endpoints, the event log and its deliveries and attempts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("merchants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    // The merchant's address on chain: intents name it, the escrow credits it.
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
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
  await db.schema
    .createIndex("payment_requests_by_merchant")
    .on("payment_requests")
    .columns(["merchant_id", "mode", "created_at", "payment_id"])
    .execute();
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
