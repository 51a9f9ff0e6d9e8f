import { OpenPayError } from "./errors";
import type { MerchantTransaction } from "./types";

/** An EIP-1193 provider: a browser wallet (`window.ethereum`), WalletConnect, a node with unlocked accounts. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

/**
 * Sends a refund's or withdrawal's escrow call (the `transaction` of `refund` or `requestWithdrawal`) from the
 * merchant's address through an EIP-1193 provider's `eth_sendTransaction`: the wallet signs it with the merchant's
 * own key, which the gateway never holds. Checks first that the provider is on the transaction's chain, so that a
 * wallet left on another network is told rather than asked to sign there. Returns the transaction hash.
 */
export async function sendMerchantTransaction(provider: Eip1193Provider, transaction: MerchantTransaction): Promise<string> {
  const chainId = Number(BigInt((await provider.request({ method: "eth_chainId" })) as string));
  if (chainId !== transaction.chain_id) {
    throw new OpenPayError({
      status: 0,
      type: "wrong_chain",
      message: `the wallet is on chain ${chainId}; this transaction is for chain ${transaction.chain_id}: switch networks and send it again`,
    });
  }
  const hash = await provider.request({
    method: "eth_sendTransaction",
    params: [{ from: transaction.from, to: transaction.to, data: transaction.data, value: `0x${BigInt(transaction.value).toString(16)}` }],
  });
  return hash as string;
}
