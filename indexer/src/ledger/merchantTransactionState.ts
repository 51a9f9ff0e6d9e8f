import { BaseError, type Address, type Hex } from "viem";
import { replayRevert } from "../chain/revertReplay";
import { sameAddress } from "../payments/addresses";
import { confirmationsOf, lastConfirmedBlock } from "../payments/confirmations";
import { readCheckpoint } from "../store/checkpointStore";
import { notFound } from "./apiErrors";
import type { GatewayContext } from "./gatewayContext";

/**
 * Where a merchant's own escrow transaction (a withdrawal or a refund it sent) stands, as the gateway sees it:
 * `sent` until the indexer has applied its block, then `confirming` with the indexer's count of confirmations, and
 * `confirmed` once its block is final under the confirmation depth, which is when the balances (merchantBalances.ts)
 * count it as confirmed; `failed` when it was mined reverted, with the escrow's reason.
 */
export type MerchantTransactionState =
  | { state: "sent" | "confirming" | "confirmed"; block_number: number | null; confirmations: number; confirmations_required: number }
  | { state: "failed"; block_number: number; reason: string };

/** What the node answers for `hash`, or null when it does not know it (yet). */
const unlessNotFound = <T>(read: Promise<T>): Promise<T | null> =>
  read.catch((error: unknown) => {
    if (error instanceof BaseError && (error.name === "TransactionNotFoundError" || error.name === "TransactionReceiptNotFoundError")) return null;
    throw error;
  });

/**
 * The state of `hash`, a transaction from `merchant` to the escrow. A transaction the node has not seen yet is `sent`
 * (the merchant's wallet may have sent it through another node); one it knows from anyone else, or to another
 * contract, is a 404, as if it did not exist.
 */
export async function merchantTransactionState(
  context: Pick<GatewayContext, "db" | "client" | "chainId" | "escrow" | "settings">,
  merchant: Address,
  hash: Hex,
): Promise<MerchantTransactionState> {
  const required = context.settings.confirmations.depth;
  const sent = { state: "sent" as const, block_number: null, confirmations: 0, confirmations_required: required };
  const mustBeMerchants = ({ from, to }: { from: Address; to: Address | null }) => {
    if (!sameAddress(from, merchant) || !to || !sameAddress(to, context.escrow)) throw notFound("transaction", hash);
  };
  // The page asks every 1.5 s: a mined transaction's receipt alone says who sent it where, so the transaction itself
  // is asked for only while it has none (pending or unknown), or to replay a failed one.
  const receipt = await unlessNotFound(context.client.getTransactionReceipt({ hash }));
  if (!receipt) {
    const pending = await unlessNotFound(context.client.getTransaction({ hash }));
    if (pending) mustBeMerchants(pending);
    return sent;
  }
  mustBeMerchants(receipt);
  const block = Number(receipt.blockNumber);
  if (receipt.status !== "success") {
    // Mined, so the node has it (a node that forgot it meanwhile is an error, as any node failure here).
    const mined = await context.client.getTransaction({ hash });
    return { state: "failed", block_number: block, reason: await replayRevert(context.client, mined, receipt.blockNumber, receipt.gasUsed) };
  }
  // The indexer's head, not the node's: the balances change when the indexer has applied the block.
  const indexed = (await readCheckpoint(context.db, context.chainId))?.blockNumber ?? -1;
  if (indexed < block) return { ...sent, block_number: block };
  // The depth alone, as the balances count it (merchantBalances.ts).
  const confirmed = block <= lastConfirmedBlock({ number: indexed }, { ...context.settings.confirmations, mode: "depth" });
  return {
    state: confirmed ? "confirmed" : "confirming",
    block_number: block,
    confirmations: Math.min(confirmationsOf(block, indexed), required),
    confirmations_required: required,
  };
}
