import type { Kysely } from "kysely";

/**
 * The timestamp of the block each deposit-address transfer came in: within the late-collect window the keeper
 * collects only what reached the deposit address by the payment's expiry. Rows recorded before this migration have
 * none; the keeper fills them in from their (by then final) blocks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("deposit_transfers").addColumn("block_timestamp", "bigint").execute();
}
