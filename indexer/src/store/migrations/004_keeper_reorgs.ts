import type { Kysely } from "kysely";

/**
 * What the keeper needs to follow its transactions through reorganisations: the call it makes (is it still
 * wanted?), the signed bytes of its latest attempt (to broadcast again when a reorganisation drops it), every
 * attempt's hash (a replaced attempt may be the one mined), the no-op that takes the nonce of a dropped call no
 * longer wanted, and the block a receipt was seen in until it is final.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("keeper_actions")
    .addColumn("calldata", "text")
    .addColumn("raw_tx", "text")
    .addColumn("tx_hashes", "text")
    .addColumn("cancel_tx", "text")
    .addColumn("mined_block", "bigint")
    .execute();
}
