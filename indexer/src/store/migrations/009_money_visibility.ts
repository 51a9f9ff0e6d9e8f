import type { Kysely } from "kysely";

/**
 * What moves a payment's money besides its deposits, kept on the payment as JSON lists (amounts as decimal strings):
 * - payments.refunds: deposits of an expired payment sent back and the merchant's refunds;
 * - payments.returned_transfers: transfers the escrow sent back (strays, deposits in a token that did not pay it);
 * - payments.unaccepted_transfers: transfers of tokens the escrow does not take, and whether they went back.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("payments")
    .addColumn("refunds", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("returned_transfers", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("unaccepted_transfers", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}
