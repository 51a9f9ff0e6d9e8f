import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, getAddress, recoverTypedDataAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PAYMENT_INTENT_TYPES, paymentIntentDigest, paymentIntentDomain, type PaymentIntent } from "../payments/paymentIntent";
import { IntentSigner } from "./intentSigner";

const ESCROW: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const hex = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map((bytes) => bytesToHex(bytes));
const address = hex(20).map((value) => getAddress(value));
const intent: fc.Arbitrary<PaymentIntent> = fc.record({
  paymentId: hex(32),
  merchant: address,
  amountUsd: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  expiry: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  refundTo: address,
  acceptedTokens: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
});
// Any valid secp256k1 key: below the group order, not zero.
const privateKey = hex(32).filter((key) => BigInt(key) > 0n && BigInt(key) < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n);

describe("IntentSigner", function () {
  it("gives viem's EIP-712 digest and signature for any intent, key and chain", async function () {
    await fc.assert(
      fc.asyncProperty(intent, privateKey, fc.integer({ min: 1, max: 2 ** 31 }), async (message, key, chainId) => {
        const signer = new IntentSigner(key as Hex, { chainId, escrow: ESCROW });
        const { digest, signature } = signer.sign(message);
        expect(digest).to.equal(paymentIntentDigest({ chainId, escrow: ESCROW, intent: message }));
        const viemSignature = await privateKeyToAccount(key as Hex).signTypedData({
          domain: paymentIntentDomain({ chainId, escrow: ESCROW }),
          types: PAYMENT_INTENT_TYPES,
          primaryType: "PaymentIntent",
          message,
        });
        expect(signature).to.equal(viemSignature);
      }),
      { numRuns: 200 },
    );
  });

  it("signs as the key's address, which the escrow recovers", async function () {
    const key: Hex = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
    const signer = new IntentSigner(key, { chainId: 56, escrow: ESCROW });
    const message: PaymentIntent = {
      paymentId: `0x${"ab".repeat(32)}`,
      merchant: ESCROW,
      amountUsd: 10n ** 19n,
      expiry: 1_900_000_000n,
      refundTo: ESCROW,
      acceptedTokens: 0b110n,
    };
    const { signature } = signer.sign(message);
    const recovered = await recoverTypedDataAddress({
      domain: paymentIntentDomain({ chainId: 56, escrow: ESCROW }),
      types: PAYMENT_INTENT_TYPES,
      primaryType: "PaymentIntent",
      message,
      signature,
    });
    expect(recovered).to.equal(signer.address).and.to.equal(privateKeyToAccount(key).address);
  });

  it("refuses fields EIP-712 cannot encode, naming the field", function () {
    const signer = new IntentSigner(`0x${"01".repeat(32)}`, { chainId: 56, escrow: ESCROW });
    const good: PaymentIntent = { paymentId: `0x${"ab".repeat(32)}`, merchant: ESCROW, amountUsd: 1n, expiry: 1n, refundTo: ESCROW, acceptedTokens: 2n };
    expect(() => signer.sign({ ...good, paymentId: "0x1234" })).to.throw(/^paymentId:/);
    expect(() => signer.sign({ ...good, merchant: "0x12" as Address })).to.throw(/^merchant:/);
    expect(() => signer.sign({ ...good, amountUsd: -1n })).to.throw(/^amountUsd:/);
    expect(() => signer.sign({ ...good, acceptedTokens: 2n ** 256n })).to.throw(/^acceptedTokens:/);
    expect(() => signer.sign({ ...good, expiry: 2n ** 64n })).to.throw(/^expiry:/);
  });
});
