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

/** The longest wait a receiver's `Retry-After` is granted: longer would stall the schedule. */
export const RETRY_AFTER_MAX_MS = 24 * HOUR;

/**
 * The last attempt comes no sooner than this after the first, whatever the jitter drew: just over three days, so that a
 * weekend's outage is covered and an endpoint that failed a whole schedule has failed long enough to be disabled.
 */
export const MIN_RETRY_SPAN_MS = 73 * HOUR;

/**
 * How long to wait after attempt `failedAttempt` (1 for the first) failed, `elapsedMs` after the first attempt;
 * undefined when the delivery has failed for good, which is only once the schedule's attempts are spent AND
 * MIN_RETRY_SPAN_MS have passed. `random` returns [0, 1), as Math.random does.
 *
 * A receiver's `Retry-After` (429, 503), up to RETRY_AFTER_MAX_MS, can only lengthen a wait: the retry comes at the later
 * of the schedule's time and the receiver's. A shedding answer is a failed attempt like any other, so a receiver that
 * sheds for ever still ends, after ten attempts and never within three days, and one asking for `Retry-After: 1` gets the
 * schedule's waits, never a quicker end. (Not counting shedding answers as attempts would, with the wait no shorter
 * than the schedule's, repeat the same scheduled wait: 5 s after the first attempt, for three days.)
 */
export function retryDelay(
  failedAttempt: number,
  { elapsedMs, retryAfterMs, random = Math.random }: { elapsedMs: number; retryAfterMs?: number; random?: () => number },
): number | undefined {
  if (!Number.isInteger(failedAttempt) || failedAttempt < 1) throw new Error(`failedAttempt: must be a whole number from 1, got ${failedAttempt}`);
  if (!Number.isFinite(elapsedMs)) throw new Error(`elapsedMs: must be a finite number, got ${elapsedMs}`);
  const untilSpan = MIN_RETRY_SPAN_MS - elapsedMs;
  const scheduled = RETRY_DELAYS_MS[failedAttempt - 1];
  let wait: number;
  if (scheduled === undefined) {
    // Attempts can run out before their time: a worker that dies mid-attempt has used one. The span still holds.
    if (untilSpan <= 0) return undefined;
    wait = untilSpan;
  } else {
    const spread = (random() * 2 - 1) * RETRY_JITTER;
    wait = Math.round(scheduled * (1 + spread));
    // Jitter drawn low every time must not end the schedule before three days.
    if (failedAttempt === RETRY_DELAYS_MS.length) wait = Math.max(wait, untilSpan);
  }
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return wait;
  return Math.max(wait, Math.min(RETRY_AFTER_MAX_MS, Math.round(retryAfterMs)));
}

/**
 * A `Retry-After` header in milliseconds from `now`: delay-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). Undefined when absent or unreadable; a date in the past is 0 (`retryDelay` then
 * waits the schedule's time).
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
