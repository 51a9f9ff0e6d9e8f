import { BaseError, type Address, type Hex, type PublicClient } from "viem";
import { explainRevert } from "./revertReason";

/** Why the call reverted, from a replay at its block; a replay that passes means the state moved on since. */
export async function replayRevert(
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
