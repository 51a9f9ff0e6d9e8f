import { expect } from "chai";
import fc from "fast-check";
import { tokensForUsd, usdValue, type Price } from "./tokenAmount";

const BNB: Price = { answer: 600_00000000n, feedDecimals: 8, tokenDecimals: 18 };
const SIX_DECIMALS: Price = { answer: 99_980_000n, feedDecimals: 8, tokenDecimals: 6 };

describe("token amounts for a USD price", () => {
  it("values token units in USD with 18 decimals, rounding down", () => {
    expect(usdValue(10n ** 18n, BNB)).to.equal(600n * 10n ** 18n);
    expect(usdValue(1n, BNB)).to.equal(600n);
    expect(usdValue(1n, SIX_DECIMALS)).to.equal(999_800_000_000n);
  });

  it("asks for the fewest units worth the USD amount", () => {
    expect(tokensForUsd(600n * 10n ** 18n, BNB)).to.equal(10n ** 18n);
    // $25 at $0.9998 per 6-decimal token: 25.005001 tokens, rounded up to the next unit.
    expect(tokensForUsd(25n * 10n ** 18n, SIX_DECIMALS)).to.equal(25_005_002n);
    expect(tokensForUsd(0n, BNB)).to.equal(0n);
  });

  it("is minimal: the amount covers the USD value and one unit less does not", () => {
    const price = fc.record({
      answer: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      feedDecimals: fc.integer({ min: 0, max: 18 }),
      tokenDecimals: fc.integer({ min: 0, max: 24 }),
    });
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 30n }), price, (usd, p) => {
        const amount = tokensForUsd(usd, p);
        expect(usdValue(amount, p) >= usd).to.equal(true);
        expect(usdValue(amount - 1n, p) < usd).to.equal(true);
      }),
    );
  });

  it("names the field that is wrong", () => {
    expect(() => tokensForUsd(1n, { ...BNB, answer: 0n })).to.throw("price.answer: must be positive");
    expect(() => usdValue(1n, { ...BNB, tokenDecimals: 40 })).to.throw("price.tokenDecimals");
    expect(() => tokensForUsd(-1n, BNB)).to.throw("usd: must not be negative");
  });
});
