import { keccak256, type Address, type Hex, type PublicClient } from "viem";
import type { Logger } from "pino";
import type { Db } from "../store/paymentStore";
import { type ActionRow, deleteAction, unsettledActions, updateAction } from "./keeperStore";
import { deepestFinalBlock, nextStep, type LifecyclePolicy, type Observed, type Refusal, type Step } from "./transactionLifecycle";
import type { TransactionSender } from "./transactionSender";

export interface TransactionFollowerOptions {
  client: PublicClient;
  sender: TransactionSender;
  db: Db;
  chainId: number;
  escrow: Address;
  logger: Logger;
  policy: LifecyclePolicy;
}

interface Receipt {
  transactionHash: Hex;
  blockNumber: Hex;
  status: Hex;
}

/** What every transaction's observation shares in a round: the head, the account's nonces, the calls planned. */
interface Round {
  head: number;
  wanted: Map<string, Set<Hex>>;
  minedNonce: number;
  finalNonce: number | null;
}

const keyOf = (row: { paymentId: string; action: string; stateKey: string }) => ({ paymentId: row.paymentId, action: row.action, stateKey: row.stateKey });

/**
 * Follows the keeper's transactions until they are final, as their lifecycle says (transactionLifecycle.ts): the
 * driver that observes the chain and the node, asks `nextStep`, and performs the step (database writes, broadcasts).
 */
export class TransactionFollower {
  constructor(private readonly options: TransactionFollowerOptions) {}

  /**
   * Follows what was sent until it is final: each unsettled transaction is observed, and the steps its lifecycle
   * asks for performed. `wanted` holds the calls planned this round, by payment.
   */
  async settle(wanted: Map<string, Set<Hex>>, head: number) {
    const { db, chainId, sender, logger } = this.options;
    const transactions = await unsettledActions(db, chainId);
    if (transactions.length === 0) return;
    const finalBlock = deepestFinalBlock(head, this.options.policy);
    const round: Round = { head, wanted, minedNonce: await sender.minedNonce(), finalNonce: finalBlock < 0 ? null : await sender.minedNonce(finalBlock) };
    for (const transaction of transactions) {
      try {
        await this.settleOne(transaction, round);
      } catch (error) {
        logger.warn({ ...keyOf(transaction), err: error }, "could not settle a keeper transaction this round");
      }
    }
  }

  /**
   * Observes a transaction, then asks its lifecycle for the next step and performs it, until the lifecycle says to
   * wait or a step ends the round. It is asked again only after a reorganisation is recorded (at most once) and after
   * a refused rebroadcast or reprice (each at most once), so a round asks at most four times.
   */
  private async settleOne(row: ActionRow, round: Round) {
    const observed = await this.observe(row, round);
    const refused = new Set<Refusal>();
    let transaction = row;
    for (;;) {
      const step = nextStep(transaction, { ...observed, refused }, this.options.policy);
      if (step.kind === "wait") return;
      const performed = await this.perform(transaction, step, observed.now);
      if (performed === "done") return;
      if (performed === "refused") refused.add(step.kind as Refusal);
      else transaction = performed.recorded;
    }
  }

  /** What the chain and the node show of a transaction this round. */
  private async observe(transaction: ActionRow, round: Round): Promise<Omit<Observed, "refused">> {
    const seen = { head: round.head, minedNonce: round.minedNonce, finalNonce: round.finalNonce, now: new Date() };
    // A claim has no transaction to look for.
    if (transaction.status === "planned") return { ...seen, receipt: null, known: false, wanted: false };
    const noop = transaction.cancelTx ? keccak256(transaction.cancelTx) : null;
    const receipt = await this.newestReceipt(noop, transaction.txHashes);
    const latest = transaction.status === "cancelling" ? keccak256(transaction.cancelTx) : transaction.txHash;
    return {
      ...seen,
      receipt,
      known: receipt !== null || (await this.known(latest)),
      wanted: round.wanted.get(transaction.paymentId)?.has(transaction.calldata) ?? false,
    };
  }

  /** The newest receipt of a transaction: its no-op's, else its call's from the latest attempt back. */
  private async newestReceipt(noop: Hex | null, attempts: readonly Hex[]): Promise<Observed["receipt"]> {
    for (const hash of [...(noop ? [noop] : []), ...[...attempts].reverse()]) {
      const receipt = (await this.options.client.request({ method: "eth_getTransactionReceipt", params: [hash] })) as Receipt | null;
      if (receipt)
        return { hash: receipt.transactionHash, block: Number(receipt.blockNumber), reverted: receipt.status !== "0x1", of: hash === noop ? "noop" : "call" };
    }
    return null;
  }

