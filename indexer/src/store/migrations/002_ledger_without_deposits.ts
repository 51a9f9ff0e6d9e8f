import { sql, type Kysely } from "kysely";

/**
 * The merchant ledger no longer records deposits (`PaymentDeposited`, issue 17): every one is a payment event
 * already, and a completion's credit is worked out from those (`applyMerchantLogs`). The ledger keeps what moves a
 * balance: completions with their credit, refunds, withdrawals.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from merchant_ledger where kind = 'deposited'`.execute(db);
}
