import type { FastifyRateLimitStore } from "@fastify/rate-limit";

type Count = { current: number; ttl: number };
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => FastifyRateLimitStore;
// The plugin's own in-memory store (it publishes no types for it): its windows and LRU bound are what we want.
const LocalStore: LocalStoreCtor = require("@fastify/rate-limit/store/LocalStore");

/**
 * @fastify/rate-limit's in-memory store, answering each count with a copy of it. The store hands every caller the
 * same record and the plugin reads the count from it only after an await, so requests counted in one turn of the
 * event loop all read the last count: a burst of six against a limit of five was refused whole, not just its sixth.
 */
export class SnapshotLocalStore implements FastifyRateLimitStore {
  private readonly store = new LocalStore(false, false);

  incr(key: string, callback: (error: Error | null, result?: Count) => void, timeWindow: number, max: number): void {
    this.store.incr(key, (error, result) => callback(error, result && { current: result.current, ttl: result.ttl }), timeWindow, max);
  }

  child(): FastifyRateLimitStore {
    // Routes here take no limits of their own, so no route asks for a child store.
    throw new Error("SnapshotLocalStore: per-route rate limits are not used by the merchant API");
  }
}
