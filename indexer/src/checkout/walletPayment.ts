import { encodeFunctionData, erc20Abi, zeroAddress, type Address, type Hex } from "viem";
import type { TokenInfo } from "../payments/paymentResource";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { PaymentIntent } from "../payments/paymentIntent";
import { formatDecimal } from "../prices/decimalAmounts";

/** A transaction for the customer's wallet to send (`eth_sendTransaction`'s to, data and value). */
export interface WalletCall {
  to: Address;
  data: Hex;
  /** Wei, as a decimal string. */
  value: string;
}

/**
 * What "pay with wallet" sends for one token: for a BEP-20 token the escrow's `pay` after an approval of the escrow
 * for the amount (the checkout skips the approval when the allowance already covers it), for BNB `payNative` with
 * the amount as value. The wallet pays for itself: refunds, if any, go back to it (no other beneficiary).
 */
export interface WalletPayment {
  chain_id: number;
  token: TokenInfo;
  amount: string;
  amount_units: string;
  /** The approval to send first, when the wallet's allowance for `spender` is below `amount_units`; null for BNB. */
  approve: (WalletCall & { spender: Address }) | null;
  pay: WalletCall;
}

/**
 * The calls paying `amount` of `token` into this payment from a connected wallet. The calldata is built here, beside
 * the signed intent, so that the page's script needs no ABI and can only ever pay this payment.
 */
export function walletPayment({
  chainId,
  escrow,
  intent,
  signature,
  token,
  amount,
}: {
  chainId: number;
  escrow: Address;
  intent: PaymentIntent;
  signature: Hex;
  token: TokenInfo;
  amount: bigint;
}): WalletPayment {
  const native = token.address === zeroAddress;
  const pay: WalletCall = native
    ? {
        to: escrow,
        data: encodeFunctionData({ abi: openPayEscrowAbi, functionName: "payNative", args: [intent, signature, zeroAddress] }),
        value: amount.toString(),
      }
    : {
        to: escrow,
        data: encodeFunctionData({ abi: openPayEscrowAbi, functionName: "pay", args: [intent, signature, token.address, amount, zeroAddress] }),
        value: "0",
      };
  const approve = native
    ? null
    : { to: token.address, spender: escrow, value: "0", data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [escrow, amount] }) };
  return {
    chain_id: chainId,
    token: { symbol: token.symbol, address: token.address, decimals: token.decimals },
    amount: formatDecimal(amount, token.decimals),
    amount_units: amount.toString(),
    approve,
    pay,
  };
}
