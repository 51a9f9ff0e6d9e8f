import { expect } from "chai";
import fc from "fast-check";
import { MAX_ATTEMPTS, MIN_RETRY_SPAN_MS, parseRetryAfter, RETRY_DELAYS_MS, retryDelay } from "./retrySchedule";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** random() = 0.5 is no jitter at all. */
const middle = () => 0.5;

describe("retryDelay", function () {
  it("follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h without jitter", function () {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => retryDelay(attempt, { random: middle }));
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
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 9, maxLength: 9 }), (draws) => {
        let elapsed = 0;
        for (let attempt = 1; attempt <= 9; attempt++) elapsed += retryDelay(attempt, { random: () => draws[attempt - 1], elapsedMs: elapsed })!;
        expect(elapsed).to.be.at.least(MIN_RETRY_SPAN_MS);
      }),
    );
  });

  it("is spent after the tenth attempt", function () {
    expect(retryDelay(10, { random: middle })).to.equal(undefined);
    expect(retryDelay(11, { random: middle })).to.equal(undefined);
    expect(retryDelay(10, { retryAfterMs: 5 * SECOND }), "Retry-After adds no attempts").to.equal(undefined);
  });

  it("spreads each delay by up to 10 % either way", function () {
    expect(retryDelay(1, { random: () => 0 })).to.equal(4_500);
    expect(retryDelay(1, { random: () => 0.999999 })).to.be.closeTo(5_500, 1);
    expect(retryDelay(9, { random: () => 0 })).to.equal(0.9 * 24 * HOUR);
  });

  it("stays within ±10 % of the schedule for any random value (property)", function () {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        const delay = retryDelay(attempt, { random: () => random })!;
        const scheduled = RETRY_DELAYS_MS[attempt - 1];
        expect(Number.isInteger(delay)).to.equal(true);
        expect(delay).to.be.at.least(Math.floor(scheduled * 0.9)).and.at.most(Math.ceil(scheduled * 1.1));
      }),
    );
  });

  it("takes a receiver's Retry-After instead of the schedule, bounded to [1 s, 24 h]", function () {
    expect(retryDelay(1, { retryAfterMs: 120 * SECOND, random: middle })).to.equal(120 * SECOND);
    expect(retryDelay(4, { retryAfterMs: 10 * SECOND, random: middle }), "sooner than the schedule").to.equal(10 * SECOND);
    expect(retryDelay(1, { retryAfterMs: 0 })).to.equal(SECOND);
    expect(retryDelay(1, { retryAfterMs: 7 * 24 * HOUR })).to.equal(24 * HOUR);
  });

  it("names the argument when the attempt is not a whole number from 1", function () {
    expect(() => retryDelay(0)).to.throw(/failedAttempt/);
    expect(() => retryDelay(1.5)).to.throw(/failedAttempt/);
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
