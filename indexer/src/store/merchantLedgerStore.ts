import { sql } from "kysely";
import type { Address, Hex } from "viem";
import type { BalanceMovement, MerchantLog } from "../payments/merchantBalance";
import { jsonWithBigints } from "./eventData";
import { notifyWebhookWorkers, type Db } from "./paymentStore";
import { rowBoolean } from "./rowBoolean";

/**
 * The merchant_ledger table: the escrow's merchant-level events (deposits are payment events), written in the indexer's batch
 * transaction, and the sums the API's balances are made of. Merchant and token addresses are kept in lower case.
 */

/**
 * Records logs, completions with their credit from `credits` (by "block:logIndex"; 0 when absent); a log already
 * recorded (a re-read) is left as it is.
 */
export async function insertMerchantLogs(
  db: Db,
  chainId: number,
  logs: readonly MerchantLog[],
  credits: ReadonlyMap<string, bigint> = new Map(),
): Promise<void> {
  if (logs.length === 0) return;
  const rows = logs.map((log) => ({
    block_number: log.blockNumber,
    log_index: log.logIndex,
    block_hash: log.blockHash,
    transaction_hash: log.transactionHash,
    merchant: log.merchant.toLowerCase(),
    token: log.token.toLowerCase(),
    kind: log.kind,
    payment_id: log.paymentId,
    amount: log.amount,
    fee: log.fee,
    counterparty: log.counterparty,
    credit: credits.get(`${log.blockNumber}:${log.logIndex}`) ?? 0n,
  }));
  await sql`
    insert into merchant_ledger (chain_id, block_number, log_index, block_hash, transaction_hash, merchant, token, kind, payment_id, amount, fee, counterparty, credit)
    select ${chainId}, x.block_number, x.log_index, x.block_hash, x.transaction_hash, x.merchant, x.token, x.kind, x.payment_id, x.amount, x.fee, x.counterparty, x.credit
    from json_to_recordset(${jsonWithBigints(rows)}::json) as x(
      block_number bigint, log_index integer, block_hash text, transaction_hash text, merchant text, token text, kind text,
      payment_id text, amount numeric, fee numeric, counterparty text, credit numeric)
    on conflict (chain_id, block_number, log_index) do nothing`.execute(db);
}

/** The logs among `logs` not recorded yet (a re-read's finds). */
export async function unrecordedMerchantLogs(db: Db, chainId: number, logs: readonly MerchantLog[]): Promise<MerchantLog[]> {
  if (logs.length === 0) return [];
  const rows = await db
    .selectFrom("merchant_ledger")
    .select(["block_number", "log_index"])
    .where("chain_id", "=", chainId)
    .where("block_number", ">=", Math.min(...logs.map((log) => log.blockNumber)))
    .where("block_number", "<=", Math.max(...logs.map((log) => log.blockNumber)))
    .execute();
  const known = new Set(rows.map((row) => `${Number(row.block_number)}:${row.log_index}`));
  return logs.filter((log) => !known.has(`${log.blockNumber}:${log.logIndex}`));
}

/** Forgets the logs above `blockNumber` (a reorganisation took those blocks away). */
export async function deleteMerchantLogsAbove(db: Db, chainId: number, blockNumber: number): Promise<void> {
  await db.deleteFrom("merchant_ledger").where("chain_id", "=", chainId).where("block_number", ">", blockNumber).execute();
}

/** A payment's deposit (from payment_events) or completion (from the ledger), as recorded. */
export interface PaymentLedgerRow {
  blockNumber: number;
  logIndex: number;
  paymentId: string;
  kind: "deposited" | "completed";
  /** Lower case. */
  token: string;
  amount: bigint;
  fee: bigint;
  credit: bigint;
}

/**
 * The deposits and completions recorded for these payments, in chain order: what their completions' credits are
 * worked out from. Deposits are read from payment_events, where every escrow `PaymentDeposited` is recorded (of
 * payments registered here or not), and deleted above a reorganisation's ancestor as the ledger's rows are.
 */
export async function paymentLedgerRows(db: Db, chainId: number, paymentIds: readonly string[]): Promise<PaymentLedgerRow[]> {
  if (paymentIds.length === 0) return [];
  const ids = sql.val([...new Set(paymentIds)]);
  const { rows } = await sql<{
    block_number: string | number;
    log_index: number;
    payment_id: string;
    kind: PaymentLedgerRow["kind"];
    token: string;
    amount: string;
    fee: string;
    credit: string;
  }>`
    select block_number, log_index, payment_id, 'deposited' as kind, data->>'token' as token, data->>'amount' as amount, '0' as fee, '0' as credit
    from payment_events where chain_id = ${chainId} and payment_id = any(${ids}::text[]) and kind = 'deposited'
    union all
    select block_number, log_index, payment_id, kind, token, amount::text, fee::text, credit::text
    from merchant_ledger where chain_id = ${chainId} and payment_id = any(${ids}::text[]) and kind = 'completed'
    order by block_number, log_index`.execute(db);
  return rows.map((row) => ({
    blockNumber: Number(row.block_number),
    logIndex: row.log_index,
    paymentId: row.payment_id,
    kind: row.kind,
    token: row.token.toLowerCase(),
    amount: BigInt(row.amount),
    fee: BigInt(row.fee),
    credit: BigInt(row.credit),
  }));
}

