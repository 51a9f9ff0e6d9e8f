import { expect } from "chai";
import fc from "fast-check";
import { MAX_ATTEMPTS, MIN_RETRY_SPAN_MS, parseRetryAfter, RETRY_AFTER_MAX_MS, RETRY_DELAYS_MS, retryDelay } from "./retrySchedule";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** random() = 0.5 is no jitter at all. */
const middle = () => 0.5;
/** A random draw, as fast-check makes them. */
const draw = () => fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("retryDelay", function () {
  it("follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h without jitter", function () {
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 9; attempt++)
      delays.push(retryDelay(attempt, { random: middle, elapsedMs: delays.reduce((sum, delay) => sum + delay, 0) })!);
    expect(delays).to.deep.equal([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR]);
  });

  it("retries for more than three days in all, ten attempts", function () {
    const total = RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0);
    expect(total).to.be.greaterThan(3 * 24 * HOUR);
    expect(MAX_ATTEMPTS).to.equal(10);
  });

  it("holds the last retry back until three days after the first attempt, however low the jitter drew (property)", function () {
    expect(retryDelay(9, { random: () => 0, elapsedMs: 0.9 * 51 * HOUR })).to.equal(MIN_RETRY_SPAN_MS - 0.9 * 51 * HOUR);
    expect(retryDelay(9, { random: middle, elapsedMs: 52 * HOUR }), "on schedule the floor is not felt").to.equal(24 * HOUR);
    expect(retryDelay(8, { random: () => 0, elapsedMs: 0 }), "only the last retry").to.equal(0.9 * 20 * HOUR);
    fc.assert(
      fc.property(fc.array(draw(), { minLength: 9, maxLength: 9 }), (draws) => {
        let elapsed = 0;
        for (let attempt = 1; attempt <= 9; attempt++) elapsed += retryDelay(attempt, { random: () => draws[attempt - 1], elapsedMs: elapsed })!;
        expect(elapsed).to.be.at.least(MIN_RETRY_SPAN_MS);
      }),
    );
  });

  it("is spent only once ten attempts are made and three days have passed since the first", function () {
    const rows: Array<[attempt: number, elapsedMs: number, retryAfterMs: number | undefined, expected: number | undefined, why: string]> = [
      [10, MIN_RETRY_SPAN_MS, undefined, undefined, "attempts spent, span passed"],
      [10, 80 * HOUR, 5 * SECOND, undefined, "Retry-After adds no attempts"],
      [11, 80 * HOUR, undefined, undefined, "past the schedule"],
      [10, 1 * HOUR, undefined, MIN_RETRY_SPAN_MS - HOUR, "attempts spent early (workers died mid-attempt): wait out the span"],
      [10, 60 * HOUR, 20 * HOUR, 20 * HOUR, "a Retry-After lengthens that wait"],
      [11, MIN_RETRY_SPAN_MS - SECOND, undefined, SECOND, "still a second short"],
    ];
    for (const [attempt, elapsedMs, retryAfterMs, expected, why] of rows)
      expect(retryDelay(attempt, { elapsedMs, retryAfterMs, random: middle }), why).to.equal(expected);
  });

  it("spreads each delay by up to 10 % either way", function () {
    expect(retryDelay(1, { random: () => 0, elapsedMs: 0 })).to.equal(4_500);
    expect(retryDelay(1, { random: () => 0.999999, elapsedMs: 0 })).to.be.closeTo(5_500, 1);
    expect(retryDelay(9, { random: () => 0, elapsedMs: 60 * HOUR })).to.equal(0.9 * 24 * HOUR);
  });

  it("stays within ±10 % of the schedule for any random value (property)", function () {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), draw(), (attempt, random) => {
        const delay = retryDelay(attempt, { random: () => random, elapsedMs: MIN_RETRY_SPAN_MS })!;
        const scheduled = RETRY_DELAYS_MS[attempt - 1];
        expect(Number.isInteger(delay)).to.equal(true);
        expect(delay)
          .to.be.at.least(Math.floor(scheduled * 0.9))
          .and.at.most(Math.ceil(scheduled * 1.1));
      }),
    );
  });

  it("lets a receiver's Retry-After lengthen a wait, never shorten it, and grants at most a day", function () {
    const rows: Array<[attempt: number, elapsedMs: number, retryAfterMs: number, expected: number, why: string]> = [
      [1, 0, 120 * SECOND, 120 * SECOND, "later than the schedule's 5 s"],
      [4, 3 * HOUR, 10 * SECOND, 2 * HOUR, "sooner than the schedule's 2 h: the schedule"],
      [1, 0, 1 * SECOND, 5 * SECOND, "Retry-After: 1 is the schedule's 5 s"],
      [1, 0, 0, 5 * SECOND, "a date in the past"],
      [1, 0, 7 * 24 * HOUR, RETRY_AFTER_MAX_MS, "a week is a day"],
      [9, 40 * HOUR, 1 * SECOND, MIN_RETRY_SPAN_MS - 40 * HOUR, "the last retry still waits for the span"],
      [9, 60 * HOUR, 30 * HOUR, 24 * HOUR, "the longer of the schedule and the receiver, up to a day"],
    ];
    for (const [attempt, elapsedMs, retryAfterMs, expected, why] of rows)
      expect(retryDelay(attempt, { elapsedMs, retryAfterMs, random: middle }), why).to.equal(expected);
  });

  it("never ends before ten attempts over three days, whatever a receiver shedding load asks for (property)", function () {
    fc.assert(
      fc.property(
        fc.array(fc.record({ random: draw(), retryAfterMs: fc.option(fc.integer({ min: 0, max: 2 * RETRY_AFTER_MAX_MS }), { nil: undefined }) }), {
          minLength: 12,
          maxLength: 12,
        }),
        (answers) => {
          let elapsed = 0;
          let attempt = 1;
          for (; ; attempt++) {
            const { random, retryAfterMs } = answers[attempt - 1];
            const wait = retryDelay(attempt, { elapsedMs: elapsed, retryAfterMs, random: () => random });
            if (wait === undefined) break;
            const scheduled = RETRY_DELAYS_MS[attempt - 1];
            expect(wait, `wait after attempt ${attempt}`).to.be.at.least(Math.floor(scheduled * 0.9));
            if (retryAfterMs !== undefined) expect(wait).to.be.at.least(Math.min(retryAfterMs, RETRY_AFTER_MAX_MS));
            elapsed += wait;
          }
          expect(attempt).to.equal(MAX_ATTEMPTS);
          expect(elapsed).to.be.at.least(MIN_RETRY_SPAN_MS);
        },
      ),
    );
  });

  it("names the argument when the attempt is not a whole number from 1, or the time elapsed not a number", function () {
    expect(() => retryDelay(0, { elapsedMs: 0 })).to.throw(/failedAttempt/);
    expect(() => retryDelay(1.5, { elapsedMs: 0 })).to.throw(/failedAttempt/);
    expect(() => retryDelay(1, { elapsedMs: NaN })).to.throw(/elapsedMs/);
  });
});

describe("parseRetryAfter", function () {
  const now = new Date("2025-06-01T12:00:00Z");

  it("reads delay-seconds", function () {
    expect(parseRetryAfter("120", now)).to.equal(120 * SECOND);
    expect(parseRetryAfter(" 0 ", now)).to.equal(0);
    expect(parseRetryAfter(["30", "60"], now)).to.equal(30 * SECOND);
  });

  it("reads an HTTP date relative to now, a past date as 0", function () {
    expect(parseRetryAfter("Sun, 01 Jun 2025 12:05:00 GMT", now)).to.equal(5 * MINUTE);
    expect(parseRetryAfter("Sunday, 01-Jun-25 12:00:30 GMT", now)).to.equal(30 * SECOND);
    expect(parseRetryAfter("Sun, 01 Jun 2025 11:00:00 GMT", now)).to.equal(0);
  });

  it("ignores what is absent or unreadable", function () {
    for (const value of [undefined, "", "soon", "1.5", "-5", "12abc", "2025-06-01"]) expect(parseRetryAfter(value, now), String(value)).to.equal(undefined);
  });
});
