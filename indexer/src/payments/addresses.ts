/**
 * Whether two addresses are the same account: compared without their EIP-55 checksum casing, as the chain does.
 * Never throws (viem's isAddressEqual does on a malformed string), so that it may also test what a client sent.
 */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
