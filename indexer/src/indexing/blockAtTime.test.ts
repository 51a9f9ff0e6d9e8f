import { strict as assert } from "node:assert";
import fc from "fast-check";
import type { Hex } from "viem";
import type { BlockRecord } from "../chain/blockHeaders";
import { lastBlockAtOrBefore } from "./blockAtTime";

const block = (number: number, timestamp: bigint): BlockRecord => ({ number, timestamp, hash: `0x${number}` as Hex, parentHash: `0x${number - 1}` as Hex });

describe("lastBlockAtOrBefore", function () {
  it("finds the last block at or before a time, by search or from the blocks at hand", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 60 }), fc.nat(400), fc.boolean(), async (gaps, at, withKnown) => {
        const times: bigint[] = [];
        let time = 100;
        for (const gap of gaps) {
          time += gap;
          times.push(BigInt(time));
        }
        const upTo = times.length - 1;
        const target = BigInt(at);
        if (times[upTo] <= target) return; // the caller asks only for times before its head
        let asked = 0;
        const known = withKnown ? times.map((time, number) => block(number, time)).slice(-10) : [];
        const timeOf = async (n: number) => {
          asked++;
          return times[n];
        };
        const found = await lastBlockAtOrBefore(target, { known, upTo, lowest: 0, timeOf });
        let expected = -1;
        times.forEach((time, number) => {
          if (time <= target) expected = number;
        });
        assert.equal(found, expected === -1 ? undefined : expected);
        if (withKnown && expected >= 0 && expected >= upTo - 9 && expected < upTo) assert.equal(asked, 0, "blocks at hand answer without asking");
      }),
    );
  });
});
