import type { Hex } from "viem";
import type { BlockRecord } from "../chain/blockHeaders";
import type { Db } from "./paymentStore";

export interface Checkpoint {
  blockNumber: number;
  blockHash: Hex;
  timestamp: bigint;
}

export async function readCheckpoint(db: Db, chainId: number): Promise<Checkpoint | undefined> {
  const row = await db.selectFrom("checkpoints").selectAll().where("chain_id", "=", chainId).executeTakeFirst();
  if (!row) return undefined;
  return { blockNumber: Number(row.block_number), blockHash: row.block_hash as Hex, timestamp: BigInt(row.block_timestamp) };
}

export async function writeCheckpoint(db: Db, chainId: number, checkpoint: Checkpoint): Promise<void> {
  const values = {
    block_number: checkpoint.blockNumber,
    block_hash: checkpoint.blockHash,
    block_timestamp: checkpoint.timestamp.toString(),
    updated_at: new Date(),
  };
  await db
    .insertInto("checkpoints")
    .values({ chain_id: chainId, ...values })
    .onConflict((oc) => oc.column("chain_id").doUpdateSet(values))
    .execute();
}

export async function saveBlocks(db: Db, chainId: number, blocks: readonly BlockRecord[]): Promise<void> {
  if (blocks.length === 0) return;
  await db
    .insertInto("blocks")
    .values(
      blocks.map((block) => ({
        chain_id: chainId,
        number: block.number,
        hash: block.hash,
        parent_hash: block.parentHash,
        timestamp: block.timestamp.toString(),
      })),
    )
    .onConflict((oc) =>
      oc.columns(["chain_id", "number"]).doUpdateSet((eb) => ({
        hash: eb.ref("excluded.hash"),
        parent_hash: eb.ref("excluded.parent_hash"),
        timestamp: eb.ref("excluded.timestamp"),
      })),
    )
    .execute();
}

/** The kept block at `number`, if the indexer still keeps it. */
export async function keptBlock(db: Db, chainId: number, number: number): Promise<BlockRecord | undefined> {
  const row = await db.selectFrom("blocks").selectAll().where("chain_id", "=", chainId).where("number", "=", number).executeTakeFirst();
  if (!row) return undefined;
  return { number: Number(row.number), hash: row.hash as Hex, parentHash: row.parent_hash as Hex, timestamp: BigInt(row.timestamp) };
}

export async function deleteBlocksAbove(db: Db, chainId: number, number: number): Promise<void> {
  await db.deleteFrom("blocks").where("chain_id", "=", chainId).where("number", ">", number).execute();
}

/** Forgets blocks too deep to be reorganised away. */
export async function pruneBlocksBelow(db: Db, chainId: number, number: number): Promise<void> {
  await db.deleteFrom("blocks").where("chain_id", "=", chainId).where("number", "<", number).execute();
}

/** Every kept block, oldest first: the recent chain as the indexer applied it. */
export async function keptBlocks(db: Db, chainId: number): Promise<BlockRecord[]> {
  const rows = await db.selectFrom("blocks").selectAll().where("chain_id", "=", chainId).orderBy("number").execute();
  return rows.map((row) => ({ number: Number(row.number), hash: row.hash as Hex, parentHash: row.parent_hash as Hex, timestamp: BigInt(row.timestamp) }));
}
