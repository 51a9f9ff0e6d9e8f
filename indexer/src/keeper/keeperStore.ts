import { sql } from "kysely";
import type { Address, Hex } from "viem";
import { LATE_FUNDS_WINDOW, type Db } from "../store/paymentStore";
import { OPEN_STATUSES } from "../payments/statuses";

export type ActionStatus = "planned" | "sent" | "mined" | "cancelling" | "done" | "failed";

export interface ActionRow {
  paymentId: string;
  action: string;
  stateKey: string;
  /**
   * planned: claimed with a nonce, nothing signed yet; sent: signed, recorded, then broadcast; mined: a receipt, not
   * final yet (a reorganisation may still take it); cancelling: dropped by the chain and no longer wanted, a no-op
   * transaction takes its nonce; done, failed: final.
   */
  status: ActionStatus;
  nonce: number | null;
  /** The latest attempt, or the one mined. */
  txHash: Hex | null;
  gasPrice: bigint | null;
  attempts: number;
  updatedAt: Date;
  /** The escrow call (null on rows from before calls were recorded). */
  calldata: Hex | null;
  /** The latest attempt's signed bytes, to broadcast again. */
  rawTx: Hex | null;
  /** Every attempt's hash (the call's; not the no-op's). */
  txHashes: Hex[];
  /** The signed no-op taking the nonce, once the call was dropped and no longer wanted. */
  cancelTx: Hex | null;
  /** Where its receipt was seen, until final. */
  minedBlock: number | null;
}

export type ActionKey = { paymentId: string; action: string; stateKey: string };

/**
 * Claims an action for a payment and state before anything is sent, with the nonce it will use: false when the
 * same action was already claimed for that state, by this process or one before it.
 */
export async function claimAction(db: Db, chainId: number, paymentId: string, action: string, stateKey: string, nonce: number) {
  const result = await db
    .insertInto("keeper_actions")
    .values({ chain_id: chainId, payment_id: paymentId, action, state_key: stateKey, status: "planned", nonce })
    .onConflict((oc) => oc.columns(["chain_id", "payment_id", "action", "state_key"]).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function updateAction(
  db: Db,
  chainId: number,
  key: ActionKey,
  values: {
    status: ActionStatus;
    txHash?: Hex;
    gasPrice?: bigint;
    error?: string;
    attempt?: boolean;
    calldata?: Hex;
    rawTx?: Hex;
    txHashes?: readonly Hex[];
    cancelTx?: Hex;
    minedBlock?: number | null;
  },
) {
  await db
    .updateTable("keeper_actions")
    .set((eb) => ({
      status: values.status,
      ...(values.txHash !== undefined && { tx_hash: values.txHash }),
      ...(values.gasPrice !== undefined && { gas_price: values.gasPrice.toString() }),
      ...(values.error !== undefined && { error: values.error }),
      ...(values.attempt && { attempts: eb("attempts", "+", 1) }),
      ...(values.calldata !== undefined && { calldata: values.calldata }),
      ...(values.rawTx !== undefined && { raw_tx: values.rawTx }),
      ...(values.txHashes !== undefined && { tx_hashes: values.txHashes.join(",") }),
      ...(values.cancelTx !== undefined && { cancel_tx: values.cancelTx }),
      ...(values.minedBlock !== undefined && { mined_block: values.minedBlock }),
      updated_at: new Date(),
    }))
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", key.paymentId)
    .where("action", "=", key.action)
    .where("state_key", "=", key.stateKey)
    .execute();
}

export async function deleteAction(db: Db, chainId: number, key: ActionKey) {
  await db
    .deleteFrom("keeper_actions")
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", key.paymentId)
    .where("action", "=", key.action)
    .where("state_key", "=", key.stateKey)
    .execute();
}

/** Actions claimed, sent or mined and not yet final, by nonce. */
export async function unsettledActions(db: Db, chainId: number): Promise<ActionRow[]> {
  const rows = await db
    .selectFrom("keeper_actions")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where("status", "in", ["planned", "sent", "mined", "cancelling"])
    .orderBy("nonce")
    .execute();
  return rows.map((row) => ({
    paymentId: row.payment_id,
    action: row.action,
    stateKey: row.state_key,
    status: row.status as ActionStatus,
    nonce: row.nonce,
    txHash: row.tx_hash as Hex | null,
    gasPrice: row.gas_price === null ? null : BigInt(row.gas_price),
    attempts: Number(row.attempts),
    updatedAt: new Date(row.updated_at),
    calldata: row.calldata as Hex | null,
    rawTx: row.raw_tx as Hex | null,
    txHashes: (row.tx_hashes ? row.tx_hashes.split(",") : row.tx_hash ? [row.tx_hash] : []) as Hex[],
    cancelTx: row.cancel_tx as Hex | null,
    minedBlock: row.mined_block === null ? null : Number(row.mined_block),
  }));
}

/** The keys of actions of these payments whose transaction reverted (final): the same action is never sent again for that state. */
export async function revertedActionKeys(db: Db, chainId: number, paymentIds: readonly string[]): Promise<Set<string>> {
  if (paymentIds.length === 0) return new Set();
  const rows = await db
    .selectFrom("keeper_actions")
    .select(["payment_id", "action", "state_key"])
    .where("chain_id", "=", chainId)
    .where("status", "=", "failed")
    .where(sql<boolean>`payment_id = any(${sql.val([...paymentIds])}::text[])`)
    .execute();
  return new Set(rows.map((row) => actionKeyString({ paymentId: row.payment_id, action: row.action, stateKey: row.state_key })));
}

/** An action's key as one string. */
export const actionKeyString = (key: ActionKey) => `${key.paymentId.toLowerCase()}|${key.action}|${key.stateKey}`;

/**
 * Payments the keeper looks at: the open ones (they may be paid at their deposit address), those expired within
 * the last day (refunds of deposit addresses), paid or expired ones still holding deposits in tokens that did not
 * pay them (`other_deposits`: refunds of leftovers), any whose deposit address received funds recently (strays), and
 * any holding a token the escrow does not take that was not returned (reported to the operator each round).
 */
export async function keeperCandidates(db: Db, chainId: number, sinceBlock: number) {
  return db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where((eb) =>
      eb.or([
        eb("status", "in", [...OPEN_STATUSES]),
        eb.and([eb("status", "=", "expired"), eb("updated_at", ">", sql<Date>`now() - ${LATE_FUNDS_WINDOW}`)]),
        eb.and([eb("status", "in", ["confirming", "paid", "refunding", "partially_refunded", "refunded", "expired"]), eb("other_deposits", "<>", "[]")]),
        // Tokens the escrow does not take, still waiting: reported to the operator every round until returned.
        eb.and([eb("unaccepted_transfers", "<>", "[]"), eb("unaccepted_transfers", "like", '%"returnedBy":null%')]),
        eb(
          "id",
          "in",
          eb
            .selectFrom("payment_events")
            .select("payment_id")
            .where("chain_id", "=", chainId)
            .where("kind", "=", "deposit_address_funded")
            .where("block_number", ">=", sinceBlock),
        ),
      ]),
    )
    .execute();
}
