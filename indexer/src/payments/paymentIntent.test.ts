import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { concat, encodeAbiParameters, getAddress, keccak256, slice, toHex, zeroAddress, type Address, type Hex } from "viem";
import {
  PAYMENT_INTENT_DOMAIN_NAME,
  PAYMENT_INTENT_DOMAIN_VERSION,
  PAYMENT_INTENT_TYPES,
  newPaymentId,
  acceptedTokenMask,
  paymentIntentDigest,
  type PaymentIntent,
} from "./paymentIntent";

const MERCHANT: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ESCROW: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const RANDOM_12 = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

const INTENT: PaymentIntent = {
  paymentId: "0x70997970c51812dc3a010c7d01b50e0d17dc79c80102030405060708090a0b0c",
  merchant: MERCHANT,
  amountUsd: 100n * 10n ** 18n,
  expiry: 1_700_000_000n,
  refundTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  acceptedTokens: 0b1110n,
};

// Digests of INTENT computed independently with ethers v6 (TypedDataEncoder.hash) for ESCROW.
const DIGEST_BSC: Hex = "0x6269a958d06fea7e1caf81dc6d241299ea2353d8c88d6660acf3c365d586d629";
const DIGEST_HARDHAT: Hex = "0xa4f60f06b0359b320dd58a3fb5ea8fad3b512e42bfb8f56a595d5c107198e111";

const SOLIDITY_TYPE = "PaymentIntent(bytes32 paymentId,address merchant,uint256 amountUsd,uint64 expiry,address refundTo,uint256 acceptedTokens)";

