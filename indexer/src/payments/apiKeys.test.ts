import { createHash } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { API_KEY_PREFIX, hashApiKey, modeOfKey, newApiKey } from "./apiKeys";

describe("API keys", function () {
  it("are recognisable by their prefix, carry 24 random bytes, and show only their first characters", function () {
    for (const mode of ["test", "live"] as const) {
      const { key, hash, prefix } = newApiKey(mode);
      expect(key).to.match(new RegExp(`^op_${mode}_[A-Za-z0-9_-]{32}$`));
      expect(key.startsWith(API_KEY_PREFIX[mode])).to.equal(true);
      expect(Buffer.from(key.slice(API_KEY_PREFIX[mode].length), "base64url")).to.have.length(24);
      expect(prefix).to.equal(key.slice(0, API_KEY_PREFIX[mode].length + 4));
      // What is stored: the SHA-256 of the whole key, never the key.
      expect(hash).to.equal(createHash("sha256").update(key).digest("hex"));
      expect(hash).to.not.include(key.slice(API_KEY_PREFIX[mode].length));
      expect(modeOfKey(key)).to.equal(mode);
    }
  });

  it("are new every time", function () {
    const keys = new Set(Array.from({ length: 2000 }, () => newApiKey("test").key));
    expect(keys.size).to.equal(2000);
  });

  it("hash deterministically, and different keys to different hashes", function () {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(hashApiKey(a))
          .to.equal(hashApiKey(a))
          .and.match(/^[0-9a-f]{64}$/);
        if (a !== b) expect(hashApiKey(a)).to.not.equal(hashApiKey(b));
      }),
    );
  });

  it("tell their mode by the exact prefix, and nothing else is an Open Pay key", function () {
    expect(modeOfKey("op_test_abc")).to.equal("test");
    expect(modeOfKey("op_live_abc")).to.equal("live");
    for (const other of ["", "op_test", "op_live", "OP_TEST_abc", "op_TEST_abc", "sk_test_abc", "pk_live_abc", " op_test_abc", "op-test-abc", "whsec_abc"]) {
      expect(modeOfKey(other), other).to.equal(undefined);
    }
    fc.assert(
      fc.property(fc.string(), (text) => {
        const mode = modeOfKey(text);
        expect(mode === undefined ? !/^op_(test|live)_/.test(text) : text.startsWith(`op_${mode}_`)).to.equal(true);
      }),
    );
  });
});
