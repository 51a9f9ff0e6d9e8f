import { expect } from "chai";
import fc from "fast-check";
import { formatDecimal, formatUsd, parseDecimal, parseUsd } from "./decimalAmounts";

describe("decimal amounts at the API's edge", function () {
  it("parses decimal strings into integer units, exactly", function () {
    expect(parseDecimal("12.50", 2, "amount")).to.equal(1250n);
    expect(parseDecimal("12", 6, "amount")).to.equal(12_000_000n);
    expect(parseDecimal("0.000001", 6, "amount")).to.equal(1n);
    expect(parseDecimal("007.5", 1, "amount")).to.equal(75n);
    expect(parseDecimal("0", 18, "amount")).to.equal(0n);
    expect(parseDecimal("123456789012345678901234567890", 0, "amount")).to.equal(123456789012345678901234567890n);
    // Where floating point would round: 0.1 + 0.2 and 18 places.
    expect(parseDecimal("0.3", 18, "amount")).to.equal(300_000_000_000_000_000n);
    expect(parseDecimal("1.000000000000000001", 18, "amount")).to.equal(1_000_000_000_000_000_001n);
  });

  it("refuses what is not a plain non-negative decimal, naming the field and the value", function () {
    for (const bad of ["", " 1", "1 ", "-1", "+1", "1.", ".5", "1e3", "0x10", "1,5", "1.2.3", "NaN", "Infinity", "١", "1_000"]) {
      expect(() => parseDecimal(bad, 6, "amount_usd"), JSON.stringify(bad)).to.throw(/^amount_usd: must be a decimal string/);
    }
    expect(() => parseDecimal(12 as unknown as string, 6, "amount")).to.throw(/amount: must be a decimal string such as "12.50", got 12/);
    expect(() => parseDecimal("1.1234567", 6, "amount")).to.throw('amount: at most 6 decimal places, got "1.1234567"');
    expect(() => parseDecimal("0.5", 0, "amount")).to.throw("amount: at most 0 decimal places");
  });

  it("formats units with no trailing zeros, and USD always with cents", function () {
    expect(formatDecimal(1250n, 2)).to.equal("12.5");
    expect(formatDecimal(3_000_000n, 6)).to.equal("3");
    expect(formatDecimal(1n, 18)).to.equal("0.000000000000000001");
    expect(formatDecimal(0n, 6)).to.equal("0");
    expect(formatUsd(12_500_000_000_000_000_000n)).to.equal("12.50");
    expect(formatUsd(3n * 10n ** 18n)).to.equal("3.00");
    expect(formatUsd(4n * 10n ** 15n)).to.equal("0.004");
    expect(formatUsd(0n)).to.equal("0.00");
    expect(formatUsd(1n)).to.equal("0.000000000000000001");
    expect(formatUsd(parseUsd("999999999999999.999999999999999999", "amount_usd"))).to.equal("999999999999999.999999999999999999");
  });

  it("parses USD with the escrow's 18 decimals, and refuses a 19th", function () {
    expect(parseUsd("25.50", "amount_usd")).to.equal(25_500_000_000_000_000_000n);
    expect(() => parseUsd("1.1234567890123456789", "amount_usd")).to.throw("amount_usd: at most 18 decimal places");
  });

  it("round-trips any amount: parse(format(units)) is the units, for every number of decimals", function () {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.integer({ min: 0, max: 36 }), (units, decimals) => {
        const text = formatDecimal(units, decimals);
        expect(text).to.match(/^\d+(\.\d*[1-9])?$/);
        expect(parseDecimal(text, decimals, "amount")).to.equal(units);
      }),
    );
  });

  it("round-trips USD: always two decimals or more, never more than 18", function () {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 34n }), (units) => {
        const text = formatUsd(units);
        expect(text).to.match(/^\d+\.\d{2,18}$/);
        expect(parseUsd(text, "amount_usd")).to.equal(units);
      }),
    );
  });

  it("parses any decimal string of the right places to the value it writes (trailing zeros aside)", function () {
    const decimalString = fc
      .tuple(fc.stringMatching(/^\d{1,20}$/), fc.stringMatching(/^\d{0,12}$/))
      .map(([whole, fraction]) => (fraction ? `${whole}.${fraction}` : whole));
    fc.assert(
      fc.property(decimalString, fc.integer({ min: 12, max: 24 }), (text, decimals) => {
        const units = parseDecimal(text, decimals, "amount");
        const [whole, fraction = ""] = text.split(".");
        const expected = `${BigInt(whole)}${fraction.replace(/0+$/, "") ? `.${fraction.replace(/0+$/, "")}` : ""}`;
        expect(formatDecimal(units, decimals)).to.equal(expected);
      }),
    );
  });
});
