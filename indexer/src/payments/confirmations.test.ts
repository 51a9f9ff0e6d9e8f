import { expect } from "chai";
import fc from "fast-check";
import { confirmationPolicy, confirmationsOf, DEFAULT_CONFIRMATION_POLICY, isConfirmed, type ConfirmationPolicy } from "./confirmations";

describe("confirmationsOf", function () {
  it("counts the block itself as one confirmation", function () {
    expect(confirmationsOf(100, 100)).to.equal(1);
    expect(confirmationsOf(100, 111)).to.equal(12);
    expect(confirmationsOf(0, 0)).to.equal(1);
  });

  it("is 0 for a block above the head (not yet, or no longer, on the chain)", function () {
    expect(confirmationsOf(100, 99)).to.equal(0);
    expect(confirmationsOf(100, 0)).to.equal(0);
  });

  it("grows by one per block (property)", function () {
    fc.assert(
      fc.property(fc.nat(1_000_000_000), fc.nat(1_000), (block, ahead) => {
        expect(confirmationsOf(block, block + ahead)).to.equal(ahead + 1);
        expect(confirmationsOf(block + ahead + 1, block)).to.equal(0);
      }),
    );
  });
});

describe("isConfirmed", function () {
  const policy = (mode: ConfirmationPolicy["mode"], depth = 12): ConfirmationPolicy => ({ depth, mode });
  const BLOCK = 1_000;
  // Heads around the boundaries: 11 and 12 confirmations, the block finalized or one short of it.
  const SHALLOW = BLOCK + 10;
  const DEEP = BLOCK + 11;

  it("depth: from exactly `depth` confirmations, whatever is finalized", function () {
    expect(isConfirmed(BLOCK, { number: SHALLOW }, policy("depth"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: DEEP }, policy("depth"))).to.equal(true);
    expect(isConfirmed(BLOCK, { number: SHALLOW, finalized: BLOCK + 5 }, policy("depth"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: DEEP, finalized: 0 }, policy("depth"))).to.equal(true);
  });

  it("depth 1: the head itself is confirmed, a block above it is not", function () {
    expect(isConfirmed(BLOCK, { number: BLOCK }, policy("depth", 1))).to.equal(true);
    expect(isConfirmed(BLOCK, { number: BLOCK - 1 }, policy("depth", 1))).to.equal(false);
  });

  it("finalized: once the finalized block reaches it, however few confirmations", function () {
    expect(isConfirmed(BLOCK, { number: BLOCK + 100 }, policy("finalized")), "no finalized block known").to.equal(false);
    expect(isConfirmed(BLOCK, { number: BLOCK + 100, finalized: BLOCK - 1 }, policy("finalized"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: BLOCK + 1, finalized: BLOCK }, policy("finalized"))).to.equal(true);
    expect(isConfirmed(BLOCK, { number: BLOCK, finalized: BLOCK }, policy("finalized"))).to.equal(true);
  });

  it("either: deep enough or finalized", function () {
    expect(isConfirmed(BLOCK, { number: SHALLOW }, policy("either"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: SHALLOW, finalized: BLOCK - 1 }, policy("either"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: SHALLOW, finalized: BLOCK }, policy("either"))).to.equal(true);
    expect(isConfirmed(BLOCK, { number: DEEP }, policy("either"))).to.equal(true);
    expect(isConfirmed(BLOCK, { number: DEEP, finalized: BLOCK - 1 }, policy("either"))).to.equal(true);
  });

  it("both: deep enough and finalized", function () {
    expect(isConfirmed(BLOCK, { number: DEEP }, policy("both"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: DEEP, finalized: BLOCK - 1 }, policy("both"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: SHALLOW, finalized: BLOCK }, policy("both"))).to.equal(false);
    expect(isConfirmed(BLOCK, { number: DEEP, finalized: BLOCK }, policy("both"))).to.equal(true);
  });

  it("combines the two tests as its mode says, and never confirms less as the chain advances (property)", function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.nat(200),
        fc.nat(200),
        fc.option(fc.nat(300), { nil: undefined }),
        fc.nat(10),
        (depth, block, head, finalized, later) => {
          const deep = isConfirmed(block, { number: head, finalized }, policy("depth", depth));
          const final = isConfirmed(block, { number: head, finalized }, policy("finalized", depth));
          expect(isConfirmed(block, { number: head, finalized }, policy("either", depth))).to.equal(deep || final);
          expect(isConfirmed(block, { number: head, finalized }, policy("both", depth))).to.equal(deep && final);
          for (const mode of ["depth", "finalized", "either", "both"] as const) {
            const now = isConfirmed(block, { number: head, finalized }, policy(mode, depth));
            const next = isConfirmed(block, { number: head + later, finalized: finalized === undefined ? undefined : finalized + later }, policy(mode, depth));
            if (now) expect(next, `${mode} stays confirmed`).to.equal(true);
          }
        },
      ),
    );
  });

  it("is 12 confirmations by depth by default", function () {
    expect(DEFAULT_CONFIRMATION_POLICY).to.deep.equal({ depth: 12, mode: "depth" });
  });
});

describe("confirmationPolicy", function () {
  it("accepts depths 1..1000 and the four modes", function () {
    expect(confirmationPolicy(1, "depth")).to.deep.equal({ depth: 1, mode: "depth" });
    expect(confirmationPolicy(1_000, "finalized")).to.deep.equal({ depth: 1_000, mode: "finalized" });
    expect(confirmationPolicy(12, "either")).to.deep.equal({ depth: 12, mode: "either" });
    expect(confirmationPolicy(12, "both")).to.deep.equal({ depth: 12, mode: "both" });
  });

  for (const depth of [0, -1, 1_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses a depth of ${depth}, naming the field and the value`, function () {
      expect(() => confirmationPolicy(depth, "depth")).to.throw(`confirmations: must be an integer 1..1000, got ${depth}`);
    });
  }

  for (const mode of ["", "Depth", "finality", "any"]) {
    it(`refuses the mode "${mode}", listing the four`, function () {
      expect(() => confirmationPolicy(12, mode)).to.throw(`finality: must be one of depth, finalized, either, both; got "${mode}"`);
    });
  }

  it("names the depth first when both are wrong", function () {
    expect(() => confirmationPolicy(0, "nope")).to.throw(/^confirmations:/);
  });
});
