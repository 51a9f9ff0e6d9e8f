import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { signDelivery } from "./signing";

describe("signDelivery", function () {
  it("signs as the standardwebhooks package does, and its verifier accepts the headers", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.stringMatching(/^msg_[0-9a-z]{1,30}$/),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (key, body, id, seconds) => {
          const secret = `whsec_${Buffer.from(key).toString("base64")}`;
          const at = new Date(seconds * 1000 + 999);
          const headers = signDelivery({ id, body, secrets: [secret], at });
          expect(headers["webhook-timestamp"]).to.equal(String(seconds));
          expect(headers["webhook-signature"]).to.equal(new Webhook(secret).sign(id, at, body));
        },
      ),
    );
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    const body = JSON.stringify({ type: "payment.created", data: { id: "0xab", amount: "1.00 €" } });
    const headers = signDelivery({ id: "msg_1", body, secrets: [secret] });
    expect(new Webhook(secret).verify(body, { ...headers })).to.deep.equal(JSON.parse(body));
  });

  it("signs with both secrets during a rotation, each signature verifying with its own secret", function () {
    const [old, next] = [`whsec_${randomBytes(24).toString("base64")}`, `whsec_${randomBytes(32).toString("base64")}`];
    const body = '{"type":"payment.paid"}';
    const headers = signDelivery({ id: "msg_2", body, secrets: [next, old] });
    expect(headers["webhook-signature"].split(" ")).to.have.length(2);
    for (const secret of [old, next]) expect(new Webhook(secret).verify(body, { ...headers })).to.deep.equal({ type: "payment.paid" });
    expect(() => new Webhook(`whsec_${randomBytes(24).toString("base64")}`).verify(body, { ...headers })).to.throw(/No matching signature/);
  });
});
