import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { getAddress, isAddress, toHex } from "viem";
import { checksummedAddress } from "./addresses";

describe("checksummedAddress", function () {
  it("agrees with viem's isAddress and getAddress on random addresses in every casing, typos and non-addresses", function () {
    for (let i = 0; i < 200; i++) {
      const lower = toHex(randomBytes(20));
      const checksummed = getAddress(lower);
      const flipped = checksummed.replace(/[a-fA-F]/, (letter) => (letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase()));
      const upper = `0x${lower.slice(2).toUpperCase()}`;
      for (const value of [lower, checksummed, flipped, upper, lower.slice(0, 41), `${lower}0`, lower.replace("0x", "0X")]) {
        assert.equal(checksummedAddress(value), isAddress(value) ? getAddress(value) : undefined, value);
      }
    }
    for (const value of [undefined, null, 42, "", "0x", `0x${"g".repeat(40)}`]) assert.equal(checksummedAddress(value), undefined);
  });
});
