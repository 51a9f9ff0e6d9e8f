import { sql } from "kysely";
import type { Hex } from "viem";
import { OPEN_STATUSES } from "../payments/statuses";
import { withinLateFundsWindow, type Db } from "../store/paymentStore";
import type { KeeperTransaction, TransactionState } from "./transactionLifecycle";

export type ActionKey = { paymentId: string; action: string; stateKey: string };

/** One keeper_actions row: the action's key and its transaction (keeper/transactionLifecycle.ts). */
export type ActionRow = ActionKey & KeeperTransaction;

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
    status: TransactionState;
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
  return rows.map((row): ActionRow => {
    const key = { paymentId: row.payment_id, action: row.action, stateKey: row.state_key };
    // A claim has its nonce and nothing else; every other row was recorded with its signed call (keeper.ts).
    if (row.status === "planned") return { ...key, status: "planned", nonce: row.nonce! };
    return {
      ...key,
      status: row.status as Exclude<TransactionState, "planned">,
      nonce: row.nonce!,
      txHash: row.tx_hash as Hex,
      gasPrice: BigInt(row.gas_price!),
      attempts: Number(row.attempts),
      updatedAt: new Date(row.updated_at),
      calldata: row.calldata as Hex,
      rawTx: row.raw_tx as Hex,
      txHashes: row.tx_hashes!.split(",") as Hex[],
      cancelTx: row.cancel_tx as Hex | null,
      minedBlock: row.mined_block === null ? null : Number(row.mined_block),
    } as ActionRow;
  });
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
 * Payments the keeper looks at, as the indexer recorded them up to chain time `at` (its checkpoint's): the open ones
 * (they may be paid at their deposit address), those expired within the late-funds window (refunds of deposit
 * addresses), paid or expired ones still holding deposits in tokens that did not pay them (`other_deposits`: refunds
 * of leftovers), any whose deposit address received funds recently (strays), and any holding a token the escrow does
 * not take that was not returned (reported to the operator each round).
 */
export async function keeperCandidates(db: Db, chainId: number, { at, sinceBlock }: { at: bigint; sinceBlock: number }) {
  return db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where((eb) =>
      eb.or([
        eb("status", "in", [...OPEN_STATUSES]),
        // The refunds of an expired payment's deposit address follow its expiry within a few rounds; the window leaves
        // room to retry them through an outage without reading every payment that ever expired.
        eb.and([eb("status", "=", "expired"), withinLateFundsWindow(eb, at)]),
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
