import { strict as assert } from "node:assert";
import fc from "fast-check";
import { bytesToHex, getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { addToBloom, addressBits, addressTopic, bloomBits, bloomBytes, bloomMayHold } from "./logsBloom";

// Hardhat's first deployment, accounts #0 and #1, and the ERC-20 Transfer topic. (The indexer's integration tests check
// these functions against blooms a node computed.)
const TOKEN: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const FROM: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const TRANSFER: Hex = keccak256(toHex("Transfer(address,address,uint256)"));

describe("logsBloom", function () {
  it("finds every item a bloom was built from (no false negatives)", function () {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { minLength: 1, maxLength: 40 }), (raw) => {
        const addresses = raw.map((bytes) => getAddress(bytesToHex(bytes)));
        const bloom = new Uint8Array(256);
        for (const address of addresses) {
          addToBloom(bloom, addressBits(address));
          addToBloom(bloom, bloomBits(addressTopic(address)));
        }
        const parsed = bloomBytes(bytesToHex(bloom));
        for (const address of addresses) {
          assert.equal(bloomMayHold(parsed, addressBits(address)), true);
          assert.equal(bloomMayHold(parsed, bloomBits(addressTopic(address))), true);
        }
      }),
    );
  });

  it("says no for an item whose bits are not all set", function () {
    const bloom = new Uint8Array(256);
    addToBloom(bloom, addressBits(TOKEN));
    assert.equal(bloomMayHold(bloom, addressBits(FROM)), false);
    assert.equal(bloomMayHold(new Uint8Array(256), addressBits(TOKEN)), false);
    assert.equal(bloomMayHold(new Uint8Array(256).fill(255), addressBits(TOKEN)), true);
  });

  it("sets the bits Ethereum's bloom sets: the low 11 bits of the hash's first three byte pairs, counted from the end", function () {
    const bits = bloomBits(TRANSFER);
    const hash = keccak256(TRANSFER);
    const pair = (i: number) => parseInt(hash.slice(2 + i * 2, 6 + i * 2), 16) & 2047;
    assert.deepEqual(bits, [pair(0), pair(2), pair(4)]);
    const bloom = new Uint8Array(256);
    addToBloom(bloom, bits);
    // Bit 0 is the lowest bit of the last byte.
    for (const position of bits) assert.notEqual(bloom[255 - Math.floor(position / 8)] & (1 << (position % 8)), 0);
  });

  it("refuses a bloom that is not 256 bytes", function () {
    assert.throws(() => bloomBytes("0x00"), /logsBloom: must be 256 bytes, got 1/);
  });
});
