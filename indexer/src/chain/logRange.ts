/**
 * How many blocks to ask `eth_getLogs` for at once. Providers limit ranges and response sizes differently (BSC's
 * public endpoints allow a few thousand blocks, archive providers more), so the range halves whenever a provider
 * refuses it as too large or times out, and doubles while responses come back fast.
 */
export class AdaptiveRange {
  private current: number;

  constructor(
    private readonly options: { initial: number; min?: number; max: number; fastMs: number },
  ) {
    if (options.initial < 1 || options.max < options.initial) throw new Error(`log range: need 1 ≤ initial ≤ max, got ${options.initial}, ${options.max}`);
    this.current = options.initial;
  }

  get size(): number {
    return this.current;
  }

  /** A range of `size` blocks came back in `ms`: grow when that was fast. */
  succeeded(ms: number): void {
    if (ms < this.options.fastMs) this.current = Math.min(this.options.max, this.current * 2);
  }

  /** The provider refused the range as too large (or timed out on it): halve it; false when it cannot shrink. */
  refused(): boolean {
    const min = this.options.min ?? 1;
    if (this.current <= min) return false;
    this.current = Math.max(min, Math.floor(this.current / 2));
    return true;
  }
}

const TOO_LARGE = [
  /range.*(too large|too wide|exceed|limit)/i,
  /(more than|exceeds?|too many|limit).*(results|logs|blocks)/i,
  /query returned more than/i,
  /response (size|too large)/i,
  /block range/i,
  /timed? ?out/i,
];

/** Whether an RPC error says the log query was too big (as opposed to the provider being down or rate-limiting). */
export function isRangeTooLarge(error: unknown): boolean {
  const text = [(error as Error)?.message, (error as { details?: string })?.details, (error as { shortMessage?: string })?.shortMessage]
    .filter(Boolean)
    .join(" ");
  return TOO_LARGE.some((pattern) => pattern.test(text));
}