  /** Whether the node knows the transaction (in its pool, or mined). */
  private async known(hash: Hex): Promise<boolean> {
    return (await this.options.client.request({ method: "eth_getTransactionByHash", params: [hash] })) !== null;
  }

  /**
   * Performs a step: `done`, `refused` (the node or the escrow refused it, and the lifecycle is asked again), or the
   * transaction as `recorded` after a reorganisation (asked again too). A transaction is recorded before it is
   * broadcast: a broadcast that fails after is found next round like a dropped transaction.
   */
  private async perform(transaction: ActionRow, step: Exclude<Step, { kind: "wait" }>, now: Date): Promise<"done" | "refused" | { recorded: ActionRow }> {
    const { db, chainId, sender, logger } = this.options;
    const key = keyOf(transaction);
    const at = { ...key, nonce: transaction.nonce };
    const broadcast = async (raw: Hex) => {
      try {
        await sender.broadcast(raw);
      } catch (error) {
        logger.warn({ ...at, err: error }, "keeper transaction broadcast failed");
      }
    };
    switch (step.kind) {
      case "release":
        await deleteAction(db, chainId, key);
        if (step.outcome === "cancelled") logger.info(at, "a dropped keeper transaction's nonce is taken; the action will be planned again");
        if (step.outcome === "replaced") logger.warn(at, "a keeper transaction's nonce was used by another transaction; the action will be planned again");
        return "done";
      case "record_receipt":
        await updateAction(db, chainId, key, { status: step.status, txHash: step.hash, minedBlock: step.block, ...(step.reverted && { error: "reverted" }) });
        if (step.reverted && transaction.status !== "mined") logger.warn({ ...key, tx: step.hash }, "keeper transaction reverted");
        return "done";
      case "record_noop_receipt":
        await updateAction(db, chainId, key, { status: "cancelling", txHash: step.hash, minedBlock: step.block });
        return "done";
      case "reorganised":
        await updateAction(db, chainId, key, { status: step.status, minedBlock: null });
        logger.warn(at, "a reorganisation took a keeper transaction's block");
        return { recorded: { ...transaction, status: step.status, minedBlock: null, updatedAt: now } as ActionRow };
      case "rebroadcast":
        try {
          await sender.broadcast(step.raw);
        } catch (error) {
          logger.warn({ ...at, err: error }, "a dropped keeper transaction was refused when broadcast again");
          return "refused";
        }
        await updateAction(db, chainId, key, { status: step.status });
        logger.warn(at, step.status === "sent" ? "broadcast again a keeper transaction the chain dropped" : "broadcast again a no-op the chain dropped");
        return "done";
      case "reprice": {
        let replaced;
        try {
          // Estimated against the mined state: the escrow refuses a call it would revert (its deposits paused).
          replaced = await sender.bump(this.options.escrow, step.calldata, step.nonce, step.gasPrice);
        } catch (error) {
          logger.warn({ ...at, err: error }, "could not reprice a keeper transaction");
          return "refused";
        }
        // Only a signed transaction is repriced; the type cannot tell.
        const attempts = transaction.status === "planned" ? [] : transaction.txHashes;
        await updateAction(db, chainId, key, {
          status: "sent",
          txHash: replaced.hash,
          rawTx: replaced.raw,
          txHashes: [...attempts, replaced.hash],
          gasPrice: replaced.gasPrice,
          attempt: true,
        });
        await broadcast(replaced.raw);
        logger.info({ ...at, tx: replaced.hash }, "repriced a keeper transaction: the same call and nonce at a higher gas price");
        return "done";
      }
      case "cancel": {
        const cancel = await sender.cancel(step.nonce, step.gasPrice);
        await updateAction(db, chainId, key, { status: "cancelling", txHash: cancel.hash, cancelTx: cancel.raw, gasPrice: cancel.gasPrice, attempt: true });
        await broadcast(cancel.raw);
        logger.warn({ ...at, tx: cancel.hash }, "a no-op takes the nonce of a keeper transaction no longer wanted or refused however sent");
        return "done";
      }
    }
  }
}
