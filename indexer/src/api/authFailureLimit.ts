/**
 * Failed authentications per client address, in windows of fixed length from the first failure: once an address has
 * used its allowance, its keys are no longer looked up until the window ends, so that rotating made-up keys cannot
 * buy database lookups. Pure: the caller passes the time.
 */

/** Failed authentications an address may make per window unless the operator's caller says otherwise. */
export const AUTH_FAILURE_LIMIT = 20;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Addresses remembered at most: the oldest windows are forgotten first, so that many addresses cannot exhaust memory. */
const MAX_ADDRESSES = 100_000;

export class AuthFailureLimit {
  /** Per address; in the order the windows opened (a new window is inserted anew), so the oldest come first. */
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    readonly limit = AUTH_FAILURE_LIMIT,
    readonly windowMs = AUTH_FAILURE_WINDOW_MS,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {
    for (const [name, value] of Object.entries({ limit, windowMs, maxAddresses })) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: must be a whole number from 1, got ${value}`);
    }
  }

  /** How long `address` must wait before its keys are looked up again; 0 when they may be. */
  waitMs(address: string, now: number): number {
    const window = this.windows.get(address);
    if (!window || window.endsAt <= now || window.failures < this.limit) return 0;
    return window.endsAt - now;
  }

  /** One more failure of `address`. */
  count(address: string, now: number): void {
    let window = this.windows.get(address);
    if (!window || window.endsAt <= now) {
      this.windows.delete(address);
      this.forgetOldest(now);
      window = { failures: 0, endsAt: now + this.windowMs };
      this.windows.set(address, window);
    }
    window.failures += 1;
  }

  /** One failure fewer: a lookup counted before it was made (so that lookups made at once cannot exceed the limit) found its key. */
  forgive(address: string): void {
    const window = this.windows.get(address);
    if (window && window.failures > 0) window.failures -= 1;
  }

  /** Room for one more address: ended windows go, and the oldest live ones when there are still too many. */
  private forgetOldest(now: number): void {
    for (const [address, window] of this.windows) {
      if (window.endsAt > now && this.windows.size < this.maxAddresses) break;
      this.windows.delete(address);
    }
  }
}
