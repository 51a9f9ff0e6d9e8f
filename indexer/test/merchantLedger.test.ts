import { expect } from "chai";
import { sql } from "kysely";
import type { Address, Hex } from "viem";
import { applyMerchantLogs } from "../src/indexing/merchantBalances";
import type { MerchantLog } from "../src/payments/merchantBalance";
import type { Db } from "../src/store/paymentStore";
import { describeEachStore } from "./support/stores";

const CHAIN = 31337;
const MERCHANT = `0x${"aa".repeat(20)}` as Address;
const TOKEN = `0x${"BB".repeat(20)}` as Address;
const P = `0x${"01".repeat(32)}` as Hex;
const Q = `0x${"02".repeat(32)}` as Hex;

const log = (kind: "deposited" | "completed", paymentId: Hex, blockNumber: number, logIndex: number, amount: bigint, fee = 0n): MerchantLog => ({
  kind,
  merchant: MERCHANT,
  token: TOKEN,
  amount,
  fee,
  paymentId,
  counterparty: null,
  blockNumber,
  logIndex,
  blockHash: `0x${blockNumber.toString(16).padStart(64, "0")}`,
  transactionHash: `0x${"cc".repeat(32)}`,
});

/**
 * Applies the logs in a transaction of their own; returns the ledger rows it updated (PostgreSQL's own count, which
 * holds this session's counts not yet flushed to the shared statistics too: hence the difference).
 */
async function apply(db: Db, logs: MerchantLog[]): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const updated = async () =>
      Number(
        (
          await sql<{ updated: string }>`
            select coalesce(sum(n_tup_upd), 0)::text as updated from pg_stat_xact_user_tables where relname = 'merchant_ledger'`.execute(trx)
        ).rows[0].updated,
      );
    const before = await updated();
    await applyMerchantLogs(trx, CHAIN, { logs, confirmedBlock: 0 });
    return (await updated()) - before;
  });
}

const ledger = async (db: Db) =>
  (await db.selectFrom("merchant_ledger").select(["block_number", "log_index", "kind", "credit"]).orderBy("block_number").orderBy("log_index").execute()).map(
    (row) => [Number(row.block_number), row.log_index, row.kind, BigInt(row.credit)],
  );

describeEachStore("the merchant ledger's credits", (store) => {
  it("writes a new completion once, with its credit, and updates a recorded one only when a deposit found late changes it", async function () {
    const { db } = store();
    // A payment paid in two deposits (the second completing it, a fee of 1 taken), another in one.
    const updatedFirst = await apply(db, [log("deposited", P, 10, 0, 4n), log("completed", P, 10, 2, 6n, 1n), log("completed", Q, 11, 0, 5n)]);
    expect(updatedFirst, "no row written twice").to.equal(0);
    expect(await ledger(db)).to.deep.equal([
      [10, 0, "deposited", 0n],
      [10, 2, "completed", 9n],
      [11, 0, "completed", 5n],
    ]);

    // A re-read finds a deposit of the first payment the first read left out (and returns one already recorded).
    const updatedLate = await apply(db, [log("deposited", P, 10, 0, 4n), log("deposited", P, 10, 1, 3n)]);
    expect(updatedLate, "only the completion the late deposit changes").to.equal(1);
    expect(await ledger(db)).to.deep.equal([
      [10, 0, "deposited", 0n],
      [10, 1, "deposited", 0n],
      [10, 2, "completed", 12n],
      [11, 0, "completed", 5n],
    ]);

    // Read again with nothing new: nothing changes.
    expect(await apply(db, [log("completed", P, 10, 2, 6n, 1n)])).to.equal(0);
    expect((await ledger(db))[2]).to.deep.equal([10, 2, "completed", 12n]);
  });
});
