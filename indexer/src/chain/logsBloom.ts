import { hexToBytes, keccak256, pad, type Address, type Hex } from "viem";

/**
 * A block header's `logsBloom`: 2,048 bits, three of them set for each log's address and each of its topics (the
 * low 11 bits of the first three byte pairs of the item's keccak256). A bit that is not set proves the item is in
 * none of the block's logs; all three set proves nothing (busy blocks set most bits). The indexer uses it one way:
 * a block whose bloom says the escrow or a watched deposit address may have logs there, and for which a provider
 * returned none, is checked against the block's receipts before the empty answer is believed.
 */

/** The three bit positions (0 = the bloom's last bit) an item sets. Work them out once per item and reuse them. */
export type BloomBits = readonly [number, number, number];

export function bloomBits(item: Hex): BloomBits {
  const hash = hexToBytes(keccak256(item));
  const bit = (i: number) => ((hash[i] << 8) | hash[i + 1]) & 2047;
  return [bit(0), bit(2), bit(4)];
}

/** The bits of a log's address. */
export const addressBits = (address: Address): BloomBits => bloomBits(address);

/**
 * An address as an indexed topic, such as a Transfer's recipient: left-padded to 32 bytes, in lower case (as nodes
 * answer, so it compares as text), the form both `eth_getLogs` filters and blooms take.
 */
export const addressTopic = (address: Address): Hex => pad(address.toLowerCase() as Hex, { size: 32 });

/** A header's bloom as bytes, to test many items against it. */
export function bloomBytes(logsBloom: Hex): Uint8Array {
  const bytes = hexToBytes(logsBloom);
  if (bytes.length !== 256) throw new Error(`logsBloom: must be 256 bytes, got ${bytes.length}`);
  return bytes;
}

/** Whether the bloom may hold the item whose bits these are (false: it certainly does not). */
export function bloomMayHold(bloom: Uint8Array, bits: BloomBits): boolean {
  for (const position of bits) if ((bloom[255 - (position >> 3)] & (1 << (position & 7))) === 0) return false;
  return true;
}

/** Sets an item's bits in a bloom (for chains made by tests). */
export function addToBloom(bloom: Uint8Array, bits: BloomBits): void {
  for (const position of bits) bloom[255 - (position >> 3)] |= 1 << (position & 7);
}
