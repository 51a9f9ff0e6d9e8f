import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { concat, getAddress, keccak256, size, slice, toHex, type Address, type Hex } from "viem";
import {
  EIP1167_CREATION_CODE_PREFIX,
  EIP1167_CREATION_CODE_SUFFIX,
  depositAddress,
  eip1167CreationCode,
} from "./depositAddress";

const ESCROW: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const FORWARDER: Address = "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be";
// paymentIntentDigest of the intent in paymentIntent.test.ts on chain 31337.
const DIGEST: Hex = "0xc1aac7c150db8f9ca11fcf98a37aff0646d199d24bf185f389dc317677f03074";
// Computed independently with ethers v6: getCreate2Address(ESCROW, DIGEST, keccak256(creation code)).
const EXPECTED: Address = "0xb69082760B521f620D0D00CF9433021A2600a763";

/** CREATE2 by hand: the last 20 bytes of keccak256(0xff ‖ deployer ‖ salt ‖ keccak256(init code)). */
function create2ByHand(deployer: Address, salt: Hex, initCode: Hex): Address {
  return getAddress(slice(keccak256(concat(["0xff", deployer, salt, keccak256(initCode)])), 12));
}

const randomAddress = () => getAddress(toHex(randomBytes(20)));

describe("depositAddress", function () {
  describe("EIP-1167 creation code", function () {
    it("is the one in EIP-1167 itself for its example implementation 0xbebe…be", function () {
      assert.equal(
        eip1167CreationCode("0xbebebebebebebebebebebebebebebebebebebebe"),
        "0x3d602d80600a3d3981f3" +
          "363d3d373d3d3d363d73bebebebebebebebebebebebebebebebebebebebe5af43d82803e903d91602b57fd5bf3",
      );
    });

    it("is 55 bytes, as CREATE2 gets it from OpenZeppelin's Clones (create2(value, 0x09, 0x37, salt))", function () {
      assert.equal(size(eip1167CreationCode(FORWARDER)), 0x37);
    });

    it("uses the exact bytes of node_modules/@openzeppelin/contracts/proxy/Clones.sol", function () {
      const clones = readFileSync(require.resolve("@openzeppelin/contracts/proxy/Clones.sol"), "utf8");
      // predictDeterministicAddress: the prefix at ptr, the suffix (followed by 0xff of CREATE2) at ptr + 0x24.
      assert.ok(clones.includes(`mstore(ptr, ${EIP1167_CREATION_CODE_PREFIX})`));
      assert.ok(clones.includes(`mstore(add(ptr, 0x24), ${EIP1167_CREATION_CODE_SUFFIX}ff)`));
      // cloneDeterministic: the same bytes around the implementation.
      assert.ok(clones.includes(`0x${EIP1167_CREATION_CODE_PREFIX.slice(2)}000000`));
      assert.ok(clones.includes(`0x${EIP1167_CREATION_CODE_SUFFIX.slice(2)})`));
      assert.ok(clones.includes("create2(value, 0x09, 0x37, salt)"));
    });
  });

  it("matches a CREATE2 address computed with ethers", function () {
    assert.equal(depositAddress({ escrow: ESCROW, forwarderImplementation: FORWARDER, digest: DIGEST }), EXPECTED);
  });

  it("matches CREATE2 computed by hand with keccak256 for random escrows, forwarders and digests", function () {
    for (let i = 0; i < 25; i++) {
      const escrow = randomAddress();
      const forwarderImplementation = randomAddress();
      const digest = toHex(randomBytes(32));
      const initCode = concat([
        "0x3d602d80600a3d3981f3363d3d373d3d3d363d73",
        forwarderImplementation,
        "0x5af43d82803e903d91602b57fd5bf3",
      ]);
      assert.equal(
        depositAddress({ escrow, forwarderImplementation, digest }),
        create2ByHand(escrow, digest, initCode),
      );
    }
  });

  it("returns a checksummed address whatever the case of its inputs", function () {
    const address = depositAddress({
      escrow: ESCROW.toLowerCase() as Address,
      forwarderImplementation: FORWARDER.toLowerCase() as Address,
      digest: DIGEST.toUpperCase().replace("0X", "0x") as Hex,
    });
    assert.equal(address, EXPECTED);
  });

  it("changes with the escrow, the forwarder and the digest", function () {
    const other = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    const addresses = [
      depositAddress({ escrow: ESCROW, forwarderImplementation: FORWARDER, digest: DIGEST }),
      depositAddress({ escrow: other, forwarderImplementation: FORWARDER, digest: DIGEST }),
      depositAddress({ escrow: ESCROW, forwarderImplementation: other, digest: DIGEST }),
      depositAddress({ escrow: ESCROW, forwarderImplementation: FORWARDER, digest: keccak256(DIGEST) }),
    ];
    assert.equal(new Set(addresses).size, addresses.length);
  });

  it("rejects inputs that are not addresses or a 32-byte digest, naming the field", function () {
    assert.throws(
      () =>
        depositAddress({
          escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa" as Address,
          forwarderImplementation: FORWARDER,
          digest: DIGEST,
        }),
      /^Error: escrow: not an address/,
    );
    assert.throws(
      () => depositAddress({ escrow: ESCROW, forwarderImplementation: "forwarder" as Address, digest: DIGEST }),
      /^Error: forwarderImplementation: not an address: forwarder$/,
    );
    // 31 bytes, 63 hex digits (which viem would pad silently) and non-hex are all refused.
    for (const digest of [slice(DIGEST, 0, 31), DIGEST.slice(0, 65), `0x${"zz".repeat(32)}`]) {
      assert.throws(
        () => depositAddress({ escrow: ESCROW, forwarderImplementation: FORWARDER, digest: digest as Hex }),
        /^Error: digest: must be 32 bytes of hex/,
      );
    }
  });
});
