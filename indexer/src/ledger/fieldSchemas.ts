import { getAddress, isAddress } from "viem";
import { z } from "zod";

/**
 * Free text the gateway stores or compares in the database: PostgreSQL refuses the NUL character in text and jsonb,
 * so it is refused here (a 400 naming the field) rather than failing the statement (a 500).
 */
export const NO_NUL = [(value: string) => !value.includes("\u0000"), "must not contain the NUL character (\\u0000)"] as const;

export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine(...NO_NUL);

export const isoTime = z.iso.datetime({ offset: true, message: "must be an ISO 8601 time such as 2026-11-27T10:00:00Z" });

/** An amount as a decimal string: whole tokens or USD, never a float. */
export const decimal = (what: string) =>
  z.string().regex(/^\d{1,15}(\.\d{1,18})?$/, `must be ${what} as a decimal string such as "12.50" (at most 18 decimal places)`);

export const address = z
  .string()
  // Strict: a mixed-case address must carry a valid EIP-55 checksum, which catches a mistyped character.
  .refine((value) => isAddress(value), "must be a 0x address (EIP-55 checksummed or all lowercase)")
  .transform((value) => getAddress(value));

/** An http(s) URL: a webhook endpoint, a checkout's return address. */
export const httpUrl = z
  .string()
  .max(2048)
  .refine(...NO_NUL)
  .refine((value) => {
    try {
      return ["http:", "https:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, "must be an http(s) URL");
