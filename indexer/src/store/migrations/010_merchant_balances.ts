import { sql, type Kysely } from "kysely";

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
export async function up(db: Kysely<unknown>): Promise<void> {
  const amount = "numeric(78, 0)";
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
