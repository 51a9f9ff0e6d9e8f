import { sql, type Kysely } from "kysely";

/** The keeper's memory: what it sent for which state, transfers seen at deposit addresses, how far it scanned. */
export async function up(db: Kysely<unknown>): Promise<void> {
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
    .addColumn("gas_price", sql.raw("numeric(78, 0)"))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("keeper_actions_pk", ["chain_id", "payment_id", "action", "state_key"])
    .execute();
  await db.schema.createIndex("keeper_actions_by_status").on("keeper_actions").columns(["chain_id", "status"]).execute();

  await db.schema
    .createTable("deposit_transfers")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("log_index", "integer", (c) => c.notNull())
    .addColumn("payment_id", "text", (c) => c.notNull())
    .addColumn("token", "text", (c) => c.notNull())
    .addColumn("sender", "text", (c) => c.notNull())
    .addColumn("amount", sql.raw("numeric(78, 0)"), (c) => c.notNull())
    .addPrimaryKeyConstraint("deposit_transfers_pk", ["chain_id", "block_number", "log_index"])
    .execute();
  await db.schema.createIndex("deposit_transfers_by_payment").on("deposit_transfers").columns(["chain_id", "payment_id"]).execute();

  await db.schema
    .createTable("keeper_cursors")
    .addColumn("chain_id", "integer", (c) => c.primaryKey())
    .addColumn("scanned_block", "bigint", (c) => c.notNull())
    .execute();
}
