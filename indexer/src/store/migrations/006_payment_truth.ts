import { sql, type Kysely } from "kysely";

/**
 * What the indexer needs to tell the truth about money:
 * - payments: the block of the escrow's `PaymentExpired` until it is confirmed, whether funds reached the deposit
 *   address by the expiry, the BNB believed waiting there (BNB leaves no log), and the block the indexer stood at
 *   when the payment was registered (where a re-read of its logs starts);
 * - payment_events: the block the indexer stood at when an off-chain event was recorded (a payment rebuilt after a
 *   reorganisation replays it there, among the chain's events), and whether a rebuild found it no longer applies;
 * - deposit-address transfers are payment events now (`deposit_address_funded`), read by the indexer with the escrow's
 *   logs under the same checkpoint and reorganisation handling: the keeper's own transfer table and scan cursor go.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("payments")
    .addColumn("expired_block", "bigint")
    .addColumn("funded_by_expiry", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("native_waiting", sql.raw("numeric(78, 0)"), (c) => c.notNull().defaultTo(0))
    .addColumn("registered_block", "bigint")
    .execute();
  await db.schema
    .alterTable("payment_events")
    .addColumn("recorded_block", "bigint")
    .addColumn("superseded_at", "timestamptz")
    .addColumn("superseded_reason", "text")
    .execute();
  await db.schema.dropTable("deposit_transfers").execute();
  await db.schema.dropTable("keeper_cursors").execute();
}
