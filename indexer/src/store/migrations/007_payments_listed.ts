import { sql, type Kysely } from "kysely";

/**
 * A merchant's payment list read from `payments` alone (ledger/paymentList.ts). Its order (created_at, id) was on
 * `payment_requests` and its filters (status, token, amount) on `payments`: a filter matching few payments walked the
 * merchant's list newest first and looked up each payment (a 10-USD amount range: 160 ms at 1,000,000 payments).
 * The order goes beside the filters instead: `payments` gets the API merchant and mode of its request, and its
 * `created_at` is the request's (the API writes both rows with one time). These never change once written, so no
 * copy can go stale whatever the indexer, the API or a reorganisation does to a payment's status or token; the filters
 * stay in their one row.
 *
 * The indexes are in the list's order after the filters' equalities, and carry the filtered columns (INCLUDE) so
 * that a page is found by an index-only walk (the first also carries what "At a glance" tallies over a month of
 * payments: store/paymentTallies.ts): all of them, then status, then token (any case), then status and token,
 * where a combination with no payment (an expired payment has no token) is an empty range, not a walk. By amount: an
 * amount range matching few payments (or none: above the largest) is read as a range and sorted, rather than walked
 * to the end of the list. Only API payments (merchant_id set) are in them. The indexes they replace served only the
 * list.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table payments add column merchant_id text, add column mode text`.execute(db);
  await sql`
    update payments p set merchant_id = r.merchant_id, mode = r.mode, created_at = r.created_at
    from payment_requests r where r.chain_id = p.chain_id and r.payment_id = p.id`.execute(db);
  const listed = "where merchant_id is not null";
  await sql
    .raw(
      `create index payments_listed on payments (chain_id, merchant_id, mode, created_at, id) include (status, previous_status, token, amount_usd, paid_amount) ${listed}`,
    )
    .execute(db);
  await sql
    .raw(`create index payments_listed_by_status on payments (chain_id, merchant_id, mode, status, created_at, id) include (token, amount_usd) ${listed}`)
    .execute(db);
  await sql
    .raw(
      `create index payments_listed_by_token on payments (chain_id, merchant_id, mode, lower(token), created_at, id) include (status, token, amount_usd) ${listed}`,
    )
    .execute(db);
  await sql
    .raw(
      `create index payments_listed_by_status_token on payments (chain_id, merchant_id, mode, status, lower(token), created_at, id) include (token, amount_usd) ${listed}`,
    )
    .execute(db);
  await sql
    .raw(`create index payments_listed_by_amount on payments (chain_id, merchant_id, mode, amount_usd, created_at, id) include (status, token) ${listed}`)
    .execute(db);
  await sql`drop index payments_by_token`.execute(db);
  await sql`drop index payment_requests_by_merchant`.execute(db);
}
