/** Delay before attempt `attempt` (from 1): doubling from `baseMs`, capped at `maxMs`, with up to 20% jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + 0.2 * random()));
}

export interface RetryOptions {
  baseMs?: number;
  maxMs?: number;
  /** Called before each wait, with the error and the attempt that failed. */
  onError?: (error: unknown, attempt: number) => void;
  /** Stops retrying (rethrowing the last error) once aborted. */
  signal?: AbortSignal;
  /** Errors that retrying cannot cure are rethrown at once. */
  isFatal?: (error: unknown) => boolean;
}

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds. RPC failures (timeouts, 429, 5xx, dropped connections) are waited out with
 * backoff rather than given up on: the indexer must not skip a block because a provider had a bad minute.
 */
export async function retrying<T>(attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { baseMs = 200, maxMs = 15_000 } = options;
  for (let count = 1; ; count++) {
    try {
      return await attempt();
    } catch (error) {
      if (options.isFatal?.(error) || options.signal?.aborted) throw error;
      options.onError?.(error, count);
      await sleep(backoffDelay(count, baseMs, maxMs), options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
