import { strict as assert } from "node:assert";
import fc from "fast-check";
import { addBlock, BloomColumns } from "./bloomColumns";
import { bloomMayHold, type BloomBits } from "./logsBloom";

const position = fc.integer({ min: 0, max: 2047 });
const bits = fc.tuple(position, position, position) as fc.Arbitrary<BloomBits>;

describe("BloomColumns", function () {
  it("finds exactly the blocks whose bloom has every bit asked for, across word edges, leaving out those skipped", function () {
    fc.assert(
      fc.property(
        // Blooms dense enough (up to a third of their bytes full) for items to be in some and not in others.
        fc.array(
          fc.uint8Array({ minLength: 256, maxLength: 256 }).map((bytes) => bytes.map((byte, i) => (i % 3 === 0 ? byte : 0))),
          { maxLength: 70 },
        ),
        bits,
        bits,
        fc.array(fc.nat(69)),
        (blooms, item, other, skipped) => {
          const columns = new BloomColumns(blooms);
          const skip = columns.blockSet();
          const skippedHere = skipped.filter((block) => block < blooms.length);
          for (const block of skippedHere) addBlock(skip, block);
          const both = [...item, ...other];
          const expected = blooms.map((_, block) => block).filter((block) => bloomMayHold(blooms[block], item) && bloomMayHold(blooms[block], other));
          assert.deepEqual(columns.blocksWith(both), expected);
          assert.deepEqual(
            columns.blocksWith(both, skip),
            expected.filter((block) => !skippedHere.includes(block)),
          );
          assert.equal(columns.anyWith(both), expected.length > 0);
        },
      ),
    );
  });

  it("holds every bit of a full bloom in the 33rd block, and none of an empty one", function () {
    const blooms = Array.from({ length: 34 }, (_, block) => new Uint8Array(256).fill(block === 32 ? 0xff : 0));
    const columns = new BloomColumns(blooms);
    assert.deepEqual(columns.blocksWith([0, 1000, 2047]), [32]);
    assert.equal(new BloomColumns([new Uint8Array(256)]).anyWith([5]), false);
  });
});
