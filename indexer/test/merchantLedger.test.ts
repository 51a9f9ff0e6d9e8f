import { expect } from "chai";
import { sql } from "kysely";
import type { Address, Hex } from "viem";
import { applyMerchantLogs } from "../src/indexing/merchantBalances";
import type { MerchantLog } from "../src/payments/merchantBalance";
import type { Deposited } from "../src/payments/paymentEvents";
import { chainEventKey, insertEvents, type Db, type EventRow } from "../src/store/paymentStore";
import { describeEachStore } from "./support/stores";

const CHAIN = 31337;
const MERCHANT = `0x${"aa".repeat(20)}` as Address;
const TOKEN = `0x${"BB".repeat(20)}` as Address;
const P = `0x${"01".repeat(32)}` as Hex;
const Q = `0x${"02".repeat(32)}` as Hex;

const completion = (paymentId: Hex, blockNumber: number, logIndex: number, amount: bigint, fee = 0n): MerchantLog => ({
  kind: "completed",
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

/** A deposit as the batch records it first: a payment event (the ledger keeps no row of it). */
const deposit = (paymentId: Hex, blockNumber: number, logIndex: number, amount: bigint): EventRow => ({
  paymentId,
  event: {
    kind: "deposited",
    position: { blockNumber, logIndex },
    transactionHash: `0x${"cc".repeat(32)}`,
    payer: `0x${"dd".repeat(20)}`,
    token: TOKEN,
    amount,
    valueUsd: amount,
    receivedUsd: amount,
    remainingUsd: 0n,
  },
});

/**
 * Records the deposits and applies the logs in a transaction of its own, as a batch does; returns the ledger rows it
 * updated (PostgreSQL's own count, which holds this session's counts not yet flushed to the shared statistics too:
 * hence the difference).
 */
async function apply(db: Db, deposits: EventRow[], logs: MerchantLog[]): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const updated = async () =>
      Number(
        (
          await sql<{ updated: string }>`
            select coalesce(sum(n_tup_upd), 0)::text as updated from pg_stat_xact_user_tables where relname = 'merchant_ledger'`.execute(trx)
        ).rows[0].updated,
      );
    const before = await updated();
    const inserted = await insertEvents(trx, CHAIN, deposits);
    const fresh = deposits.filter(({ paymentId, event }) =>
      inserted.has(chainEventKey(paymentId, (event as Deposited).position.blockNumber, (event as Deposited).position.logIndex)),
    );
    await applyMerchantLogs(trx, CHAIN, { logs, deposits: fresh.map(({ paymentId }) => paymentId), confirmedBlock: 0 });
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
    const updatedFirst = await apply(db, [deposit(P, 10, 0, 4n)], [completion(P, 10, 2, 6n, 1n), completion(Q, 11, 0, 5n)]);
    expect(updatedFirst, "no row written twice").to.equal(0);
    expect(await ledger(db), "deposits are payment events, not ledger rows").to.deep.equal([
      [10, 2, "completed", 9n],
      [11, 0, "completed", 5n],
    ]);

    // A re-read finds a deposit of the first payment the first read left out (and returns one already recorded).
    const updatedLate = await apply(db, [deposit(P, 10, 0, 4n), deposit(P, 10, 1, 3n)], []);
    expect(updatedLate, "only the completion the late deposit changes").to.equal(1);
    expect(await ledger(db)).to.deep.equal([
      [10, 2, "completed", 12n],
      [11, 0, "completed", 5n],
    ]);

    // Read again with nothing new: nothing changes.
    expect(await apply(db, [deposit(P, 10, 1, 3n)], [completion(P, 10, 2, 6n, 1n)])).to.equal(0);
    expect((await ledger(db))[0]).to.deep.equal([10, 2, "completed", 12n]);
  });

  it("credits only the deposits in the completing token, whatever their address's case", async function () {
    const { db } = store();
    const other = { ...deposit(P, 10, 1, 100n) };
    other.event = { ...(other.event as Deposited), token: `0x${"ee".repeat(20)}` };
    const lower = { ...deposit(P, 10, 0, 4n) };
    lower.event = { ...(lower.event as Deposited), token: TOKEN.toLowerCase() as Address };
    await apply(db, [lower, other], [completion(P, 11, 0, 6n, 1n)]);
    expect(await ledger(db)).to.deep.equal([[11, 0, "completed", 9n]]);
  });
});
