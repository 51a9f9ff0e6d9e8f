import { invalidParams } from "./rpcError";
import type { SimulatedLog } from "./simulatedBlock";

/** The address and topic part of an `eth_getLogs` filter, as geth matches it. */
export interface LogFilter {
  /** Any of these emitters; every emitter when undefined (or given as an empty array). */
  addresses?: ReadonlySet<string>;
  /** Per position: any of these values, or anything (null). */
  topics: ReadonlyArray<ReadonlySet<string> | null>;
}

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_WORD = /^0x[0-9a-fA-F]{64}$/;

export function parseLogFilter(filter: { address?: unknown; topics?: unknown }): LogFilter {
  let addresses: Set<string> | undefined;
  if (filter.address !== undefined && filter.address !== null) {
    const list = Array.isArray(filter.address) ? filter.address : [filter.address];
    for (const address of list)
      if (typeof address !== "string" || !HEX_ADDRESS.test(address)) throw invalidParams(`invalid argument 0: invalid address ${String(address)}`);
    if (list.length > 0) addresses = new Set(list.map((address: string) => address.toLowerCase()));
  }
  const topics: Array<Set<string> | null> = [];
  if (filter.topics !== undefined && filter.topics !== null) {
    if (!Array.isArray(filter.topics)) throw invalidParams("invalid argument 0: topics must be an array");
    if (filter.topics.length > 4) throw invalidParams("invalid argument 0: exceed max topics");
    for (const position of filter.topics as unknown[]) {
      if (position === null) {
        topics.push(null);
        continue;
      }
      const options = Array.isArray(position) ? position : [position];
      for (const topic of options)
        if (typeof topic !== "string" || !HEX_WORD.test(topic)) throw invalidParams(`invalid argument 0: invalid topic ${String(topic)}`);
      // An empty OR-list matches anything, as geth reads it.
      topics.push(options.length === 0 ? null : new Set(options.map((topic: string) => topic.toLowerCase())));
    }
  }
  return { addresses, topics };
}

export function logMatches(log: SimulatedLog, filter: LogFilter): boolean {
  if (filter.addresses && !filter.addresses.has(log.address)) return false;
  // geth: a filter with more topic positions than the log has topics never matches, even with trailing nulls.
  if (filter.topics.length > log.topics.length) return false;
  return filter.topics.every((options, i) => options === null || options.has(log.topics[i]));
}
