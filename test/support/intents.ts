import type { Signer, TypedDataDomain } from "ethers";
import type { IOpenPayEscrow } from "../../typechain-types";
import { PAYMENT_INTENT_TYPES as OFF_CHAIN_TYPES } from "../../indexer/src/payments/paymentIntent";

/** The terms a merchant's signer signs for one payment (mirrors `IOpenPayEscrow.PaymentIntent`). */
export interface PaymentIntent {
  paymentId: string;
  merchant: string;
  amountUsd: bigint;
  expiry: bigint;
  refundTo: string;
  /** Bit `i` set accepts the escrow's token at index `i` (`tokenAt(i)`); see `tokenMask` in the fixture. */
  acceptedTokens: bigint;
}

/** The EIP-712 types, from the indexer's definition (copied out of its readonly form for ethers). */
export const PAYMENT_INTENT_TYPES = { PaymentIntent: [...OFF_CHAIN_TYPES.PaymentIntent] };

export async function escrowDomain(escrow: IOpenPayEscrow): Promise<TypedDataDomain> {
  const { chainId } = await escrow.runner!.provider!.getNetwork();
  return { name: "OpenPayEscrow", version: "1", chainId, verifyingContract: await escrow.getAddress() };
}

/** Signs an intent with EIP-712 exactly as the gateway's signer does. */
export async function signIntent(signer: Signer, escrow: IOpenPayEscrow, intent: PaymentIntent): Promise<string> {
  return signer.signTypedData(await escrowDomain(escrow), PAYMENT_INTENT_TYPES, intent);
}
