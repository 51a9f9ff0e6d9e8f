import { checksumAddress, type Address } from "viem";

const ADDRESS_SHAPE = /^0x[0-9a-fA-F]{40}$/;

/**
 * An address in its EIP-55 checksummed form, or undefined when `value` is not one: not 20 bytes of hex, or mixed case
 * with a wrong checksum (a typo). As viem's `isAddress` then `getAddress`, with one checksum (from viem's cache) rather
 * than the four cache look-ups of the two.
 */
export function checksummedAddress(value: unknown): Address | undefined {
  if (typeof value !== "string" || !ADDRESS_SHAPE.test(value)) return undefined;
  const checksummed = checksumAddress(value as Address);
  return value === checksummed || value === value.toLowerCase() ? checksummed : undefined;
}

/**
 * Whether two addresses are the same account: compared without their EIP-55 checksum casing, as the chain does.
 * Never throws (viem's isAddressEqual does on a malformed string), so that it may also test what a client sent.
 */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
