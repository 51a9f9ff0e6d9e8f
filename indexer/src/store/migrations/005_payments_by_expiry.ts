import type { Kysely } from "kysely";

/**
 * The payments by expiry: the indexer's watched set (every segment) and the keeper's candidates (every round) take
 * the payments whose expiry is within the late-funds window of the chain time indexed to (`withinLateFundsWindow`).
 * With `payments_by_status` for the open ones, PostgreSQL reads the watched set through both indexes (a bitmap OR)
 * instead of scanning every payment ever made. An expiry never changes: the index costs one entry per payment.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("payments_by_expiry").on("payments").columns(["chain_id", "expiry"]).execute();
}
