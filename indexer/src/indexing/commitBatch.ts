import type { Hex } from "viem";
import { lastConfirmedBlock } from "../chain/confirmations";
import { newPayment, type Payment } from "../payments/payment";
import type { HeadAdvanced } from "../payments/paymentEvents";
import { applyEvent, reconcile, replay, type MachineSettings, type StatusChange } from "../payments/statusMachine";
import {
  deleteBlocksAbove,
  pruneBlocksBelow,
  saveBlocks,
  writeCheckpoint,
  type BlockRecord,
} from "../store/checkpointStore";
import {
  deleteEventsAbove,
  eventsOf,
  insertChanges,
  insertEvents,
  insertNotices,
  loadPayments,
  loadPaymentsForHead,
  savePayments,
  type Db,
  type OutboxNotice,
  type StoredPayment,
} from "../store/paymentStore";
import type { PaymentLog } from "./escrowLogs";

/** Chain events the merchant hears of even when the status stays (`outcome.changes` empty), and as what. */
const NOTICES: Partial<Record<PaymentLog["event"]["kind"], OutboxNotice["type"]>> = {
  deposited: "payment.underpaid",
  refunded: "payment.refunded",
};

/** A stretch of chain to apply in one transaction. */
export interface Batch {
  /** The payment events of the stretch, in chain order. */
  logs: readonly PaymentLog[];
  /** Its last block: the new checkpoint, and the head confirmations and expiry are judged against. */
  head: BlockRecord;
  /** The latest finalized block, when the confirmation policy uses it. */
  finalized?: number;
  /** Blocks to keep for finding reorganisations (the unfinalised ones). */
  keep: readonly BlockRecord[];
  /** After a reorganisation: the common ancestor to roll back to before applying the stretch. */
  rollbackTo?: number;
  /** Blocks older than this are forgotten. */
  pruneBelow?: number;
}

export interface BatchResult {
  changes: StatusChange[];
  /** Chain events the status machine refused: the chain and the database disagree, and the operator must know. */
  refusals: string[];
  /** Payment events whose payment is not registered here (kept; applied if it is registered later). */
  unknown: number;
}

/**
 * Applies a stretch of chain in one database transaction: rollback to the common ancestor after a reorganisation,
 * the payment events, the new head's confirmations and expiries, the status changes with their outbox events, the
 * kept blocks and the checkpoint. A crash anywhere leaves either all of it or none.
 */
export async function commitBatch(db: Db, chainId: number, settings: MachineSettings, batch: Batch): Promise<BatchResult> {
  return db.transaction().execute(async (trx) => {
    const working = new Map<string, StoredPayment>();
    /** Payments whose stored row changes: only these are written back. */
    const dirty = new Set<string>();
    const changes = new Map<string, Array<{ change: StatusChange; payment: Payment }>>();
    const refusals: string[] = [];
    /** Payments rebuilt after a reorganisation, as they were before it: their changes are reconciled at the end. */
    const beforeReorg = new Map<string, Payment>();

    if (batch.rollbackTo !== undefined) {
      const affected = await deleteEventsAbove(trx, chainId, batch.rollbackTo);
      await deleteBlocksAbove(trx, chainId, batch.rollbackTo);
      for (const [id, stored] of await loadPayments(trx, chainId, affected)) {
        beforeReorg.set(id, stored.payment);
        dirty.add(id);
        const rebuilt = replay(newPayment(stored.registration), await eventsOf(trx, chainId, id), settings);
        working.set(id, { ...stored, payment: rebuilt });
      }
    }

    await insertEvents(trx, chainId, batch.logs);
    const missing = batch.logs.map((log) => log.paymentId).filter((id) => !working.has(id));
    for (const [id, stored] of await loadPayments(trx, chainId, missing)) working.set(id, stored);

    const record = (id: string, outcome: ReturnType<typeof applyEvent>, what: string) => {
      const stored = working.get(id)!;
      if (!outcome.ok) {
        refusals.push(`payment ${id}: ${what} refused: ${outcome.reason}`);
        return;
      }
      if (outcome.payment !== stored.payment) dirty.add(id);
      working.set(id, { ...stored, payment: outcome.payment });
      if (outcome.changes.length > 0) {
        const list = changes.get(id) ?? [];
        for (const change of outcome.changes) list.push({ change, payment: outcome.payment });
        changes.set(id, list);
      }
    };

    const notices: OutboxNotice[] = [];
    let unknown = 0;
    for (const log of batch.logs) {
      const stored = working.get(log.paymentId);
      if (!stored) {
        unknown += 1;
        continue;
      }
      const outcome = applyEvent(stored.payment, log.event, settings);
      record(log.paymentId, outcome, `${log.event.kind} at block ${log.event.position.blockNumber}`);
      // A further partial deposit, or a further partial refund, changes no status; the merchant is told of each one.
      const notice = NOTICES[log.event.kind];
      if (notice && outcome.ok && outcome.changes.length === 0 && outcome.payment !== stored.payment) {
        notices.push({ paymentId: log.paymentId, type: notice, payment: outcome.payment });
      }
    }

    const head: HeadAdvanced = {
      kind: "head",
      head: { number: batch.head.number, finalized: batch.finalized },
      timestamp: batch.head.timestamp,
    };
    const confirmedUpTo = lastConfirmedBlock(head.head, settings.confirmations);
    const expiredBefore = batch.head.timestamp - settings.lateCollectWindow;
    for (const [id, stored] of await loadPaymentsForHead(trx, chainId, confirmedUpTo, expiredBefore)) {
      if (!working.has(id)) working.set(id, stored);
    }
    for (const [id, stored] of working) {
      if (stored.payment.status === "confirming" || stored.payment.status === "initiated" || stored.payment.status === "pending") {
        record(id, applyEvent(stored.payment, head, settings), `head ${batch.head.number}`);
      }
    }

    // A payment the reorganisation touched shows one change, from what merchants saw to where it stands now.
    for (const [id, before] of beforeReorg) {
      const { payment, changes: reconciled } = reconcile(before, working.get(id)!.payment);
      working.set(id, { ...working.get(id)!, payment });
      changes.set(id, reconciled.map((change) => ({ change, payment })));
    }

    await savePayments(trx, chainId, [...dirty].map((id) => working.get(id)!.payment));
    const allChanges = [...changes.values()].flat();
    await insertChanges(trx, chainId, allChanges);
    await insertNotices(trx, chainId, notices);
    await saveBlocks(trx, chainId, batch.keep);
    if (batch.pruneBelow !== undefined) await pruneBlocksBelow(trx, chainId, batch.pruneBelow);
    await writeCheckpoint(trx, chainId, { blockNumber: batch.head.number, blockHash: batch.head.hash as Hex, timestamp: batch.head.timestamp });
    return { changes: allChanges.map(({ change }) => change), refusals, unknown };
  });
}
