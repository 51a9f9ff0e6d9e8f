import type { Address, Hex, LocalAccount } from "viem";
import { PAYMENT_INTENT_TYPES, paymentIntentDomain, type PaymentIntent } from "./paymentIntent";

/** Signs an intent (EIP-712) with a signer the merchant authorised on the escrow at `escrow`. */
export function signPaymentIntent(signer: LocalAccount, { chainId, escrow }: { chainId: number; escrow: Address }, intent: PaymentIntent): Promise<Hex> {
  return signer.signTypedData({
    domain: paymentIntentDomain({ chainId, escrow }),
    types: PAYMENT_INTENT_TYPES,
    primaryType: "PaymentIntent",
    message: intent,
  });
}
