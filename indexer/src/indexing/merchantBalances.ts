import { completionCredits, type MerchantLog } from "../payments/merchantBalance";
import { announceConfirmedWithdrawals, deleteMerchantLogsAbove, insertMerchantLogs, paymentLedgerRows, setCredits } from "../store/merchantLedgerStore";
import type { Db } from "../store/paymentStore";

/**
 * The merchant-level part of a batch (`commitBatch`), in its transaction: the rollback to the common ancestor, the
 * stretch's merchant logs, the credits of the payments they touch, and `balance.withdrawn` for the withdrawals the
 * stretch confirmed. A credit is worked out again from all its payment's recorded deposits whenever one of them is
 * recorded, so that a deposit log found late (a re-read) still counts.
 */
export async function applyMerchantLogs(
  db: Db,
  chainId: number,
  { logs, rollbackTo, confirmedBlock }: { logs: readonly MerchantLog[]; rollbackTo?: number; confirmedBlock: number },
): Promise<void> {
  if (rollbackTo !== undefined) await deleteMerchantLogsAbove(db, chainId, rollbackTo);
  await insertMerchantLogs(db, chainId, logs);
  const payments = logs.filter((log) => log.kind === "deposited" || log.kind === "completed").map((log) => log.paymentId!);
  const rows = await paymentLedgerRows(db, chainId, payments);
  const changed = [...completionCredits(rows)]
    .filter(([index, credit]) => rows[index].credit !== credit)
    .map(([index, credit]) => ({ blockNumber: rows[index].blockNumber, logIndex: rows[index].logIndex, credit }));
  await setCredits(db, chainId, changed);
  await announceConfirmedWithdrawals(db, chainId, confirmedBlock);
}
