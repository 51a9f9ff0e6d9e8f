import { z } from "zod";

/** A payment id as requests name it: 0x and 64 hex digits (the intent's bytes32). */
export const paymentId = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a payment id: 0x and 64 hex digits");

/** The path parameters of a route about one payment (the API's and the checkout's). */
export const paymentIdParams = z.strictObject({ id: paymentId });
