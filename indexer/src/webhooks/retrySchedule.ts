/**
 * When a failed webhook delivery is tried again. Pure: the random source and the clock are the caller's, so that the
 * schedule can be tested exactly.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The wait after each failed attempt: the first retry soon (a blip, a deploy), then longer and longer, so that an
 * endpoint that is down for a weekend still gets every event once it is back. Ten attempts over about 3.1 days (at
 * least three: see MIN_RETRY_SPAN_MS).
 */
export const RETRY_DELAYS_MS: readonly number[] = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR];

/** Attempts a delivery gets in all: the first and one per scheduled retry. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** Each delay is spread by up to this fraction either way, so that the retries of one outage do not arrive together. */
export const RETRY_JITTER = 0.1;

/** The bounds of a receiver's `Retry-After`: sooner than a second is a busy loop, later than a day a stalled schedule. */
export const RETRY_AFTER_MIN_MS = SECOND;
export const RETRY_AFTER_MAX_MS = 24 * HOUR;

/**
 * The last attempt comes no sooner than this after the first, whatever the jitter drew: just over three days, so that a
 * weekend's outage is covered and an endpoint that failed a whole schedule has failed long enough to be disabled.
 */
export const MIN_RETRY_SPAN_MS = 73 * HOUR;

/**
 * How long to wait after attempt `failedAttempt` (1 for the first) failed; undefined once the schedule is spent and the
 * delivery has failed for good. A receiver's `Retry-After` (429, 503) replaces the scheduled delay for this retry,
 * bounded to [1 s, 24 h]; it never adds attempts. `random` returns [0, 1), as Math.random does. Given `elapsedMs`
 * (since the first attempt), the last retry is held back until MIN_RETRY_SPAN_MS have passed, so that jitter drawn
 * low every time cannot end the schedule before three days.
 */
export function retryDelay(
  failedAttempt: number,
  { retryAfterMs, random = Math.random, elapsedMs }: { retryAfterMs?: number; random?: () => number; elapsedMs?: number } = {},
): number | undefined {
  if (!Number.isInteger(failedAttempt) || failedAttempt < 1) throw new Error(`failedAttempt: must be a whole number from 1, got ${failedAttempt}`);
  const scheduled = RETRY_DELAYS_MS[failedAttempt - 1];
  if (scheduled === undefined) return undefined;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, Math.round(retryAfterMs)));
  const spread = (random() * 2 - 1) * RETRY_JITTER;
  const jittered = Math.round(scheduled * (1 + spread));
  const last = failedAttempt === RETRY_DELAYS_MS.length;
  return last && elapsedMs !== undefined ? Math.max(jittered, MIN_RETRY_SPAN_MS - elapsedMs) : jittered;
}

/**
 * A `Retry-After` header in milliseconds from `now`: delay-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). Undefined when absent or unreadable; a date in the past is 0 (the bounds of
 * `retryDelay` then apply).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * SECOND;
  // The date forms HTTP allows all start with a day name; Date.parse alone would take "1.5" for a date in 2001.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
