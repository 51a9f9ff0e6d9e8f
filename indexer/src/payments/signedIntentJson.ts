import { getAddress, isAddress, isHex, type Hex } from "viem";
import { z } from "zod";
import type { PaymentIntent } from "./paymentIntent";

/**
 * A signed payment intent as JSON, the way it travels between the API, the checkout, the SDK and the operator
 * scripts: integers as decimal strings (JSON numbers cannot hold 18-decimal amounts exactly).
 */
export interface SignedIntentJson {
  intent: { paymentId: Hex; merchant: string; amountUsd: string; expiry: string; refundTo: string; acceptedTokens: string };
  signature: Hex;
}

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), { message: "must be an address" })
  .transform((value) => getAddress(value));
const unsigned = z.string().regex(/^\d+$/, "must be a non-negative integer as a decimal string").transform(BigInt);
const hex = (bytes: number | undefined, what: string) =>
  z
    .string()
    .refine((value) => isHex(value) && (bytes === undefined || value.length === 2 + 2 * bytes), { message: `must be ${what}` })
    .transform((value) => value.toLowerCase() as Hex);

export const signedIntentJsonSchema = z.strictObject({
  intent: z.strictObject({
    paymentId: hex(32, "a 32-byte hex payment id"),
    merchant: address,
    amountUsd: unsigned,
    expiry: unsigned,
    refundTo: address,
    acceptedTokens: unsigned,
  }),
  signature: hex(undefined, "a hex signature"),
});

export function signedIntentToJson(intent: PaymentIntent, signature: Hex): SignedIntentJson {
  return {
    intent: {
      paymentId: intent.paymentId,
      merchant: intent.merchant,
      amountUsd: intent.amountUsd.toString(),
      expiry: intent.expiry.toString(),
      refundTo: intent.refundTo,
      acceptedTokens: intent.acceptedTokens.toString(),
    },
    signature,
  };
}

/** Parses a signed intent; the error names each bad field by its path (e.g. `intent.amountUsd`). */
export function signedIntentFromJson(value: unknown): { intent: PaymentIntent; signature: Hex } {
  const result = signedIntentJsonSchema.safeParse(value);
  if (!result.success) {
    throw new Error(result.error.issues.map((issue) => `${issue.path.join(".") || "(intent)"}: ${issue.message}`).join("; "));
  }
  return result.data;
}
