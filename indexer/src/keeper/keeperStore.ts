import { sql } from "kysely";
import type { Address, Hex } from "viem";
import type { Db } from "../store/paymentStore";

export interface ActionRow {
  paymentId: string;
  action: string;
  stateKey: string;
  status: "planned" | "sent" | "done" | "failed";
  nonce: number | null;
  txHash: Hex | null;
  gasPrice: bigint | null;
  attempts: number;
  updatedAt: Date;
}

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
  key: { paymentId: string; action: string; stateKey: string },
  values: { status: ActionRow["status"]; txHash?: Hex; gasPrice?: bigint; error?: string; attempt?: boolean },
) {
  await db
    .updateTable("keeper_actions")
    .set((eb) => ({
      status: values.status,
      ...(values.txHash !== undefined && { tx_hash: values.txHash }),
      ...(values.gasPrice !== undefined && { gas_price: values.gasPrice.toString() }),
      ...(values.error !== undefined && { error: values.error }),
      ...(values.attempt && { attempts: eb("attempts", "+", 1) }),
      updated_at: new Date(),
    }))
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", key.paymentId)
    .where("action", "=", key.action)
    .where("state_key", "=", key.stateKey)
    .execute();
}

export async function deleteAction(db: Db, chainId: number, key: { paymentId: string; action: string; stateKey: string }) {
  await db
    .deleteFrom("keeper_actions")
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", key.paymentId)
    .where("action", "=", key.action)
    .where("state_key", "=", key.stateKey)
    .execute();
}

/** Actions claimed or sent and not yet settled. */
export async function unsettledActions(db: Db, chainId: number): Promise<ActionRow[]> {
  const rows = await db
    .selectFrom("keeper_actions")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where("status", "in", ["planned", "sent"])
    .orderBy("nonce")
    .execute();
  return rows.map((row) => ({
    paymentId: row.payment_id,
    action: row.action,
    stateKey: row.state_key,
    status: row.status as ActionRow["status"],
    nonce: row.nonce,
    txHash: row.tx_hash as Hex | null,
    gasPrice: row.gas_price === null ? null : BigInt(row.gas_price),
    attempts: Number(row.attempts),
    updatedAt: new Date(row.updated_at),
  }));
}

export async function scannedBlock(db: Db, chainId: number): Promise<number | undefined> {
  const row = await db.selectFrom("keeper_cursors").select("scanned_block").where("chain_id", "=", chainId).executeTakeFirst();
  return row ? Number(row.scanned_block) : undefined;
}

export async function recordTransfers(
  db: Db,
  chainId: number,
  transfers: ReadonlyArray<{ blockNumber: number; logIndex: number; paymentId: string; token: Address; sender: Address; amount: bigint }>,
  scannedTo: number,
) {
  await db.transaction().execute(async (trx) => {
    if (transfers.length > 0) {
      await trx
        .insertInto("deposit_transfers")
        .values(
          transfers.map((t) => ({
            chain_id: chainId,
            block_number: t.blockNumber,
            log_index: t.logIndex,
            payment_id: t.paymentId,
            token: t.token,
            sender: t.sender,
            amount: t.amount.toString(),
          })),
        )
        .onConflict((oc) => oc.columns(["chain_id", "block_number", "log_index"]).doNothing())
        .execute();
    }
    await trx
      .insertInto("keeper_cursors")
      .values({ chain_id: chainId, scanned_block: scannedTo })
      .onConflict((oc) => oc.column("chain_id").doUpdateSet({ scanned_block: scannedTo }))
      .execute();
  });
}

/** Transfers recorded for payments, oldest first. */
export async function transfersOf(db: Db, chainId: number, paymentIds: readonly string[]) {
  if (paymentIds.length === 0) return [];
  const rows = await db
    .selectFrom("deposit_transfers")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where(sql<boolean>`payment_id = any(${sql.val([...paymentIds])}::text[])`)
    .orderBy("block_number")
    .orderBy("log_index")
    .execute();
  return rows.map((row) => ({ paymentId: row.payment_id, token: row.token as Address, sender: row.sender as Address, amount: BigInt(row.amount) }));
}

/**
 * Payments the keeper looks at: the open ones (they may be paid at their deposit address), those expired within
 * the last day (refunds of deposit addresses), and any whose deposit address received tokens recently (strays).
 */
export async function keeperCandidates(db: Db, chainId: number, sinceBlock: number) {
  return db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where((eb) =>
      eb.or([
        eb("status", "in", ["initiated", "pending"]),
        eb.and([eb("status", "=", "expired"), eb("updated_at", ">", sql<Date>`now() - interval '1 day'`)]),
        eb(
          "id",
          "in",
          eb.selectFrom("deposit_transfers").select("payment_id").where("chain_id", "=", chainId).where("block_number", ">=", sinceBlock),
        ),
      ]),
    )
    .execute();
}
