import { randomBytes } from "node:crypto";
import { bytesToHex, concat, hashTypedData, type Address, type Hex } from "viem";
import { checksummedAddress } from "./addresses";

/**
 * The terms of one payment, signed off-chain with EIP-712 by a signer the merchant authorised.
 * Mirrors `IOpenPayEscrow.PaymentIntent` field for field.
 */
export interface PaymentIntent {
  /** 32 bytes: the merchant's 20-byte address, then 12 bytes chosen by the gateway (see `newPaymentId`). */
  paymentId: Hex;
  /** The merchant credited when the payment completes. */
  merchant: Address;
  /** The price in USD with 18 decimals. */
  amountUsd: bigint;
  /** Unix time (seconds) after which deposits revert and the payment can be expired. */
  expiry: bigint;
  /** Where refunds of deposits go; the zero address sends each refund back to whoever deposited. */
  refundTo: Address;
  /** The tokens the payment accepts: bit `i` set accepts the escrow's token at index `i` (`acceptedTokenMask`). */
  acceptedTokens: bigint;
}

/** EIP-712 domain name and version of the escrow (`EscrowStorage`'s constructor: `EIP712("OpenPayEscrow", "1")`). */
export const PAYMENT_INTENT_DOMAIN_NAME = "OpenPayEscrow";
export const PAYMENT_INTENT_DOMAIN_VERSION = "1";

/** EIP-712 types of a payment intent, in the order of `PAYMENT_INTENT_TYPEHASH` in the escrow. */
export const PAYMENT_INTENT_TYPES = {
  PaymentIntent: [
    { name: "paymentId", type: "bytes32" },
    { name: "merchant", type: "address" },
    { name: "amountUsd", type: "uint256" },
    { name: "expiry", type: "uint64" },
    { name: "refundTo", type: "address" },
    { name: "acceptedTokens", type: "uint256" },
  ],
} as const;

/** The intent's `acceptedTokens` for tokens at these indexes of the escrow (`tokenAt`, from 1). */
export function acceptedTokenMask(indexes: Iterable<number>): bigint {
  let mask = 0n;
  for (const index of indexes) {
    if (!Number.isInteger(index) || index < 1 || index > 255) throw new Error(`token index: must be 1 to 255, got ${index}`);
    mask |= 1n << BigInt(index);
  }
  return mask;
}

/** Bytes of a payment id after the merchant's address. */
export const PAYMENT_ID_RANDOM_BYTES = 12;

/** The EIP-712 domain of the escrow at `escrow` on chain `chainId`. */
export function paymentIntentDomain({ chainId, escrow }: { chainId: number | bigint; escrow: Address }) {
  return {
    name: PAYMENT_INTENT_DOMAIN_NAME,
    version: PAYMENT_INTENT_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: escrow,
  } as const;
}

/**
 * The EIP-712 digest of an intent: what the merchant's signer signs, what `escrow.hashIntent(intent)` returns,
 * and the CREATE2 salt of the payment's deposit address.
 */
export function paymentIntentDigest({ chainId, escrow, intent }: { chainId: number | bigint; escrow: Address; intent: PaymentIntent }): Hex {
  return hashTypedData({
    domain: paymentIntentDomain({ chainId, escrow }),
    types: PAYMENT_INTENT_TYPES,
    primaryType: "PaymentIntent",
    message: intent,
  });
}

/** Random bytes for payment ids, drawn from node:crypto 341 ids' worth at a time: each draw is a system call. */
let randomness = Buffer.alloc(0);
let randomnessUsed = 0;

/** The next PAYMENT_ID_RANDOM_BYTES random bytes, never handed out before. */
function paymentIdRandomness(): Uint8Array {
  if (randomnessUsed + PAYMENT_ID_RANDOM_BYTES > randomness.length) {
    randomness = randomBytes(341 * PAYMENT_ID_RANDOM_BYTES);
    randomnessUsed = 0;
  }
  const start = randomnessUsed;
  randomnessUsed += PAYMENT_ID_RANDOM_BYTES;
  return randomness.subarray(start, randomnessUsed);
}

/**
 * A new payment id in the merchant's namespace: the merchant's 20-byte address followed by 12 random bytes
 * (from node:crypto), or by the 12 bytes given as `random`. The escrow rejects ids that do not start with
 * the intent's merchant, so one merchant can never take another merchant's payment id.
 */
export function newPaymentId(merchant: Address, random: Uint8Array = paymentIdRandomness()): Hex {
  if (!checksummedAddress(merchant)) throw new Error(`merchant: not an address: ${String(merchant)}`);
  if (random.length !== PAYMENT_ID_RANDOM_BYTES) {
    throw new Error(`random: must be ${PAYMENT_ID_RANDOM_BYTES} bytes, got ${random.length}`);
  }
  return concat([merchant.toLowerCase() as Hex, bytesToHex(random)]);
}
