import type { Address, Hex } from "viem";
import { registerPayment } from "../../src/ledger/offChainEvents";
import type { Payment } from "../../src/payments/payment";
import type { PaymentIntent } from "../../src/payments/paymentIntent";
import type { MachineSettings } from "../../src/payments/statusMachine";
import type { Db } from "../../src/store/paymentStore";

/** A signed intent as the API holds it when it creates the payment. */
export interface SignedIntent {
  chainId: number;
  intent: PaymentIntent;
  /** The tokens the intent accepts, by address (zero: BNB). */
  acceptedTokens: readonly Address[];
  signature: Hex;
  depositAddress: Address;
}

/** Registers a signed intent with the store, as the API does when it creates the payment. */
export function registerIntent(
  db: Db,
  settings: MachineSettings,
  { chainId, intent, acceptedTokens, signature, depositAddress }: SignedIntent,
): Promise<Payment> {
  return registerPayment(db, settings, {
    chainId,
    id: intent.paymentId,
    merchant: intent.merchant,
    amountUsd: intent.amountUsd,
    expiry: intent.expiry,
    refundTo: intent.refundTo,
    acceptedTokenMask: intent.acceptedTokens,
    acceptedTokens: [...acceptedTokens],
    signature,
    depositAddress,
  });
}
