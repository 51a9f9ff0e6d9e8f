import type { Address, Hex } from "viem";
import type { PaymentIntent } from "./paymentIntent";

/** What the API registers for a payment besides the machine's state: the signed terms and the deposit address. */
export interface PaymentRegistration {
  chainId: number;
  id: Hex;
  merchant: Address;
  amountUsd: bigint;
  expiry: bigint;
  refundTo: Address;
  /** The intent's `acceptedTokens`: bit `i` for the escrow's token at index `i`. */
  acceptedTokenMask: bigint;
  /** The same tokens by address (zero: BNB), in the order the checkout offers them. */
  acceptedTokens: Address[];
  signature: Hex;
  depositAddress: Address;
}

/** The signed intent a registration holds: what the escrow's calls for this payment take. */
export function intentOf(registration: PaymentRegistration): PaymentIntent {
  const { id: paymentId, merchant, amountUsd, expiry, refundTo, acceptedTokenMask } = registration;
  return { paymentId, merchant, amountUsd, expiry, refundTo, acceptedTokens: acceptedTokenMask };
}
