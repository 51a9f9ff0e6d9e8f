import type { Indexer } from "../../../src/indexing/indexer";
import { recordOffChainEvent } from "../../../src/ledger/offChainEvents";
import type { MachineSettings } from "../../../src/payments/statusMachine";
import { readCheckpoint } from "../../../src/store/checkpointStore";
import type { Db } from "../../../src/store/paymentStore";
import { catchUp, registerPayments, type CheckoutRecord } from "./historyRunner";
import type { PaymentSetup } from "./planActions";

/** An indexer's blocks per segment for the reference: one, so that it settles and announces block by block. */
export const ONE_BLOCK_AT_A_TIME = { initial: 1, max: 1, fastMs: 0 };

/**
 * The reference: the history's payments registered in a store of their own and indexed once, block by block, by a
 * fresh `indexer` (built with `ONE_BLOCK_AT_A_TIME`) over a healthy provider of the final chain; each checkout is
 * recorded when it reaches the block the history's indexer stood at when the checkout was opened (before its first
 * step when that indexer had not stepped yet).
 */
export async function indexReference({
  db,
  chainId,
  settings,
  payments,
  checkouts,
  indexer,
  startBlock,
}: {
  db: Db;
  chainId: number;
  settings: MachineSettings;
  payments: readonly PaymentSetup[];
  checkouts: readonly CheckoutRecord[];
  indexer: Indexer;
  /** The reference indexer's start block (the history's indexer's): before its first step it stands at the block before. */
  startBlock: number;
}): Promise<void> {
  await registerPayments(db, chainId, settings, payments);
  // Replays order a payment's off-chain events by the block they were recorded at: so does the reference.
  const ordered = [...checkouts].sort((a, b) => (a.checkpoint ?? -1) - (b.checkpoint ?? -1));
  for (const { payment, checkpoint } of ordered) {
    const target = checkpoint ?? -1;
    while (((await readCheckpoint(db, chainId))?.blockNumber ?? startBlock - 1) < target) {
      if ((await indexer.step()) === "idle") throw new Error(`the reference reached the head before block ${target}`);
    }
    await recordOffChainEvent(db, chainId, settings, payments[payment].intent.paymentId, { kind: "checkout_opened" });
  }
  await catchUp(indexer);
}
