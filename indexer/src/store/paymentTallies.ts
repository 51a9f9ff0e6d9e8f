import { sql } from "kysely";
import type { Db } from "./paymentStore";

/** The payments of one UTC day, status and token, counted and summed (amounts in their smallest units). */
export interface PaymentTally {
  /** The UTC day the payment was created, YYYY-MM-DD. */
  day: string;
  status: string;
  /** Whether the payment ever left `initiated` for `pending` or `confirming` (ledger/overviewFigures.ts says why). */
  opened: boolean;
  /** The paying token's address in lower case; null before a deposit. */
  token: string | null;
  count: number;
  amountUsd: bigint;
  paidAmount: bigint;
}

/**
 * The merchant's payments of `mode` created in [from, to), tallied per UTC day, status, opening and token in one
 * statement: an index-only walk of the merchant's payments in creation order (payments_listed, migration 007, carries
 * every column read here), sending back a few hundred rows at most, whatever the number of payments.
 */
export async function paymentTallies(
  db: Db,
  { chainId, merchantId, mode, from, to }: { chainId: number; merchantId: string; mode: string; from: Date; to: Date },
): Promise<PaymentTally[]> {
  const { rows } = await sql<{ day: string; status: string; opened: boolean; token: string | null; count: number; amount_usd: string; paid_amount: string }>`
    select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, status,
      (status <> 'initiated' and not (status in ('expired', 'failed') and coalesce(previous_status, 'initiated') = 'initiated')) as opened,
      lower(token) as token, count(*)::integer as count, sum(amount_usd)::text as amount_usd, sum(paid_amount)::text as paid_amount
    from payments
    where chain_id = ${chainId} and merchant_id = ${merchantId} and mode = ${mode} and created_at >= ${from} and created_at < ${to}
    group by 1, 2, 3, 4`.execute(db);
  return rows.map((row) => ({
    day: row.day,
    status: row.status,
    opened: row.opened,
    token: row.token,
    count: Number(row.count),
    amountUsd: BigInt(row.amount_usd),
    paidAmount: BigInt(row.paid_amount),
  }));
}
