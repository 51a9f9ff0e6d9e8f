import { BaseError, decodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { explainRevert } from "../chain/revertReason";
import { sameAddress } from "../payments/addresses";

export type FailedTransactionCheck = { ok: true; reason: string } | { ok: false; problem: string; status: number };

/**
 * Checks a transaction the checkout reports as failed against the chain itself, so that nobody can mark a payment's
 * attempts failed by saying so: it must be mined, reverted, sent to this escrow, and a `pay` or `payNative` of this
 * payment. The reason is read by replaying the call on the state of its block and decoding the revert.
 */
export async function checkFailedTransaction(
  client: PublicClient,
  { escrow, paymentId, hash }: { escrow: Address; paymentId: Hex; hash: Hex },
): Promise<FailedTransactionCheck> {
  const receipt = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
    if (error instanceof BaseError && error.name === "TransactionReceiptNotFoundError") return null;
    throw error;
  });
  if (!receipt) return { ok: false, status: 409, problem: `transaction ${hash} is not mined yet` };
  if (receipt.status === "success") return { ok: false, status: 422, problem: `transaction ${hash} did not revert` };
  const transaction = await client.getTransaction({ hash });
  if (!transaction.to || !sameAddress(transaction.to, escrow)) {
    return { ok: false, status: 422, problem: `transaction ${hash} was not sent to the escrow ${escrow}` };
  }
  let call;
  try {
    call = decodeFunctionData({ abi: openPayEscrowAbi, data: transaction.input });
  } catch {
    return { ok: false, status: 422, problem: `transaction ${hash} is not a call of the escrow's pay or payNative` };
  }
  if (call.functionName !== "pay" && call.functionName !== "payNative") {
    return { ok: false, status: 422, problem: `transaction ${hash} calls ${call.functionName}, not pay or payNative` };
  }
  const intent = call.args[0] as { paymentId: Hex };
  if (intent.paymentId.toLowerCase() !== paymentId.toLowerCase()) {
    return { ok: false, status: 422, problem: `transaction ${hash} pays ${intent.paymentId}, not this payment` };
  }
  return { ok: true, reason: await replayRevert(client, transaction, receipt.blockNumber, receipt.gasUsed) };
}

/** Why the call reverted, from a replay at its block; a replay that passes means the state moved on since. */
async function replayRevert(
  client: PublicClient,
  transaction: { from: Address; to: Address | null; input: Hex; value: bigint; gas: bigint },
  blockNumber: bigint,
  gasUsed: bigint,
): Promise<string> {
  try {
    await client.call({ account: transaction.from, to: transaction.to!, data: transaction.input, value: transaction.value, gas: transaction.gas, blockNumber });
  } catch (error) {
    // The revert data sits on the deepest cause (as viem's own call reads it): a string, or an object holding it.
    const data = error instanceof BaseError ? (error.walk() as { data?: Hex | { data?: Hex } }).data : undefined;
    return explainRevert(typeof data === "object" ? data.data : data);
  }
  return gasUsed >= transaction.gas ? "the transaction ran out of gas" : "the transaction reverted";
}
