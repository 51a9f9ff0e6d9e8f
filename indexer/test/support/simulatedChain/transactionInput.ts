import { encodeFunctionData, erc20Abi, zeroAddress, type Hex } from "viem";
import { openPayEscrowAbi } from "../../../src/chain/escrowAbi";
import type { EscrowAction, Intent } from "./modelEscrow";

/** The intent as the escrow's functions take it (the deposit address is derived on chain, not passed). */
const onChainIntent = ({ paymentId, merchant, amountUsd, expiry, refundTo, acceptedTokens }: Intent) => ({
  paymentId,
  merchant,
  amountUsd,
  expiry,
  refundTo,
  acceptedTokens,
});

/** An empty signature: the model trusts every intent, and nothing reading a transaction checks it. */
const unsigned = (): Hex => "0x";

/**
 * The calldata a real transaction doing `action` would carry, for `eth_getTransactionByHash` and full blocks; with
 * `signatureOf`, the calldata to send the real escrow.
 */
export function transactionInput(action: EscrowAction, signatureOf: (intent: Intent) => Hex = unsigned): Hex {
  const signature = "intent" in action ? signatureOf(action.intent) : "0x";
  switch (action.kind) {
    case "pay": {
      const beneficiary = action.beneficiary ?? zeroAddress;
      return /^0x0{40}$/.test(action.token)
        ? encodeFunctionData({ abi: openPayEscrowAbi, functionName: "payNative", args: [onChainIntent(action.intent), signature, beneficiary] })
        : encodeFunctionData({
            abi: openPayEscrowAbi,
            functionName: "pay",
            args: [onChainIntent(action.intent), signature, action.token, action.amount, beneficiary],
          });
    }
    case "transfer":
      return encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [action.to, action.amount] });
    case "sendNative":
      return "0x";
    case "collect":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "collect", args: [onChainIntent(action.intent), signature, action.token] });
    case "expire":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "expire", args: [onChainIntent(action.intent), action.token, action.payers] });
    case "refundDepositAddress":
      return encodeFunctionData({
        abi: openPayEscrowAbi,
        functionName: "refundDepositAddress",
        args: [onChainIntent(action.intent), action.token, action.to, action.amount],
      });
    case "refund":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "refund", args: [action.paymentId, action.to, action.amount] });
    case "returnStray":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "returnStray", args: [onChainIntent(action.intent), action.token, action.to] });
    case "withdraw":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "withdraw", args: [action.token, action.amount] });
    case "claim":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "claim", args: [action.token, action.to] });
    case "withdrawFees":
      return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "withdrawFees", args: [action.token] });
  }
}
