import { expect } from "chai";
import fc from "fast-check";
import { backoffDelay, retrying, sleep } from "./retry";

describe("backoffDelay", function () {
  it("doubles from the base with each attempt, with no jitter at random() = 1", function () {
    const one = () => 1;
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, 200, 15_000, one))).to.deep.equal([200, 400, 800, 1_600, 3_200]);
  });

  it("takes up to 20% off at random() = 0", function () {
    const zero = () => 0;
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, 200, 15_000, zero))).to.deep.equal([160, 320, 640]);
  });

  it("is capped at the maximum however many attempts failed", function () {
    expect(backoffDelay(7, 200, 15_000, () => 1)).to.equal(12_800);
    expect(backoffDelay(8, 200, 15_000, () => 1)).to.equal(15_000);
    expect(backoffDelay(60, 200, 15_000, () => 1)).to.equal(15_000);
    expect(
      backoffDelay(5_000, 200, 15_000, () => 1),
      "2 ** 4999 is Infinity, still capped",
    ).to.equal(15_000);
    expect(backoffDelay(5_000, 200, 15_000, () => 0)).to.equal(12_000);
  });

  it("treats attempt 0 or below as the first", function () {
    expect(backoffDelay(0, 200, 15_000, () => 1)).to.equal(200);
    expect(backoffDelay(-3, 200, 15_000, () => 1)).to.equal(200);
  });

  it("stays within [80%, 100%] of the capped doubling and never shrinks with more attempts (property)", function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, extra, random) => {
          const maxMs = baseMs + extra;
          const delay = backoffDelay(attempt, baseMs, maxMs, () => random);
          const capped = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
          expect(Number.isInteger(delay)).to.equal(true);
          expect(delay).to.be.within(Math.floor(capped * 0.8), Math.ceil(capped));
          expect(backoffDelay(attempt + 1, baseMs, maxMs, () => random)).to.be.at.least(delay);
        },
      ),
    );
  });
});

describe("retrying", function () {
  const failing = (failures: number, value = "done") => {
    let calls = 0;
    const attempt = async () => {
      calls += 1;
      if (calls <= failures) throw new Error(`failure ${calls}`);
      return value;
    };
    return { attempt, calls: () => calls };
  };

  it("returns at once when the first attempt succeeds, telling no one", async function () {
    const errors: unknown[] = [];
    expect(await retrying(async () => 42, { onError: (error) => errors.push(error) })).to.equal(42);
    expect(errors).to.deep.equal([]);
  });

  it("retries until the attempt succeeds, telling onError each error with its attempt number", async function () {
    const { attempt, calls } = failing(4);
    const seen: Array<[string, number]> = [];
    const result = await retrying(attempt, { baseMs: 1, maxMs: 2, onError: (error, n) => seen.push([(error as Error).message, n]) });
    expect(result).to.equal("done");
    expect(calls()).to.equal(5);
    expect(seen).to.deep.equal([
      ["failure 1", 1],
      ["failure 2", 2],
      ["failure 3", 3],
      ["failure 4", 4],
    ]);
  });

  it("rethrows an error isFatal picks at once, without onError or another attempt", async function () {
    const fatal = new Error("execution reverted");
    let calls = 0;
    const errors: unknown[] = [];
    const attempt = async () => {
      calls += 1;
      throw calls === 1 ? new Error("timeout") : fatal;
    };
    const thrown = await retrying(attempt, { baseMs: 1, maxMs: 1, isFatal: (error) => error === fatal, onError: (error) => errors.push(error) }).catch(
      (error: unknown) => error,
    );
    expect(thrown).to.equal(fatal);
    expect(calls).to.equal(2);
    expect(errors).to.have.length(1);
  });

  it("stops waiting when aborted during the backoff and rethrows the last error", async function () {
    // A backoff of a minute: only the abort can end this test within mocha's timeout.
    const controller = new AbortController();
    let calls = 0;
    const attempt = async (): Promise<string> => {
      calls += 1;
      throw new Error(`failure ${calls}`);
    };
    const thrown = await retrying(attempt, {
      baseMs: 60_000,
      maxMs: 60_000,
      signal: controller.signal,
      onError: () => setImmediate(() => controller.abort()),
    }).catch((error: unknown) => error);
    expect((thrown as Error).message).to.equal("failure 1");
    expect(calls).to.equal(1);
  });

  it("rethrows without onError when the signal was aborted while the attempt ran", async function () {
    const controller = new AbortController();
    const errors: unknown[] = [];
    const thrown = await retrying(
      async () => {
        controller.abort();
        throw new Error("cut off");
      },
      { baseMs: 60_000, signal: controller.signal, onError: (error) => errors.push(error) },
    ).catch((error: unknown) => error);
    expect((thrown as Error).message).to.equal("cut off");
    expect(errors).to.deep.equal([]);
  });

  it("still returns a success that arrives after the abort", async function () {
    const controller = new AbortController();
    controller.abort();
    expect(await retrying(async () => "late but fine", { signal: controller.signal })).to.equal("late but fine");
  });
});

describe("sleep", function () {
  it("resolves at once when the signal is already aborted", async function () {
    const controller = new AbortController();
    controller.abort();
    await sleep(60_000, controller.signal);
  });

  it("resolves early when the signal aborts", async function () {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    setImmediate(() => controller.abort());
    await slept;
  });

  it("resolves after the time without a signal", async function () {
    let done = false;
    await sleep(1).then(() => (done = true));
    expect(done).to.equal(true);
  });
});
