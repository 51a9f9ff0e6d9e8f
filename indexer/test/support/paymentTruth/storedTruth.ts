import type { Db } from "../../../src/store/paymentStore";
import { claimOutboxRows } from "../../../src/store/webhookDeliveryStore";
import { paymentFromRow } from "../../../src/store/paymentRows";
import { heldText } from "./escrowOutcome";

/** What a payment came to: the fields merchants act on. */
export interface Outcome {
  status: string;
  receivedUsd: bigint;
  paidAmount: bigint;
  excessUsd: bigint;
  refundedAmount: bigint;
  /** Lowercase; null before the first deposit. */
  token: string | null;
  /** What it holds in its other accepted tokens, not sent back yet (`heldText`: `token:amount,…`). */
  otherDeposits: string;
}

export interface AnnouncedChange {
  sequence: number;
  from: string;
  to: string;
  reason: string;
}

/** A payment as a store holds it: its outcome, its sequence counter, its status changes and outbox events. */
export interface StoredTruth extends Outcome {
  sequence: number;
  /** `status_changes`, by sequence. */
  changes: AnnouncedChange[];
  /** What waits for the webhook dispatcher, in the order it takes it: each event's type and the change it carries. */
  outbox: Array<{ type: string; change: AnnouncedChange }>;
  /**
   * Whether a chain event was stored only after an off-chain event recorded above its block (a provider that left
   * its log out at first): the announcements then followed what the indexer knew, in another order than the chain's.
   */
  learntLate: boolean;
}

const changeOf = (change: { sequence: unknown; from: unknown; to: unknown; reason: unknown }): AnnouncedChange => ({
  sequence: Number(change.sequence),
  from: String(change.from),
  to: String(change.to),
  reason: String(change.reason),
});

/** Every payment of chain `chainId` in the store, by id. */
export async function storedTruth(db: Db, chainId: number): Promise<Map<string, StoredTruth>> {
  const rows = await db.selectFrom("payments").selectAll().where("chain_id", "=", chainId).execute();
  const changes = await db
    .selectFrom("status_changes")
    .select(["payment_id", "sequence", "from_status", "to_status", "reason"])
    .where("chain_id", "=", chainId)
    .orderBy("payment_id")
    .orderBy("sequence")
    .execute();
  const outbox = await claimOutboxRows(db, chainId, 1_000_000_000);
  const found = new Map<string, StoredTruth>();
  for (const row of rows) {
    const payment = paymentFromRow(row);
    found.set(row.id, {
      status: payment.status,
      receivedUsd: payment.receivedUsd,
      paidAmount: payment.paidAmount,
      excessUsd: payment.excessUsd,
      refundedAmount: payment.refundedAmount,
      token: payment.token?.toLowerCase() ?? null,
      otherDeposits: heldText(payment.otherDeposits),
      sequence: payment.sequence,
      changes: [],
      outbox: [],
      learntLate: false,
    });
  }
  const late = await db
    .selectFrom("payment_events as chain")
    .innerJoin("payment_events as offchain", (join) =>
      join.onRef("chain.payment_id", "=", "offchain.payment_id").onRef("chain.chain_id", "=", "offchain.chain_id"),
    )
    .select("chain.payment_id")
    .distinct()
    .where("chain.chain_id", "=", chainId)
    .where("chain.block_number", "is not", null)
    .where("offchain.block_number", "is", null)
    .where("chain.superseded_at", "is", null)
    .where("offchain.superseded_at", "is", null)
    .whereRef("chain.id", ">", "offchain.id")
    .whereRef("chain.block_number", "<=", "offchain.recorded_block")
    .execute();
  for (const row of late) {
    const truth = found.get(row.payment_id);
    if (truth) truth.learntLate = true;
  }
  for (const row of changes) {
    found.get(row.payment_id)?.changes.push(changeOf({ sequence: row.sequence, from: row.from_status, to: row.to_status, reason: row.reason }));
  }
  for (const row of outbox) {
    const data = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as {
      change: { sequence: unknown; from: unknown; to: unknown; reason: unknown };
    };
    found.get(row.payment_id)?.outbox.push({ type: row.type, change: changeOf(data.change) });
  }
  return found;
}
