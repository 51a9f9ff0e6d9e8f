import { completionCredits, type MerchantLog } from "../payments/merchantBalance";
import {
  announceConfirmedWithdrawals,
  deleteMerchantLogsAbove,
  insertMerchantLogs,
  paymentLedgerRows,
  setCredits,
  type PaymentLedgerRow,
} from "../store/merchantLedgerStore";
import type { Db } from "../store/paymentStore";

/**
 * The merchant-level part of a batch (`commitBatch`), in its transaction: the rollback to the common ancestor, the
 * stretch's merchant logs, the credits of the payments they touch, and `balance.withdrawn` for the withdrawals the
 * stretch confirmed. A credit is worked out again from all its payment's recorded deposits whenever one of them is
 * recorded, so that a deposit log found late (a re-read) still counts. New completions are written with their credit;
 * only a recorded completion whose credit a late deposit changed is updated (a backfill writes each row once).
 */
export async function applyMerchantLogs(
  db: Db,
  chainId: number,
  { logs, rollbackTo, confirmedBlock }: { logs: readonly MerchantLog[]; rollbackTo?: number; confirmedBlock: number },
): Promise<void> {
  if (rollbackTo !== undefined) await deleteMerchantLogsAbove(db, chainId, rollbackTo);
  const payments = logs.filter((log) => log.kind === "deposited" || log.kind === "completed").map((log) => log.paymentId!);
  const recorded = await paymentLedgerRows(db, chainId, payments);
  const place = (row: { blockNumber: number; logIndex: number }) => `${row.blockNumber}:${row.logIndex}`;
  const known = new Set(recorded.map(place));
  const fresh: PaymentLedgerRow[] = logs
    .filter((log) => (log.kind === "deposited" || log.kind === "completed") && !known.has(place(log)))
    .map((log) => ({
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      paymentId: log.paymentId!,
      kind: log.kind as PaymentLedgerRow["kind"],
      token: log.token.toLowerCase(),
      amount: log.amount,
      fee: log.fee,
      credit: 0n,
    }));
  const rows = [...recorded, ...fresh].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  const credits = new Map([...completionCredits(rows)].map(([index, credit]) => [place(rows[index]), { row: rows[index], credit }]));
  await insertMerchantLogs(db, chainId, logs, new Map([...credits].map(([at, { credit }]) => [at, credit])));
  const changed = [...credits.values()]
    .filter(({ row, credit }) => known.has(place(row)) && row.credit !== credit)
    .map(({ row, credit }) => ({ blockNumber: row.blockNumber, logIndex: row.logIndex, credit }));
  await setCredits(db, chainId, changed);
  await announceConfirmedWithdrawals(db, chainId, confirmedBlock);
}
