import type { Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import type { MerchantLog } from "../payments/merchantBalance";
import type { ConfirmedBlock, Settled } from "../payments/paymentEvents";
import { escrowAgreement, escrowMismatch, settlementDue, type OnChainEvidence } from "../payments/settlement";
import { applyEvent, reconcile, replay, type MachineSettings, type StatusChange } from "../payments/statusMachine";
import type { BlockRecord } from "../chain/blockHeaders";
import { deleteBlocksAbove, pruneBlocksBelow, saveBlocks, writeCheckpoint } from "../store/checkpointStore";
import {
  chainEventKey,
  deleteEventsAbove,
  insertChanges,
  insertEvents,
  lastRecordedPositions,
  loadPayments,
  markSuperseded,
  notifyPaymentPages,
  paymentsDueAt,
  paymentsRecordedAbove,
  recordedEventsOf,
  savePayments,
  type Db,
  type EventRow,
  type StoredPayment,
} from "../store/paymentStore";
import type { PaymentLog } from "./escrowLogs";
import { applyMerchantLogs } from "./merchantBalances";

/** A stretch of chain to apply in one transaction. */
export interface Batch {
  /** The payment events of the stretch (escrow logs, deposit-address arrivals), in chain order. */
  logs: readonly PaymentLog[];
  /** The escrow's merchant-level logs of the stretch (balances: `merchantBalances.ts`). */
  merchantLogs?: readonly MerchantLog[];
  /** Its first block (its last is `head`). */
  from: number;
  /** Its last block: the new checkpoint. */
  head: BlockRecord;
  /**
   * The newest block final under the confirmation policy when block `h` of the stretch is the head: each settlement
   * is judged where it first became due, as if the chain had been followed block by block.
   */
  confirmedAt: (head: number) => ConfirmedBlock;
  /**
   * What the escrow said (at `head`) of the payments that may be settled: a payment is told paid, expired or failed
   * only when this agrees with what the indexer derived. A payment due without evidence waits for the next batch.
   */
  evidence: ReadonlyMap<string, OnChainEvidence>;
  /** Blocks to keep for finding reorganisations (the unfinalised ones). */
  keep: readonly BlockRecord[];
  /** After a reorganisation: the common ancestor to roll back to before applying the stretch. */
  rollbackTo?: number;
  /** Blocks older than this are forgotten. */
  pruneBelow?: number;
}

/** A settlement withheld because the escrow's record did not back it. */
export interface Disagreement {
  paymentId: Hex;
  to: Settled["to"];
  reason: string;
}

export interface BatchResult {
  changes: StatusChange[];
  /** Chain events the status machine refused: the chain and the database disagree, and the operator must know. */
  refusals: string[];
  /** Off-chain events a rebuild found no longer apply (recorded as superseded). */
  superseded: Array<{ paymentId: string; kind: string; reason: string }>;
  /** Settlements the escrow's record contradicted: not announced, the payment re-read from the chain. */
  disagreements: Disagreement[];
  /**
   * Payments the stretch touched whose escrow record, at its head, is not what their logs say (a log missed or
   * invented, which no bloom shows when a block kept others): the payment is re-read from the chain.
   */
  mismatches: Array<{ paymentId: Hex; reason: string }>;
  /** Payments the stretch touched or rebuilt, due a settlement, for which no evidence was read: they wait for the next batch. */
  unverified: number;
  /** Payments rebuilt because a log arrived below what they had applied (a late log). */
  lateLogs: number;
  /** Payment events whose payment is not registered here (kept; applied if it is registered later). */
  unknown: number;
}

/**
 * The first head in `from`..`to` at which a payment, as it stands, is due a settlement (the confirmed block only
 * grows with the head, so a binary search finds it); undefined when none is.
 */
function dueHead(payment: Payment, from: number, to: number, confirmedAt: (head: number) => ConfirmedBlock, window: bigint): number | undefined {
  if (to < from || settlementDue(payment, confirmedAt(to), window) === undefined) return undefined;
  let [low, high] = [from, to];
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (settlementDue(payment, confirmedAt(middle), window) === undefined) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Applies a stretch of chain in one database transaction: the rollback to the common ancestor after a
 * reorganisation, the payment events and the settlements the escrow agreed to, in chain order, the changes with
 * their announcements, the kept blocks and the checkpoint. A crash anywhere leaves either all of it or none.
 *
 * A settlement is made at the first head of the stretch where it was due, between that block's events and the next
 * block's: a stretch read in one range gives the same changes, in the same order, as the same blocks followed one by
 * one (a refund in a later block is announced after `paid`, not before).
 *
 * A payment a reorganisation touched (its chain events above the ancestor, or an off-chain event recorded above it),
 * or one that received a log below what it had already applied, is rebuilt from its recorded events (`replay`,
 * which never throws: what no longer applies is marked superseded) and shows one change from what merchants saw to
 * where it stands now, if its status or money changed.
 */
export async function commitBatch(db: Db, chainId: number, settings: MachineSettings, batch: Batch): Promise<BatchResult> {
  return db.transaction().execute(async (trx) => {
    const working = new Map<string, StoredPayment>();
    /** Payments whose stored row changes: only these are written back. */
    const dirty = new Set<string>();
    const changes = new Map<string, Array<{ change: StatusChange; payment: Payment }>>();
    const result: BatchResult = { changes: [], refusals: [], superseded: [], disagreements: [], mismatches: [], unverified: 0, lateLogs: 0, unknown: 0 };
    /** Payments to rebuild from their events, with the reason their change will give. */
    const rebuild = new Map<string, "chain_reorganised" | "late_log">();

    if (batch.rollbackTo !== undefined) {
      for (const id of await deleteEventsAbove(trx, chainId, batch.rollbackTo)) rebuild.set(id, "chain_reorganised");
      for (const id of await paymentsRecordedAbove(trx, chainId, batch.rollbackTo)) rebuild.set(id, "chain_reorganised");
      await deleteBlocksAbove(trx, chainId, batch.rollbackTo);
    }

    const touched = [...new Set(batch.logs.map((log) => log.paymentId as string))];
    const recordedUpTo = await lastRecordedPositions(trx, chainId, touched);
    const inserted = await insertEvents(trx, chainId, batch.logs);
    for (const [id, stored] of await loadPayments(trx, chainId, [...touched, ...rebuild.keys()])) working.set(id, stored);
    // A new log at or below what a payment already recorded came late (a provider left it out, a re-read found it):
    // the payment is rebuilt with it in its place, rather than have it ignored as a repeat or applied out of order
    // (a log refused for want of it is applied then too).
    for (const log of batch.logs) {
      const last = recordedUpTo.get(log.paymentId);
      const { blockNumber, logIndex } = log.event.position;
      if (!last || !working.has(log.paymentId) || rebuild.has(log.paymentId) || !inserted.has(chainEventKey(log.paymentId, blockNumber, logIndex))) continue;
      if (blockNumber < last.blockNumber || (blockNumber === last.blockNumber && logIndex <= last.logIndex)) {
        rebuild.set(log.paymentId, "late_log");
        result.lateLogs += 1;
      }
    }

    const record = (id: string, payment: Payment, outcomeChanges: readonly StatusChange[]) => {
      const stored = working.get(id)!;
      if (payment !== stored.payment) dirty.add(id);
      working.set(id, { ...stored, payment });
      if (outcomeChanges.length > 0) {
        const list = changes.get(id) ?? [];
        for (const change of outcomeChanges) list.push({ change, payment });
        changes.set(id, list);
      }
    };

    // Rebuilt payments already hold this stretch's events (recorded above): one change from what merchants saw.
    for (const [id, reason] of rebuild) {
      const stored = working.get(id);
      if (!stored) continue;
      const events = await recordedEventsOf(trx, chainId, id);
      const rebuilt = replay(
        newPayment(stored.registration),
        events.map(({ event }) => event),
        settings,
      );
      const offChain = rebuilt.superseded.filter(({ event }) => !("position" in event));
      await markSuperseded(
        trx,
        offChain.map(({ index, reason: why }) => ({ id: events[index].id, reason: why })),
      );
      for (const { event, reason: why } of rebuilt.superseded) {
        if ("position" in event) result.refusals.push(`payment ${id}: ${event.kind} at block ${event.position.blockNumber} refused on rebuild: ${why}`);
        else result.superseded.push({ paymentId: id, kind: event.kind, reason: why });
      }
      const { payment, changes: reconciled } = reconcile(stored.payment, rebuilt.payment, reason);
      dirty.add(id);
      working.set(id, { ...stored, payment });
      changes.set(
        id,
        reconciled.map((change) => ({ change, payment })),
      );
    }

    // Settlements: each at the first head where it was due, and only where the escrow's own record agrees. Recorded
    // as events at that head, so that a rebuild settles again there.
    const head = batch.head.number;
    // A settlement is made only where the escrow's record backs it, and that record was read (`settlementEvidence`)
    // for every payment the database found due at this confirmed block: only those can settle here, so they alone
    // are read again, due and locked, by id; no scan of every open payment, and none at all when no evidence was
    // read (a re-read's commit), where a payment found due could only wait.
    const settleable = [...batch.evidence.keys()].filter((id) => !working.has(id));
    for (const [id, stored] of await paymentsDueAt(trx, chainId, batch.confirmedAt(head), { lock: true, among: settleable })) working.set(id, stored);
    const due = new Map<string, number>();
    const schedule = (id: string, from: number) => {
      const at = dueHead(working.get(id)!.payment, from, head, batch.confirmedAt, settings.lateCollectWindow);
      if (at === undefined) due.delete(id);
      else due.set(id, at);
    };
    for (const id of working.keys()) schedule(id, batch.from);
    const settlements: EventRow[] = [];
    /** Settles every payment due at a head before `block` (all of them when it is past the stretch). */
    const settleBefore = (block: number) => {
      const ready = [...due].filter(([, at]) => at < block).sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1));
      for (const [id, at] of ready) {
        due.delete(id);
        const { payment } = working.get(id)!;
        const confirmed = batch.confirmedAt(at);
        const owed = settlementDue(payment, confirmed, settings.lateCollectWindow);
        if (!owed) continue;
        const evidence = batch.evidence.get(id);
        if (!evidence) {
          result.unverified += 1;
          continue;
        }
        const agreement = escrowAgreement(payment, owed, evidence);
        if (!agreement.agrees) {
          result.disagreements.push({ paymentId: id as Hex, to: owed.to, reason: agreement.reason });
          continue;
        }
        const event: Settled = { kind: "settled", to: owed.to, confirmed };
        const outcome = applyEvent(payment, event, settings);
        if (!outcome.ok) throw new Error(`payment ${id}: a settlement the machine found due was refused: ${outcome.reason}`);
        record(id, outcome.payment, outcome.changes);
        settlements.push({ paymentId: id, event, recordedBlock: at });
      }
    };

    for (const log of batch.logs) {
      settleBefore(log.event.position.blockNumber);
      const stored = working.get(log.paymentId);
      if (!stored) {
        result.unknown += 1;
        continue;
      }
      // A rebuilt payment already holds its events (they were recorded above).
      if (rebuild.has(log.paymentId)) continue;
      const outcome = applyEvent(stored.payment, log.event, settings);
      if (!outcome.ok) {
        result.refusals.push(`payment ${log.paymentId}: ${log.event.kind} at block ${log.event.position.blockNumber} refused: ${outcome.reason}`);
        continue;
      }
      record(log.paymentId, outcome.payment, outcome.changes);
      schedule(log.paymentId, log.event.position.blockNumber);
    }
    settleBefore(head + 1);
    await insertEvents(trx, chainId, settlements);

    // Every payment the stretch touched, as it stands at its head, against the escrow's record at that head.
    for (const id of new Set([...touched, ...rebuild.keys()])) {
      const stored = working.get(id);
      const evidence = batch.evidence.get(id);
      if (!stored || !evidence) continue;
      const mismatch = escrowMismatch(stored.payment, evidence.escrow);
      if (mismatch) result.mismatches.push({ paymentId: id as Hex, reason: mismatch });
    }

    await savePayments(
      trx,
      chainId,
      [...dirty].map((id) => working.get(id)!.payment),
    );
    const allChanges = [...changes.values()].flat();
    await insertChanges(trx, chainId, allChanges);
    // Payments a newly recorded deposit may change the credit of (a re-read's late deposit of a completed payment).
    const deposits = batch.logs
      .filter(
        ({ paymentId, event }) => event.kind === "deposited" && inserted.has(chainEventKey(paymentId, event.position.blockNumber, event.position.logIndex)),
      )
      .map(({ paymentId }) => paymentId as string);
    await applyMerchantLogs(trx, chainId, {
      logs: batch.merchantLogs ?? [],
      deposits,
      rollbackTo: batch.rollbackTo,
      confirmedBlock: batch.confirmedAt(head).number,
    });
    await saveBlocks(trx, chainId, batch.keep);
    if (batch.pruneBelow !== undefined) await pruneBlocksBelow(trx, chainId, batch.pruneBelow);
    await writeCheckpoint(trx, chainId, { blockNumber: batch.head.number, blockHash: batch.head.hash as Hex, timestamp: batch.head.timestamp });
    await notifyPaymentPages(trx, [...dirty], batch.head.timestamp);
    result.changes = allChanges.map(({ change }) => change);
    return result;
  });
}
