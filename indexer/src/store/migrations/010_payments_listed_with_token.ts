import { sql, type Kysely } from "kysely";

/**
 * Fewer index entries written per payment created: POST /v1/payments writes an entry into every index of `payments`
 * and `payment_requests` whose predicate its rows meet, and migration 007's list indexes made that costlier.
 *
 * - The token index and the status-and-token index hold only payments with a token. A payment is created without
 *   one (it gets one with its deposit), so creating a payment writes to neither; a filter on the token implies the
 *   token is set, so both still serve the list as before, and a status no payment with the token has (an expired
 *   payment and USDT) is still an empty range rather than a walk. Their other columns are 007's.
 * - `payment_requests_by_order` goes: `payment_requests_by_order_prefix` (migration 006) has the same keys, and its
 *   `text_pattern_ops` class serves equality (`order_id = …`) as well as prefixes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const withToken = "where merchant_id is not null and token is not null";
  await sql`drop index payments_listed_by_token`.execute(db);
  await sql
    .raw(
      `create index payments_listed_by_token on payments (chain_id, merchant_id, mode, lower(token), created_at, id) include (status, token, amount_usd) ${withToken}`,
    )
    .execute(db);
  await sql`drop index payments_listed_by_status_token`.execute(db);
  await sql
    .raw(
      `create index payments_listed_by_status_token on payments (chain_id, merchant_id, mode, status, lower(token), created_at, id) include (token, amount_usd) ${withToken}`,
    )
    .execute(db);
  await sql`drop index payment_requests_by_order`.execute(db);
}
