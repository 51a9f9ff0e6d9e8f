import { z } from "zod";

/** The checkout's "pay with wallet": which token to pay in. */
export const walletQuery = z.strictObject({ token: z.string().min(1, "must name a token such as USDT").max(16) });

/** The checkout's report of a customer's transaction that reverted. */
export const failedTransactionBody = z.strictObject({
  transaction_hash: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be a transaction hash: 0x and 64 hex digits")
    .transform((hash) => hash.toLowerCase() as `0x${string}`),
});
