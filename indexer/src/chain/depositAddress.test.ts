import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { concat, getAddress, keccak256, size, slice, toHex, type Address, type Hex } from "viem";
import {
  DEPOSIT_ADDRESS_CONSTRUCTOR,
  DEPOSIT_ADDRESS_RUNTIME_PREFIX,
  DEPOSIT_ADDRESS_RUNTIME_SUFFIX,
  depositAddress,
  depositAddressCreationCode,
  depositAddressRuntimeCode,
} from "./depositAddress";

const ESCROW: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const FORWARDER: Address = "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be";
// paymentIntentDigest of the intent in paymentIntent.test.ts on chain 31337.
const DIGEST: Hex = "0xc1aac7c150db8f9ca11fcf98a37aff0646d199d24bf185f389dc317677f03074";
// Computed independently with ethers v6: getCreate2Address(ESCROW, DIGEST, keccak256(creation code)).
const EXPECTED: Address = "0x79922DD53C170e804954Cd240B4966cBe6DB6960";

/** CREATE2 by hand: the last 20 bytes of keccak256(0xff ‖ deployer ‖ salt ‖ keccak256(init code)). */
function create2ByHand(deployer: Address, salt: Hex, initCode: Hex): Address {
  return getAddress(slice(keccak256(concat(["0xff", deployer, salt, keccak256(initCode)])), 12));
}

const randomAddress = () => getAddress(toHex(randomBytes(20)));

describe("depositAddress", function () {
  describe("the deposit-address proxy's code", function () {
    it("is 0age's minimal proxy with a jump to its final RETURN for empty calldata, for the example implementation 0xbebe…be", function () {
      assert.equal(
        depositAddressCreationCode("0xbebebebebebebebebebebebebebebebebebebebe"),
        "0x3d603180600a3d3981f3" + "3d3d3615602f57" + "3d3d363d3d37363d73bebebebebebebebebebebebebebebebebebebebe5af43d3d93803e602f57fd5bf3",
      );
    });

    it("is 49 bytes of runtime after a 10-byte constructor that returns exactly them (59 bytes for CREATE2)", function () {
      const runtime = depositAddressRuntimeCode(FORWARDER);
      assert.equal(size(runtime), 49);
      assert.equal(size(depositAddressCreationCode(FORWARDER)), 59);
      // PUSH1 0x31 (the runtime's length) … PUSH1 0x0a (where it starts) … CODECOPY … RETURN.
      assert.equal(DEPOSIT_ADDRESS_CONSTRUCTOR, "0x3d603180600a3d3981f3");
      assert.equal(slice(depositAddressCreationCode(FORWARDER), 10), runtime);
    });

    it("jumps to a JUMPDEST followed by RETURN from both branches, and has the implementation at 0x10", function () {
      const runtime = depositAddressRuntimeCode(FORWARDER);
      const at = (pc: number) => slice(runtime, pc, pc + 1);
      // CALLDATASIZE ISZERO PUSH1 0x2f JUMPI at 0x02, and PUSH1 0x2f JUMPI after the delegatecall.
      assert.equal(slice(runtime, 2, 7), "0x3615602f57");
      assert.equal(slice(runtime, 0x2b, 0x2e), "0x602f57");
      assert.equal(at(0x2f), "0x5b");
      assert.equal(at(0x30), "0xf3");
      assert.equal(at(0x0f), "0x73");
      assert.equal(slice(runtime, 0x10, 0x24), FORWARDER.toLowerCase());
    });

    it("uses the exact bytes of contracts/libraries/DepositAddressClone.sol", function () {
      const library = readFileSync(join(__dirname, "../../../contracts/libraries/DepositAddressClone.sol"), "utf8");
      // creationCode(): the hex literals around the implementation, in order.
      const literals = [...library.matchAll(/hex"([0-9a-f]+)"/g)].map((match) => match[1]);
      assert.deepEqual(literals, [DEPOSIT_ADDRESS_CONSTRUCTOR.slice(2), "3d3d3615602f57", "3d3d363d3d37363d73", DEPOSIT_ADDRESS_RUNTIME_SUFFIX.slice(2)]);
      assert.equal(`0x${literals[1]}${literals[2]}`, DEPOSIT_ADDRESS_RUNTIME_PREFIX);
      // cloneDeterministic() and predictDeterministicAddress(): the words their assembly writes around the implementation.
      const before = `0x${DEPOSIT_ADDRESS_CONSTRUCTOR.slice(2)}${DEPOSIT_ADDRESS_RUNTIME_PREFIX.slice(2)}`;
      assert.ok(library.includes(`mstore(0x00, or(${before}00, shr(0xf8, shl(0x60, implementation))))`));
      assert.ok(library.includes(`mstore(0x20, or(shl(0x68, implementation), ${DEPOSIT_ADDRESS_RUNTIME_SUFFIX}))`));
      assert.ok(library.includes(`mstore(ptr, ${before})`));
      // The suffix is followed by CREATE2's 0xff there.
      assert.ok(library.includes(`mstore(add(ptr, 0x22), ${DEPOSIT_ADDRESS_RUNTIME_SUFFIX}ff)`));
      assert.equal(library.split("create2(0, 0x05, 0x3b, salt)").length - 1, 1);
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
      const initCode = concat(["0x3d603180600a3d3981f33d3d3615602f573d3d363d3d37363d73", forwarderImplementation, "0x5af43d3d93803e602f57fd5bf3"]);
      assert.equal(depositAddress({ escrow, forwarderImplementation, digest }), create2ByHand(escrow, digest, initCode));
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