describe("paymentIntent", function () {
  describe("EIP-712 types", function () {
    it("spell the same type string as PAYMENT_INTENT_TYPEHASH in EscrowStorage.sol", function () {
      const fields = PAYMENT_INTENT_TYPES.PaymentIntent.map((field) => `${field.type} ${field.name}`).join(",");
      assert.equal(`PaymentIntent(${fields})`, SOLIDITY_TYPE);
      // Adjacent string literals ("a" "b") are one string to solc.
      const source = readFileSync(join(__dirname, "../../../contracts/EscrowStorage.sol"), "utf8").replace(/"\s*"/g, "");
      assert.ok(source.includes(`"${SOLIDITY_TYPE}"`), "EscrowStorage.sol no longer hashes this type string");
      assert.ok(
        source.includes(`EIP712("${PAYMENT_INTENT_DOMAIN_NAME}", "${PAYMENT_INTENT_DOMAIN_VERSION}")`),
        "EscrowStorage.sol no longer uses this EIP-712 domain name and version",
      );
    });
  });

  describe("paymentIntentDigest", function () {
    it("matches digests computed with ethers for BSC (56) and Hardhat (31337)", function () {
      assert.equal(paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: INTENT }), DIGEST_BSC);
      assert.equal(paymentIntentDigest({ chainId: 31337, escrow: ESCROW, intent: INTENT }), DIGEST_HARDHAT);
    });

    it("equals keccak256(0x1901 ‖ domain separator ‖ struct hash) assembled by hand", function () {
      const domainTypeHash = keccak256(toHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
      const domainSeparator = keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
          [domainTypeHash, keccak256(toHex("OpenPayEscrow")), keccak256(toHex("1")), 56n, ESCROW],
        ),
      );
      const structHash = keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "address" }, { type: "uint256" }, { type: "uint64" }, { type: "address" }, { type: "uint256" }],
          [keccak256(toHex(SOLIDITY_TYPE)), INTENT.paymentId, INTENT.merchant, INTENT.amountUsd, INTENT.expiry, INTENT.refundTo, INTENT.acceptedTokens],
        ),
      );
      const expected = keccak256(concat(["0x1901", domainSeparator, structHash]));
      assert.equal(expected, DIGEST_BSC);
      assert.equal(paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: INTENT }), expected);
    });

    it("takes the chain id as a number or a bigint", function () {
      assert.equal(paymentIntentDigest({ chainId: 56n, escrow: ESCROW, intent: INTENT }), DIGEST_BSC);
    });

    it("changes with every field of the intent, the escrow and the chain", function () {
      const variants: Hex[] = [
        paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: INTENT }),
        paymentIntentDigest({ chainId: 97, escrow: ESCROW, intent: INTENT }),
        paymentIntentDigest({ chainId: 56, escrow: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", intent: INTENT }),
        paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, paymentId: newPaymentId(MERCHANT) } }),
        paymentIntentDigest({
          chainId: 56,
          escrow: ESCROW,
          intent: { ...INTENT, merchant: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" },
        }),
        paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, amountUsd: INTENT.amountUsd + 1n } }),
        paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, expiry: INTENT.expiry + 1n } }),
        paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, refundTo: zeroAddress } }),
      ];
      assert.equal(new Set(variants).size, variants.length);
    });

    it("does not depend on the case of addresses", function () {
      const lower = {
        ...INTENT,
        merchant: INTENT.merchant.toLowerCase() as Address,
        refundTo: INTENT.refundTo.toLowerCase() as Address,
      };
      assert.equal(paymentIntentDigest({ chainId: 56, escrow: ESCROW.toLowerCase() as Address, intent: lower }), DIGEST_BSC);
    });

    it("rejects a payment id that is not 32 bytes and an expiry beyond uint64", function () {
      const shortId = slice(INTENT.paymentId, 0, 31);
      assert.throws(() => paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, paymentId: shortId } }));
      assert.throws(() => paymentIntentDigest({ chainId: 56, escrow: ESCROW, intent: { ...INTENT, expiry: 2n ** 64n } }));
    });
  });

  describe("acceptedTokenMask", function () {
    it("sets the bit of each token index, so that the escrow accepts exactly those tokens", function () {
      assert.equal(acceptedTokenMask([1, 3]), 0b1010n);
      assert.equal(acceptedTokenMask([3, 1, 3]), 0b1010n);
      assert.equal(acceptedTokenMask([]), 0n);
      assert.equal(acceptedTokenMask([255]), 1n << 255n);
    });

    it("refuses an index the escrow cannot have, naming it", function () {
      assert.throws(() => acceptedTokenMask([0]), /token index: must be 1 to 255, got 0/);
      assert.throws(() => acceptedTokenMask([256]), /got 256/);
      assert.throws(() => acceptedTokenMask([1.5]), /got 1.5/);
    });
  });

  describe("newPaymentId", function () {
    it("is the merchant's address followed by the 12 bytes given", function () {
      assert.equal(newPaymentId(MERCHANT, RANDOM_12), INTENT.paymentId);
      assert.equal(newPaymentId(MERCHANT.toLowerCase() as Address, RANDOM_12), INTENT.paymentId);
    });

    it("draws 12 random bytes when none are given: 32 bytes, the merchant first, a new id each time", function () {
      const ids = Array.from({ length: 50 }, () => newPaymentId(MERCHANT));
      for (const id of ids) {
        assert.match(id, /^0x[0-9a-f]{64}$/);
        assert.equal(getAddress(slice(id, 0, 20)), MERCHANT);
      }
      assert.equal(new Set(ids).size, ids.length);
    });

    it("rejects a merchant that is not an address, naming the field", function () {
      assert.throws(() => newPaymentId("0x1234" as Address), /^Error: merchant: not an address: 0x1234$/);
      // Mixed case with a wrong checksum (last letter's case flipped) is a typo, not an address.
      assert.throws(() => newPaymentId("0x70997970C51812dc3A010C7d01b50e0d17dc79c8"), /merchant: not an address/);
    });

    it("rejects random bytes of another length, naming the field", function () {
      assert.throws(() => newPaymentId(MERCHANT, new Uint8Array(11)), /^Error: random: must be 12 bytes, got 11$/);
      assert.throws(() => newPaymentId(MERCHANT, new Uint8Array(32)), /random: must be 12 bytes, got 32/);
    });
  });
});
