/**
 * The payments a dashboard benchmark lists (bench/dashboard.ts), written into PostgreSQL with set-based SQL: one
 * payment created through the API is the template, and each generated payment is that row (and its request's) with
 * its own id, deposit address, amount, status, token, order id and time. The rows are the application's own tables
 * and columns, so the list reads them with its real query.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../indexer/src/store/schema";

export interface FillOptions {
  chainId: number;
  /** The payment created through the API that every generated row copies. */
  templateId: string;
  merchantId: string;
  /** The merchant's address (a payment id starts with it). */
  merchantAddress: string;
  /** The addresses of the tokens a completed payment was paid in. */
  tokens: readonly string[];
  /** Numbers of the generated payments, first and last: the order ids and ids derive from them. */
  from: number;
  to: number;
  /** Days the payments are spread over, the newest now; the order number grows with the time. */
  days: number;
}

/**
 * How statuses spread over a shop's payments: most are paid, many expire unpaid, a few are open, failed or refunded
 * (cumulative shares, in order).
 */
const STATUS_SHARES: ReadonlyArray<[string, number]> = [
  ["paid", 0.55],
  ["expired", 0.75],
  ["initiated", 0.85],
  ["pending", 0.9],
  ["confirming", 0.92],
  ["failed", 0.95],
  ["refunded", 0.98],
  ["partially_refunded", 0.99],
  ["refunding", 1],
];

/** Statuses whose payment was paid in full: they carry the token, the amount paid and the completing block. */
const COMPLETED = ["paid", "confirming", "refunded", "partially_refunded", "refunding"];

const columnsOf = async (db: Kysely<Database>, table: string) =>
  (
    await sql<{
      column_name: string;
    }>`select column_name from information_schema.columns where table_name = ${table} and table_schema = current_schema() order by ordinal_position`.execute(db)
  ).rows.map((row) => row.column_name);

/** The insert copying `table`'s template row `t` once per row `s` of the seed (in the key's order), with `overrides` for some columns. */
async function copyTemplate(db: Kysely<Database>, table: "payments" | "payment_requests", where: string, overrides: Record<string, string>) {
  const columns = await columnsOf(db, table);
  const values = columns.map((column) => overrides[column] ?? `t.${column}`);
  await sql
    .raw(
      `insert into ${table} (${columns.join(", ")}) select ${values.join(", ")} from bench_seed s cross join (select * from ${table} where ${where}) t order by s.id`,
    )
    .execute(db);
}

/**
 * Writes each fill's payments, in two statements per fill (payments, then their requests), in one transaction. The
 * tables' indexes other than their keys are dropped first and built again after, as PostgreSQL defines them:
 * building an index from a million rows is much quicker than growing it by a million random inserts.
 */
export async function fillPayments(db: Kysely<Database>, fills: readonly FillOptions[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const indexes = (
      await sql<{ name: string; definition: string }>`select indexname as name, indexdef as definition from pg_indexes
        where schemaname = current_schema() and tablename in ('payments', 'payment_requests')
          and indexname not in (select conname from pg_constraint)`.execute(trx)
    ).rows;
    for (const index of indexes) await sql.raw(`drop index ${index.name}`).execute(trx);
    for (const options of fills) await fillOne(trx, options);
    await sql.raw("set local maintenance_work_mem = '256MB'").execute(trx);
    for (const index of indexes) await sql.raw(index.definition).execute(trx);
  });
}

async function fillOne(db: Kysely<Database>, options: FillOptions): Promise<void> {
  const { chainId, templateId, merchantId, merchantAddress, tokens, from, to, days } = options;
  const count = to - from + 1;
  const address = merchantAddress.toLowerCase().slice(2);
  const status = `case ${STATUS_SHARES.map(([name, share]) => `when s.r_status < ${share} then '${name}'`).join(" ")} end`;
  const token = `(array[${tokens.map((t) => `'${t}'`).join(", ")}])[s.token_index + 1]`;
  // Per payment: a time that grows with its number (some jitter), 1.00 to 2,000.00 USD in cents, and the draws
  // that pick its status and token.
  await sql
    .raw(
      `create temp table bench_seed as
       select g,
         '0x${address}' || substr(md5(g::text || 'id'), 1, 24) as id,
         '0x' || substr(md5(g::text || 'deposit'), 1, 20) || substr(md5(g::text || 'address'), 1, 20) as deposit,
         now() - ((${to} - g)::float8 / ${count} * ${days}) * interval '1 day' - random() * interval '1 minute' as created_at,
         (100 + floor(random() * 199900))::numeric * 10000000000000000 as amount_usd,
         random() as r_status,
         floor(random() * ${tokens.length})::int as token_index,
         random() < 0.05 as no_order
       from generate_series(${from}, ${to}) g`,
    )
    .execute(db);
  await sql.raw(`alter table bench_seed add column status text`).execute(db);
  await sql.raw(`update bench_seed s set status = ${status}`).execute(db);
  const completed = `s.status in (${COMPLETED.map((name) => `'${name}'`).join(", ")})`;
  // Paid in a stablecoin (18 decimals, 1 USD) or in BNB (at 600 USD); the fee is 0.5 %.
  const paid = `case when s.token_index = ${tokens.length - 1} then round(s.amount_usd / 600) else s.amount_usd end`;
  await copyTemplate(db, "payments", `chain_id = ${chainId} and id = '${templateId}'`, {
    id: "s.id",
    merchant: `'${merchantAddress}'`,
    merchant_id: `'${merchantId}'`,
    deposit_address: "s.deposit",
    amount_usd: "s.amount_usd",
    expiry: "extract(epoch from s.created_at)::bigint + 3600",
    status: "s.status",
    previous_status: `case when s.status = 'initiated' then null when s.status in ('pending', 'expired', 'failed') then 'initiated' when s.status = 'confirming' then 'pending' when s.status = 'paid' then 'confirming' else 'paid' end`,
    sequence: `case when s.status = 'initiated' then 0 when s.status in ('pending', 'expired', 'failed') then 1 when s.status = 'confirming' then 2 when s.status = 'paid' then 3 else 4 end`,
    received_usd: `case when ${completed} then s.amount_usd else 0 end`,
    remaining_usd: `case when ${completed} then 0 else s.amount_usd end`,
    token: `case when ${completed} then ${token} end`,
    paid_amount: `case when ${completed} then ${paid} else 0 end`,
    fee: `case when ${completed} then round(${paid} / 200) else 0 end`,
    refunded_amount: `case when s.status = 'refunded' then ${paid} when s.status = 'partially_refunded' then round(${paid} / 2) else 0 end`,
    completed_block: `case when ${completed} then 1000000 + s.g end`,
    deposit_address_funded: completed,
    created_at: "s.created_at",
    updated_at: "s.created_at",
  });
  await copyTemplate(db, "payment_requests", `chain_id = ${chainId} and payment_id = '${templateId}'`, {
    payment_id: "s.id",
    merchant_id: `'${merchantId}'`,
    order_id: `case when not s.no_order then 'ORD-' || (1000000 + s.g) end`,
    created_at: "s.created_at",
  });
  await sql.raw("drop table bench_seed").execute(db);
}
