import { expect } from "chai";
import { zeroAddress } from "viem";
import { newPaymentId, type PaymentIntent } from "./paymentIntent";
import { signedIntentFromJson, signedIntentToJson } from "./signedIntentJson";

const merchant = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const intent: PaymentIntent = {
  paymentId: newPaymentId(merchant),
  merchant,
  amountUsd: 123_456789012345678901n,
  expiry: 1_900_000_000n,
  refundTo: zeroAddress,
  acceptedTokens: 0b1000n,
};
const signature = `0x${"ab".repeat(65)}` as const;

describe("signed intents as JSON", () => {
  it("round-trips every field exactly, amounts as decimal strings", () => {
    const json = JSON.parse(JSON.stringify(signedIntentToJson(intent, signature)));
    expect(json.intent.amountUsd).to.equal("123456789012345678901");
    expect(signedIntentFromJson(json)).to.deep.equal({ intent, signature });
  });

  it("checksums addresses and lowercases hex", () => {
    const json = signedIntentToJson({ ...intent, merchant: merchant.toLowerCase() as `0x${string}` }, signature);
    json.intent.paymentId = json.intent.paymentId.toUpperCase().replace("0X", "0x") as `0x${string}`;
    const parsed = signedIntentFromJson(json);
    expect(parsed.intent.merchant).to.equal(merchant);
    expect(parsed.intent.paymentId).to.equal(intent.paymentId);
  });

  it("names every bad field", () => {
    const json = signedIntentToJson(intent, signature) as unknown as { intent: Record<string, unknown> };
    json.intent.amountUsd = "12.5";
    json.intent.refundTo = "0x1234";
    expect(() => signedIntentFromJson(json)).to.throw(/intent\.amountUsd: must be a non-negative integer.*intent\.refundTo: must be an address/);
    expect(() => signedIntentFromJson({ intent: {}, signature })).to.throw("intent.paymentId");
    expect(() => signedIntentFromJson({ ...signedIntentToJson(intent, signature), extra: 1 })).to.throw(/extra|Unrecognized/);
  });
});