export async function setCredits(db: Db, chainId: number, credits: ReadonlyArray<{ blockNumber: number; logIndex: number; credit: bigint }>): Promise<void> {
  if (credits.length === 0) return;
  const rows = credits.map(({ blockNumber, logIndex, credit }) => ({ block_number: blockNumber, log_index: logIndex, credit }));
  await sql`
    update merchant_ledger as m set credit = x.credit
    from json_to_recordset(${jsonWithBigints(rows)}::json) as x(block_number bigint, log_index integer, credit numeric)
    where m.chain_id = ${chainId} and m.block_number = x.block_number and m.log_index = x.log_index`.execute(db);
}

/** A merchant's balance movements summed by token, kind and whether they are at or below `confirmedBlock`. */
export async function balanceMovements(db: Db, chainId: number, merchant: Address, confirmedBlock: number): Promise<BalanceMovement[]> {
  const rows = await db
    .selectFrom("merchant_ledger")
    .select(({ fn }) => [
      "token",
      "kind",
      sql<boolean>`block_number <= ${confirmedBlock}`.as("confirmed"),
      fn.sum<string>("amount").as("amount"),
      fn.sum<string>("fee").as("fee"),
      fn.sum<string>("credit").as("credit"),
    ])
    .where("chain_id", "=", chainId)
    .where("merchant", "=", merchant.toLowerCase())
    .where("kind", "in", ["completed", "refunded", "withdrawn"])
    // By position: the same expression with its own parameter would not be the selected one to PostgreSQL.
    .groupBy(["token", "kind", sql`3`])
    .execute();
  return rows.map((row): BalanceMovement => {
    const confirmed = rowBoolean(row.confirmed);
    if (row.kind === "completed") return { kind: "credit", token: row.token, amount: BigInt(row.credit), fee: BigInt(row.fee), confirmed };
    return { kind: row.kind === "refunded" ? "refund" : "withdrawal", token: row.token, amount: BigInt(row.amount), confirmed };
  });
}

/** Refunds the merchant asked for through the API and has not sent yet, by token (lower case). */
export async function requestedRefunds(db: Db, chainId: number, merchant: Address): Promise<Map<string, bigint>> {
  const rows = await db
    .selectFrom("payments")
    .select(({ fn }) => ["token", fn.sum<string>("refund_requested").as("requested")])
    .where("chain_id", "=", chainId)
    .where(sql<boolean>`lower(merchant) = ${merchant.toLowerCase()}`)
    .where("refund_requested", ">", "0")
    .where("token", "is not", null)
    .groupBy("token")
    .execute();
  return new Map(rows.map((row) => [row.token!.toLowerCase(), BigInt(row.requested)]));
}

/** The id a withdrawal goes by in the API and its webhook: its log's place on the chain. */
export function withdrawalId(transactionHash: string, logIndex: number): string {
  return `wd_${transactionHash.slice(2).toLowerCase()}_${logIndex}`;
}

/** A withdrawal as the outbox carries it to the webhook worker: units as decimal strings. */
export interface WithdrawalOutboxData {
  withdrawal: {
    id: string;
    merchant: string;
    payout: string;
    token: string;
    amount: string;
    transactionHash: Hex;
    blockNumber: number;
  };
}

/**
 * Queues `balance.withdrawn` for every withdrawal at or below `confirmedBlock` not announced yet, in chain order, and
 * marks them announced: a withdrawal is told once, when no reorganisation within the confirmation depth can undo it.
 */
export async function announceConfirmedWithdrawals(db: Db, chainId: number, confirmedBlock: number): Promise<number> {
  const due = await db
    .updateTable("merchant_ledger")
    .set({ announced_at: sql`now()` })
    .where("chain_id", "=", chainId)
    .where("kind", "=", "withdrawn")
    .where("announced_at", "is", null)
    .where("block_number", "<=", confirmedBlock)
    .returning(["block_number", "log_index", "transaction_hash", "merchant", "token", "amount", "counterparty"])
    .execute();
  if (due.length === 0) return 0;
  due.sort((a, b) => Number(a.block_number) - Number(b.block_number) || a.log_index - b.log_index);
  await db
    .insertInto("outbox")
    .values(
      due.map((row) => {
        const data: WithdrawalOutboxData = {
          withdrawal: {
            id: withdrawalId(row.transaction_hash, row.log_index),
            merchant: row.merchant,
            payout: row.counterparty!,
            token: row.token,
            amount: String(row.amount),
            transactionHash: row.transaction_hash as Hex,
            blockNumber: Number(row.block_number),
          },
        };
        return { chain_id: chainId, payment_id: data.withdrawal.id, type: "balance.withdrawn", data: JSON.stringify(data) };
      }),
    )
    .execute();
  await notifyWebhookWorkers(db);
  return due.length;
}
