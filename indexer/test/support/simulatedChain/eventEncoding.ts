import { encodeAbiParameters, encodeEventTopics, erc20Abi, type AbiEvent, type AbiParameter, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../../../src/chain/escrowAbi";
import type { ModelEvent } from "./modelEscrow";

/** A log as a node stores it, before it is placed in a block. */
export interface EncodedLog {
  address: Address;
  topics: Hex[];
  data: Hex;
}

/** Each event's ABI entry, by name: the escrow's, and the standard ERC-20 `Transfer`. */
const EVENTS = new Map<string, AbiEvent>(
  [...openPayEscrowAbi, ...erc20Abi]
    .filter((item): item is Extract<typeof item, { type: "event" }> => item.type === "event")
    .map((item) => [item.name, item as AbiEvent]),
);

const NON_INDEXED = new Map<string, readonly AbiParameter[]>([...EVENTS].map(([name, event]) => [name, event.inputs.filter((input) => !input.indexed)]));

/** Encodes an event exactly as the contract emits it: indexed arguments as topics, the others ABI-encoded as data. */
export function encodeEvent(event: ModelEvent): EncodedLog {
  const abiEvent = EVENTS.get(event.name);
  if (!abiEvent) throw new Error(`no ABI entry for event ${event.name}`);
  const args = event.args as Record<string, unknown>;
  const topics = encodeEventTopics({ abi: [abiEvent], eventName: abiEvent.name, args } as never) as Hex[];
  const words = NON_INDEXED.get(event.name)!;
  const data = encodeAbiParameters(words, words.map((input) => args[input.name!]) as never);
  return { address: event.emitter, topics, data };
}
