import { expect } from "chai";
import { AuthFailureLimit } from "./authFailureLimit";

const MINUTE = 60_000;

describe("AuthFailureLimit", function () {
  it("lets an address fail its allowance, then makes it wait for the end of the window that opened at its first failure", function () {
    const limit = new AuthFailureLimit(3, MINUTE);
    const rows: Array<[at: number, fail: boolean, waitAfter: number, why: string]> = [
      [0, true, 0, "one"],
      [10_000, true, 0, "two"],
      [20_000, true, 40_000, "three: the window ends a minute after the first"],
      [59_999, false, 1, "still blocked"],
      [MINUTE, false, 0, "the window is over"],
      [MINUTE + 1, true, 0, "a new window"],
    ];
    for (const [at, fail, waitAfter, why] of rows) {
      if (fail) limit.count("203.0.113.7", at);
      expect(limit.waitMs("203.0.113.7", at), why).to.equal(waitAfter);
    }
    expect(limit.waitMs("198.51.100.1", 20_000), "another address").to.equal(0);
  });

  it("forgives a failure counted before a lookup that found its key", function () {
    const limit = new AuthFailureLimit(2, MINUTE);
    limit.count("a", 0);
    limit.count("a", 0);
    expect(limit.waitMs("a", 1)).to.equal(MINUTE - 1);
    limit.forgive("a");
    expect(limit.waitMs("a", 1)).to.equal(0);
    limit.forgive("unknown");
  });

  it("remembers a bounded number of addresses, forgetting the oldest windows first", function () {
    const limit = new AuthFailureLimit(1, MINUTE, 2);
    limit.count("a", 0);
    limit.count("b", 1);
    limit.count("c", 2);
    expect([limit.waitMs("a", 3), limit.waitMs("b", 3), limit.waitMs("c", 3)]).to.deep.equal([0, MINUTE - 2, MINUTE - 1]);
    // An ended window goes before a live one.
    limit.count("d", MINUTE + 1);
    limit.count("e", MINUTE + 2);
    expect(["c", "d", "e"].map((address) => limit.waitMs(address, MINUTE + 2))).to.deep.equal([0, MINUTE - 1, MINUTE]);
  });

  it("names a setting that is not a whole number from 1", function () {
    expect(() => new AuthFailureLimit(0)).to.throw(/limit/);
    expect(() => new AuthFailureLimit(5, 1.5)).to.throw(/windowMs/);
  });
});
