import { expect } from "chai";
import fc from "fast-check";
import { commonAncestor, DeepReorgError } from "./reorg";

/**
 * Hashes of a chain the indexer kept (blocks `keptFrom`..`tip`) and of the chain now, which forked after `ancestor`:
 * blocks above it have other hashes. Records which blocks were asked for.
 */
function chains({ tip, ancestor, keptFrom = 0 }: { tip: number; ancestor: number; keptFrom?: number }) {
  const askedKept: number[] = [];
  const askedChain: number[] = [];
  const kept = async (n: number) => {
    askedKept.push(n);
    return n >= keptFrom && n <= tip ? `0xkept${n}` : undefined;
  };
  const onChain = async (n: number) => {
    askedChain.push(n);
    return n <= ancestor ? `0xkept${n}` : `0xother${n}`;
  };
  return { kept, onChain, askedKept, askedChain };
}

async function rejection(promise: Promise<unknown>): Promise<DeepReorgError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DeepReorgError);
    return error as DeepReorgError;
  }
  throw new Error("expected a DeepReorgError");
}

describe("commonAncestor", function () {
  it("finds the newest block both agree on, walking down from `from`", async function () {
    const { kept, onChain, askedChain } = chains({ tip: 100, ancestor: 95 });
    expect(await commonAncestor(99, 100, 12, kept, onChain)).to.equal(95);
    expect(askedChain).to.deep.equal([99, 98, 97, 96, 95]);
  });

  it("returns `from` itself when only the tip was replaced", async function () {
    const { kept, onChain, askedChain } = chains({ tip: 100, ancestor: 99 });
    expect(await commonAncestor(99, 100, 12, kept, onChain)).to.equal(99);
    expect(askedChain).to.deep.equal([99]);
  });

  it("accepts a fork one block short of the limit: 11 blocks replaced at depth 12", async function () {
    const { kept, onChain } = chains({ tip: 100, ancestor: 89 });
    expect(await commonAncestor(99, 100, 12, kept, onChain)).to.equal(89);
  });

  it("stops at exactly the limit: 12 blocks replaced at depth 12 could take back a paid payment", async function () {
    const { kept, onChain, askedChain } = chains({ tip: 100, ancestor: 88 });
    const error = await rejection(commonAncestor(99, 100, 12, kept, onChain));
    expect(error.atBlock).to.equal(100);
    expect(error.limit).to.equal(12);
    expect(error.depth).to.be.at.least(12);
    expect(askedChain, "block 88 is not even asked: 89..100 differing is already too deep").to.not.include(88);
    expect(error.message).to.match(/^chain reorganisation at block 100 is at least 12 blocks deep, beyond the confirmation depth of 12: /);
    expect(error.message).to.include("statuses already reported may be wrong");
    expect(error.message).to.include("rebuild from a checkpoint below the fork");
  });

  it("stops at the limit even when the blocks below it agree (it does not look further)", async function () {
    const { kept, onChain } = chains({ tip: 100, ancestor: 88 });
    await rejection(commonAncestor(99, 100, 5, kept, onChain));
  });

  it("stops when the kept blocks run out before the fork is found, saying so", async function () {
    const { kept, onChain, askedChain } = chains({ tip: 100, ancestor: 90, keptFrom: 97 });
    const error = await rejection(commonAncestor(99, 100, 12, kept, onChain));
    expect(error.depth).to.equal(Infinity);
    expect(error.atBlock).to.equal(100);
    expect(error.message).to.match(/^chain reorganisation at block 100 is deeper than the blocks kept, beyond the confirmation depth of 12/);
    expect(askedChain, "no chain hash is asked for a block the indexer no longer keeps").to.deep.equal([99, 98, 97]);
  });

  it("stops when it walks below block 0", async function () {
    const { kept, onChain } = chains({ tip: 3, ancestor: -1 });
    const error = await rejection(commonAncestor(2, 3, 12, kept, onChain));
    expect(error.depth).to.equal(Infinity);
    await rejection(commonAncestor(-1, 0, 12, kept, onChain));
  });

  it("is a named Error", function () {
    const error = new DeepReorgError(500, 20, 12);
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal("DeepReorgError");
    expect(error.message).to.equal(
      "chain reorganisation at block 500 is at least 20 blocks deep, beyond the confirmation depth of 12: statuses already reported may be wrong. " +
        "The indexer stopped; check the node, then rebuild from a checkpoint below the fork",
    );
  });

  it("finds any fork shallower than the limit among kept blocks, and refuses any deeper one (property)", async function () {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 30, max: 10_000 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 30 }), async (tip, limit, replaced) => {
        const ancestor = tip - replaced;
        const { kept, onChain } = chains({ tip, ancestor, keptFrom: tip - 2 * limit });
        if (replaced < limit) {
          expect(await commonAncestor(tip - 1, tip, limit, kept, onChain)).to.equal(ancestor);
        } else {
          const error = await rejection(commonAncestor(tip - 1, tip, limit, kept, onChain));
          expect(error.depth).to.be.at.least(limit);
        }
      }),
    );
  });
});
