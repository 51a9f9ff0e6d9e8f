/** How often a key's last use is written at most: the dashboard shows it to the minute. */
export const LAST_USE_INTERVAL_MS = 60_000;

/**
 * When each API key was last used, written to the database at most once per LAST_USE_INTERVAL_MS per key, and never
 * on the request's path: `used` only looks at a map and, when a write is due, schedules it after the current I/O
 * (setImmediate). The API's hot path (POST /v1/payments at 1,500 requests a second) so costs one map lookup per
 * request, and a key in steady use one UPDATE a minute. A failed write is tried again at the key's next use.
 */
export class KeyLastUse {
  /** Each key's last written (or being written) use, in ms. */
  private readonly written = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly write: (keyId: string, at: Date) => Promise<void>,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = LAST_USE_INTERVAL_MS,
  ) {}

  used(keyId: string): void {
    const now = this.now();
    const last = this.written.get(keyId);
    if (last !== undefined && now - last < this.intervalMs) return;
    // Bounded as the authenticator's cache is: forgetting only costs an early write.
    if (this.written.size > 10_000) this.written.clear();
    this.written.set(keyId, now);
    const writing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.write(keyId, new Date(now)))
      .catch(() => {
        if (this.written.get(keyId) === now) this.written.delete(keyId);
      })
      .finally(() => this.pending.delete(writing));
    this.pending.add(writing);
  }

  /** Resolves once the writes scheduled so far have ended (a test, or a process closing, waits for them). */
  async flushed(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
