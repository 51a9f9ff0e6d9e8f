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
 * The merchant-level part of a batch (`commitBatch`), in its transaction, after the batch's payment events are
 * recorded: the rollback to the common ancestor, the stretch's merchant logs, the credits of the payments they touch,
 * and `balance.withdrawn` for the withdrawals the stretch confirmed. A credit is worked out again from all its
 * payment's recorded deposits (payment events) whenever one of them is newly recorded (`deposits`: their payments),
 * so that a deposit log found late (a re-read) still counts. New completions are written with their credit; only a
 * recorded completion whose credit a late deposit changed is updated (a backfill writes each row once).
 */
export async function applyMerchantLogs(
  db: Db,
  chainId: number,
  {
    logs,
    deposits = [],
    rollbackTo,
    confirmedBlock,
  }: { logs: readonly MerchantLog[]; deposits?: readonly string[]; rollbackTo?: number; confirmedBlock: number },
): Promise<void> {
  if (rollbackTo !== undefined) await deleteMerchantLogsAbove(db, chainId, rollbackTo);
  const completions = logs.filter((log) => log.kind === "completed");
  const recorded = await paymentLedgerRows(db, chainId, [...deposits, ...completions.map((log) => log.paymentId!)]);
  const place = (row: { blockNumber: number; logIndex: number }) => `${row.blockNumber}:${row.logIndex}`;
  const known = new Set(recorded.map(place));
  const fresh: PaymentLedgerRow[] = completions
    .filter((log) => !known.has(place(log)))
    .map((log) => ({
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      paymentId: log.paymentId!,
      kind: "completed",
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
