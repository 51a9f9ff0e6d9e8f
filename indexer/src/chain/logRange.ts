/**
 * How many blocks to ask `eth_getLogs` for at once. Providers limit ranges and response sizes differently (BSC's
 * public endpoints allow a few thousand blocks, archive providers more), so the range halves whenever a provider
 * refuses it as too large or times out, and doubles while responses come back fast.
 */
export class AdaptiveRange {
  private current: number;
  /** Below the smallest range a provider refused: growing past it again would only be refused again. */
  private ceiling: number;

  constructor(private readonly options: { initial: number; min?: number; max: number; fastMs: number; targetLogs?: number }) {
    const { initial, min = 1, max } = options;
    if (![initial, min, max].every(Number.isSafeInteger) || !(1 <= min && min <= initial && initial <= max)) {
      throw new Error(`log range: need whole numbers 1 ≤ min ≤ initial ≤ max, got min ${min}, initial ${initial}, max ${max}`);
    }
    this.current = initial;
    this.ceiling = max;
  }

  get size(): number {
    return this.current;
  }

  /**
   * A range came back in `ms` with `logs` logs: grow when that was fast and light, never past what a provider
   * refused; shrink when it carried more than twice the target, so that batches stay a size the database commits
   * quickly and the next range can be fetched meanwhile.
   */
  succeeded(ms: number, logs = 0): void {
    const target = this.options.targetLogs ?? 5_000;
    if (logs > 2 * target) this.current = Math.max(this.options.min ?? 1, Math.floor(this.current / 2));
    else if (ms < this.options.fastMs && logs < target) this.current = Math.min(this.ceiling, this.current * 2);
  }

  /**
   * The provider refused a range of `asked` blocks (default: the current size) as too large, or timed out on it:
   * halve what was asked; false when the range cannot shrink further.
   */
  refused(asked = this.current): boolean {
    const min = this.options.min ?? 1;
    const width = Math.min(this.current, asked);
    if (width <= min) return false;
    this.ceiling = Math.max(min, width - 1);
    this.current = Math.max(min, Math.floor(width / 2));
    return true;
  }
}

/** The range the indexer starts catching up with, and its bounds: providers refuse or time out on wider ones. */
export const CATCH_UP_RANGE = { initial: 500, max: 5_000, fastMs: 1_000 } as const;

const TOO_LARGE = [
  /range.*(too large|too wide|exceed|limit)/i,
  /(more than|exceeds?|too many|limit).*(results|logs|blocks)/i,
  /query returned more than/i,
  /response (size|too large)/i,
  // viem's own cap on a response body (10 MB): more logs than one request can carry.
  /response body exceeded the size limit/i,
  /block range/i,
  /limited to .*range/i,
  /blocks? distance/i,
  /timed? ?out/i,
];

/** Every message an RPC error carries: viem's own, the node's, and the `data` some providers put the reason in. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error; current && typeof current === "object" && !seen.has(current); ) {
    seen.add(current);
    const { message, details, shortMessage, data, cause } = current as Record<string, unknown>;
    for (const part of [message, details, shortMessage]) if (typeof part === "string") parts.push(part);
    if (data !== undefined) parts.push(typeof data === "string" ? data : JSON.stringify(data));
    current = cause;
  }
  return parts.join(" ");
}

/** Whether an RPC error says the log query was too big (as opposed to the provider being down or rate-limiting). */
export function isRangeTooLarge(error: unknown): boolean {
  const text = errorText(error);
  return TOO_LARGE.some((pattern) => pattern.test(text));
}
