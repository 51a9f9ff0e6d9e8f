import { sql, type Kysely } from "kysely";

const amount = "numeric(78, 0)";

/** Payments, their events and history, the merchants' outbox, recent blocks and the checkpoint. */
export async function up(db: Kysely<unknown>): Promise<void> {
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
