import assert from "node:assert/strict";
import { zeroAddress, type Address } from "viem";
import { paymentRequestUri } from "./eip681";

// USDT on BSC and a deposit address (checksummed).
const USDT: Address = "0x55d398326f99059fF775485246999027B3197955";
const DEPOSIT: Address = "0xb69082760B521f620D0D00CF9433021A2600a763";
const ONE_HUNDRED_TOKENS = 100n * 10n ** 18n;

describe("paymentRequestUri (EIP-681)", function () {
  it("asks a wallet to call transfer(deposit address, amount) on the token, on BSC by default", function () {
    assert.equal(
      paymentRequestUri({ token: USDT, depositAddress: DEPOSIT, amount: ONE_HUNDRED_TOKENS }),
      "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer" + "?address=0xb69082760B521f620D0D00CF9433021A2600a763&uint256=100000000000000000000",
    );
  });

  it("asks for a plain BNB transfer to the deposit address when the token is the zero address", function () {
    assert.equal(
      paymentRequestUri({ token: zeroAddress, depositAddress: DEPOSIT, amount: 166_666_666_666_666_667n }),
      "ethereum:0xb69082760B521f620D0D00CF9433021A2600a763@56?value=166666666666666667",
    );
  });

  it("writes the chain id given, as a number or a bigint", function () {
    assert.equal(
      paymentRequestUri({ token: USDT, depositAddress: DEPOSIT, amount: 1n, chainId: 97 }),
      "ethereum:0x55d398326f99059fF775485246999027B3197955@97/transfer" + "?address=0xb69082760B521f620D0D00CF9433021A2600a763&uint256=1",
    );
    assert.equal(
      paymentRequestUri({ token: zeroAddress, depositAddress: DEPOSIT, amount: 1n, chainId: 31337n }),
      "ethereum:0xb69082760B521f620D0D00CF9433021A2600a763@31337?value=1",
    );
  });

  it("writes huge amounts as plain decimal integers, never in exponent notation", function () {
    const amount = 10n ** 30n + 7n; // Number(amount) would print 1e+30 and lose the 7
    assert.equal(
      paymentRequestUri({ token: zeroAddress, depositAddress: DEPOSIT, amount }),
      "ethereum:0xb69082760B521f620D0D00CF9433021A2600a763@56?value=1000000000000000000000000000007",
    );
  });

  it("checksums lowercase addresses", function () {
    assert.equal(
      paymentRequestUri({
        token: USDT.toLowerCase() as Address,
        depositAddress: DEPOSIT.toLowerCase() as Address,
        amount: 5n,
      }),
      "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer" + "?address=0xb69082760B521f620D0D00CF9433021A2600a763&uint256=5",
    );
  });

  describe("bad input throws an Error that names the field", function () {
    const valid = { token: USDT, depositAddress: DEPOSIT, amount: 1n };

    it("token or deposit address that is not an address", function () {
      assert.throws(() => paymentRequestUri({ ...valid, token: "0x55d398" as Address }), /^Error: token: not an address .*: 0x55d398$/);
      assert.throws(() => paymentRequestUri({ ...valid, depositAddress: "USDT" as Address }), /^Error: depositAddress: not an address .*: USDT$/);
      // Mixed case with a wrong checksum: the last letter's case flipped.
      assert.throws(
        () => paymentRequestUri({ ...valid, depositAddress: "0xb69082760B521f620D0D00CF9433021A2600A763" }),
        /^Error: depositAddress: not an address \(or a mixed-case address with a wrong checksum\)/,
      );
    });

    it("the zero address as deposit address", function () {
      assert.throws(() => paymentRequestUri({ ...valid, depositAddress: zeroAddress }), /^Error: depositAddress: must not be the zero address$/);
    });

    it("a zero or negative amount", function () {
      assert.throws(() => paymentRequestUri({ ...valid, amount: 0n }), /^Error: amount: must be positive, got 0$/);
      assert.throws(() => paymentRequestUri({ ...valid, amount: -1n }), /^Error: amount: must be positive, got -1$/);
    });

    it("an amount that is a JavaScript number (a float or an unsafe integer) rather than a bigint", function () {
      for (const amount of [1.5, 1e21]) {
        assert.throws(
          () => paymentRequestUri({ ...valid, amount: amount as unknown as bigint }),
          /^Error: amount: must be a bigint of the token's smallest units, got number/,
        );
      }
    });

    it("a chain id that is not a positive integer", function () {
      for (const chainId of [56.5, 0, -56, Number.NaN, 2 ** 53]) {
        assert.throws(() => paymentRequestUri({ ...valid, chainId }), /^Error: chainId: must be a positive integer, got number/);
      }
      assert.throws(() => paymentRequestUri({ ...valid, chainId: 0n }), /^Error: chainId: must be a positive integer, got bigint 0$/);
      assert.throws(() => paymentRequestUri({ ...valid, chainId: "56" as unknown as number }), /^Error: chainId: must be a positive integer, got string 56$/);
    });
  });
});
