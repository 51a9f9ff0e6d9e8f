import { expect } from "chai";
import { KeyLastUse } from "./keyLastUse";

/** Lets the writes scheduled so far start (they wait for setImmediate). */
const afterIo = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("KeyLastUse", function () {
  let clock: number;
  let writes: Array<{ keyId: string; at: number }>;
  let lastUse: KeyLastUse;

  beforeEach(function () {
    clock = 1_000_000;
    writes = [];
    lastUse = new KeyLastUse(
      async (keyId, at) => void writes.push({ keyId, at: at.getTime() }),
      () => clock,
      60_000,
    );
  });

  it("writes a key's use at most once a minute however often it is used", async function () {
    for (let i = 0; i < 1000; i++) {
      lastUse.used("key_a");
      clock += 59;
    }
    // 59,000 ms of use: one write, of the first use.
    await lastUse.flushed();
    expect(writes).to.deep.equal([{ keyId: "key_a", at: 1_000_000 }]);
    clock = 1_060_000;
    lastUse.used("key_a");
    lastUse.used("key_a");
    await lastUse.flushed();
    expect(writes).to.deep.equal([
      { keyId: "key_a", at: 1_000_000 },
      { keyId: "key_a", at: 1_060_000 },
    ]);
  });

  it("counts each key apart", async function () {
    lastUse.used("key_a");
    lastUse.used("key_b");
    lastUse.used("key_a");
    await lastUse.flushed();
    expect(writes.map((write) => write.keyId).sort()).to.deep.equal(["key_a", "key_b"]);
  });

  it("returns before the write starts, and the request never waits for it", async function () {
    let started = 0;
    let finish: () => void = () => undefined;
    const slow = new KeyLastUse(
      () => {
        started++;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
      () => clock,
    );
    slow.used("key_a");
    // `used` has returned, and nothing was written yet: the write waits until the current I/O is done.
    expect(started).to.equal(0);
    await afterIo();
    expect(started).to.equal(1);
    // A write that hangs holds nothing back: uses go on, and none writes again within the minute.
    slow.used("key_a");
    await afterIo();
    expect(started).to.equal(1);
    finish();
    await slow.flushed();
  });

  it("tries again at the next use after a failed write", async function () {
    let fail = true;
    const attempts: number[] = [];
    const flaky = new KeyLastUse(
      async (_keyId, at) => {
        attempts.push(at.getTime());
        if (fail) throw new Error("database away");
      },
      () => clock,
    );
    flaky.used("key_a");
    await flaky.flushed();
    fail = false;
    clock += 1;
    flaky.used("key_a");
    await flaky.flushed();
    expect(attempts).to.deep.equal([1_000_000, 1_000_001]);
  });
});
