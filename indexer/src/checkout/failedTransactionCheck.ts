import { BaseError, decodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { replayRevert } from "../chain/revertReplay";
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
