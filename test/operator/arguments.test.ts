import { expect } from "chai";
import { parseAddress, parseAmount, parseBps, parseChoice, parsePaymentId, parseStaleness, parseUsd, required } from "../../scripts/operator/arguments";
import { OperatorError } from "../../scripts/operator/operatorError";

/** The message of the OperatorError `parse` throws. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).to.be.instanceOf(OperatorError);
    return (error as Error).message;
  }
  expect.fail("the value was accepted");
}

const CHECKSUMMED = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

describe("operator: argument parsers", function () {
  describe("required", function () {
    it("returns the value without surrounding spaces", function () {
      expect(required("token", "  USDT ")).to.equal("USDT");
    });

    it("names the option when it is missing, empty or blank", function () {
      for (const value of [undefined, "", "   "]) expect(refusal(() => required("token", value))).to.equal("--token is required");
    });
  });

  describe("parseAddress", function () {
    it("checksums a lower-case or upper-case address", function () {
      expect(parseAddress("merchant", CHECKSUMMED.toLowerCase())).to.equal(CHECKSUMMED);
      expect(parseAddress("merchant", `0x${CHECKSUMMED.slice(2).toUpperCase()}`)).to.equal(CHECKSUMMED);
      expect(parseAddress("merchant", CHECKSUMMED)).to.equal(CHECKSUMMED);
    });

    it("refuses what is not 0x and 40 hex digits, naming the option", function () {
      for (const value of ["0x1234", "90F79bf6EB2c4f870365E785982E1f101E93b906", `${CHECKSUMMED}00`, "0x90F79bf6EB2c4f870365E785982E1f101E93b90g", "USDT"]) {
        expect(refusal(() => parseAddress("payout", value))).to.equal(`--payout: "${value}" is not an address (0x and 40 hex digits)`);
      }
    });

    it("refuses a mixed-case address with a wrong EIP-55 checksum and shows the right one", function () {
      const typo = CHECKSUMMED.replace("F79", "f79");
      expect(refusal(() => parseAddress("signer", typo))).to.equal(`--signer: ${typo} has a wrong EIP-55 checksum (a typo?); expected ${CHECKSUMMED}`);
    });

    it("names a missing address's option", function () {
      expect(refusal(() => parseAddress("feed", undefined))).to.equal("--feed is required");
    });
  });

  describe("parseAmount", function () {
    it("turns a decimal amount into base units", function () {
      expect(parseAmount("amount", "12.5", 18, "USDT")).to.equal(12_500_000_000_000_000_000n);
      expect(parseAmount("amount", "7", 6, "X")).to.equal(7_000_000n);
      expect(parseAmount("amount", "0.000001", 6, "X")).to.equal(1n);
      expect(parseAmount("amount", "1.000000000000000001", 18, "USDC")).to.equal(10n ** 18n + 1n);
      expect(parseAmount("amount", "0.5", 1, "X")).to.equal(5n);
    });

    it("refuses more decimals than the token has, naming both", function () {
      expect(refusal(() => parseAmount("amount", "1.0000000000000000001", 18, "USDC"))).to.equal(
        "--amount: 1.0000000000000000001 has 19 decimals but USDC has 18",
      );
      expect(refusal(() => parseAmount("amount", "0.5", 0, "WHOLE"))).to.equal("--amount: 0.5 has 1 decimals but WHOLE has 0");
    });

    it("refuses zero however it is written", function () {
      for (const value of ["0", "0.0", "000.000000"]) {
        expect(refusal(() => parseAmount("amount", value, 18, "USDT"))).to.equal("--amount: must be more than zero");
      }
    });

    it("refuses what is not a plain decimal number", function () {
      for (const value of ["abc", "-1", "1e18", "1,5", ".5", "5.", "0x10", "1 000", "+1"]) {
        expect(refusal(() => parseAmount("amount", value, 18, "USDT"))).to.equal(
          `--amount: "${value}" is not a decimal amount (digits, optionally a point and more digits)`,
        );
      }
    });
  });

  describe("parseUsd", function () {
    it("reads USD with up to 18 decimals", function () {
      expect(parseUsd("usd", "25")).to.equal(25n * 10n ** 18n);
      expect(parseUsd("usd", "0.000000000000000001")).to.equal(1n);
      expect(refusal(() => parseUsd("usd", "0.0000000000000000001"))).to.equal("--usd: 0.0000000000000000001 has 19 decimals but USD has 18");
    });
  });

  describe("parseBps", function () {
    it("accepts 0 to 500", function () {
      expect(parseBps("bps", "0")).to.equal(0);
      expect(parseBps("bps", "100")).to.equal(100);
      expect(parseBps("bps", "500")).to.equal(500);
    });

    it("refuses 501 and more", function () {
      expect(refusal(() => parseBps("bps", "501"))).to.equal("--bps: 501 is outside 0..500 basis points");
      expect(refusal(() => parseBps("bps", "10000"))).to.equal("--bps: 10000 is outside 0..500 basis points");
    });

    it("refuses fractions, signs and words", function () {
      for (const value of ["1.5", "-1", "one", "1e2"]) {
        expect(refusal(() => parseBps("bps", value))).to.equal(`--bps: "${value}" is not a whole number of basis points`);
      }
    });
  });

  describe("parseStaleness", function () {
    it("accepts 1 second to two days", function () {
      expect(parseStaleness("max-staleness", "1")).to.equal(1);
      expect(parseStaleness("max-staleness", "3600")).to.equal(3600);
      expect(parseStaleness("max-staleness", "172800")).to.equal(172_800);
    });

    it("refuses 0 and more than two days", function () {
      for (const value of ["0", "172801", "200000"]) {
        expect(refusal(() => parseStaleness("max-staleness", value))).to.equal(`--max-staleness: ${value} is outside 1..172800 seconds`);
      }
      expect(refusal(() => parseStaleness("max-staleness", "1h"))).to.equal('--max-staleness: "1h" is not a whole number of seconds');
    });
  });

  describe("parsePaymentId", function () {
    it("accepts 0x and 64 hex digits, in lower case", function () {
      const id = `0x${"AB".repeat(32)}`;
      expect(parsePaymentId("payment", id)).to.equal(id.toLowerCase());
    });

    it("refuses a wrong length or a non-hex id", function () {
      for (const value of [`0x${"ab".repeat(31)}`, `0x${"ab".repeat(33)}`, `0x${"zz".repeat(32)}`, "ab".repeat(33)]) {
        expect(refusal(() => parsePaymentId("payment", value))).to.equal(`--payment: "${value}" is not a payment id (0x and 64 hex digits)`);
      }
    });
  });

  describe("parseChoice", function () {
    const choices = ["full", "partial", "over", "late"] as const;

    it("returns one of the choices", function () {
      expect(parseChoice("scenario", "over", choices)).to.equal("over");
      expect(parseChoice("scenario", " late ", choices)).to.equal("late");
    });

    it("lists the choices when the value is none of them (case matters)", function () {
      for (const value of ["half", "FULL"]) {
        expect(refusal(() => parseChoice("scenario", value, choices))).to.equal(`--scenario: "${value}" is not one of full, partial, over, late`);
      }
    });
  });
});
