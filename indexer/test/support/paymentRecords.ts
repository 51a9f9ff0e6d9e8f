import hre from "hardhat";
import { tokenBalances } from "../../src/payments/merchantBalance";
import { readCheckpoint } from "../../src/store/checkpointStore";
import { balanceMovements } from "../../src/store/merchantLedgerStore";
import { loadPayments, type Db } from "../../src/store/paymentStore";
import { claimOutboxRows, type OutboxRow } from "../../src/store/webhookDeliveryStore";
import { CHAIN_ID, type LocalChain } from "./localChain";

/** The payment as the indexer stored it. */
export async function storedPayment(db: Db, id: string) {
  const stored = (await loadPayments(db, CHAIN_ID, [id])).get(id);
  if (!stored) throw new Error(`payment ${id} is not stored`);
  return stored.payment;
}

/** The payment's status history: [from, to, reason] per change, in sequence order. */
export async function historyOf(db: Db, id: string): Promise<Array<[string, string, string]>> {
  const rows = await db
    .selectFrom("status_changes")
    .select(["sequence", "from_status", "to_status", "reason"])
    .where("payment_id", "=", id)
    .orderBy("sequence")
    .execute();
  rows.forEach((row, i) => {
    if (row.sequence !== i + 1) throw new Error(`payment ${id}: change ${i + 1} has sequence ${row.sequence}`);
  });
  return rows.map((row) => [row.from_status, row.to_status, row.reason]);
}

/**
 * What waits for the webhook dispatcher (outbox rows, and status changes not announced yet), as it will take it: in
 * its order, each with its type and data (the change and the payment as of it). Read with the dispatcher's own claim,
 * in a statement of its own (its locks end with it).
 */
export async function waitingAnnouncements(db: Db, chainId = CHAIN_ID): Promise<OutboxRow[]> {
  return claimOutboxRows(db, chainId, 1_000_000_000);
}

/** The merchant events waiting to be announced for the payment, by type. */
export async function outboxTypes(db: Db, id: string): Promise<string[]> {
  return (await waitingAnnouncements(db)).filter((row) => row.payment_id === id).map((row) => row.type);
}

/** The demo merchant's balance in a token as indexed at the checkpoint, and the escrow's balanceOf at that block. */
export async function merchantBalances(db: Db, chain: LocalChain, symbol: "USDT" | "USDC") {
  const merchant = chain.record.demoMerchant!.merchant;
  const token = chain.record.tokens[symbol].address;
  const checkpoint = (await readCheckpoint(db, CHAIN_ID))!.blockNumber;
  const [indexed] = tokenBalances(await balanceMovements(db, CHAIN_ID, merchant, checkpoint), [token.toLowerCase()]);
  const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain.record.escrow);
  return { indexed: indexed.balance, onChain: BigInt(await escrow.balanceOf(merchant, token, { blockTag: checkpoint })) };
}
