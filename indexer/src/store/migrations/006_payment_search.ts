import { sql, type Kysely } from "kysely";

/**
 * What the dashboard's payment list filters and searches by (ledger/paymentList.ts): a prefix of the payment's id, of
 * its deposit address (in any case) or of its order id, the paying token, and a payment's webhook events. The
 * `text_pattern_ops` classes let a `like 'prefix%'` use the index whatever the database's collation. (005 is another
 * change's.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index payments_by_id_prefix on payments (chain_id, id text_pattern_ops)`.execute(db);
  await sql`create index payments_by_deposit_address_prefix on payments (chain_id, lower(deposit_address) text_pattern_ops)`.execute(db);
  await sql`create index payments_by_token on payments (chain_id, lower(token), status)`.execute(db);
  await sql`create index payment_requests_by_order_prefix on payment_requests (merchant_id, mode, order_id text_pattern_ops)`.execute(db);
  await db.schema.createIndex("webhook_events_by_payment").on("webhook_events").columns(["merchant_id", "mode", "payment_id"]).execute();
}
