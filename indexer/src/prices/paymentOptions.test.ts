import { expect } from "chai";
import fc from "fast-check";
import { zeroAddress, type Address } from "viem";
import type { TokenInfo } from "../payments/paymentResource";
import { parseDecimal } from "./decimalAmounts";
import { dueUsd, paymentOptions, QUOTE_DECIMALS, quoteAmount } from "./paymentOptions";
import { tokensForUsd, usdValue, type Price } from "./tokenAmount";

const USD = (amount: string) => parseDecimal(amount, 18, "usd");
const DEPOSIT = "0xf5e6C015f9A09571841824803F5E731Bfa614a08" as Address;
const USDT: TokenInfo = { symbol: "USDT", address: "0x55d398326f99059fF775485246999027B3197955", decimals: 18 };
const USDC6: TokenInfo = { symbol: "USDC", address: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", decimals: 6 };
const BNB: TokenInfo = { symbol: "BNB", address: zeroAddress, decimals: 18 };
const PRICES = new Map<string, Price>([
  [USDT.address.toLowerCase(), { answer: 100_000_000n, feedDecimals: 8, tokenDecimals: 18 }],
  [USDC6.address.toLowerCase(), { answer: 99_980_000n, feedDecimals: 8, tokenDecimals: 6 }],
  [BNB.address.toLowerCase(), { answer: 600_00000000n, feedDecimals: 8, tokenDecimals: 18 }],
]);

const price = fc.record({
  answer: fc.bigInt({ min: 1n, max: 10n ** 14n }),
  feedDecimals: fc.integer({ min: 0, max: 18 }),
  tokenDecimals: fc.integer({ min: 0, max: 24 }),
});
const usd = fc.bigInt({ min: 1n, max: 10n ** 33n });

describe("payment options: what a checkout asks a customer to send", function () {
  it("quotes a round amount, never short: USDT at $1, USDC at $0.9998, BNB at $600", function () {
    expect(quoteAmount(USD("25"), PRICES.get(USDT.address.toLowerCase())!)).to.equal(25n * 10n ** 18n);
    // 25 / 0.9998 = 25.00500100…: rounded up at the 6th place.
    expect(quoteAmount(USD("25"), PRICES.get(USDC6.address.toLowerCase())!)).to.equal(25_005_002n);
    // 10 / 600 = 0.0166666…: 0.016667 BNB.
    expect(quoteAmount(USD("10"), PRICES.get(BNB.address.toLowerCase())!)).to.equal(16_667n * 10n ** 12n);
  });

  it("never quotes short: the escrow values the quote at the amount or more, rounded to at most 6 places, by less than one 6th-place step too much", function () {
    fc.assert(
      fc.property(usd, price, (amount, p) => {
        const quote = quoteAmount(amount, p);
        expect(usdValue(quote, p) >= amount, "short").to.equal(true);
        if (p.tokenDecimals <= QUOTE_DECIMALS) {
          expect(quote).to.equal(tokensForUsd(amount, p));
        } else {
          const step = 10n ** BigInt(p.tokenDecimals - QUOTE_DECIMALS);
          expect(quote % step).to.equal(0n);
          // The next lower round amount would be short: the quote is the least round amount that is enough.
          expect(usdValue(quote - step, p) < amount, "more than needed").to.equal(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("offers each priced token in the order given, with its EIP-681 URI, and leaves out tokens without a price", function () {
    const options = paymentOptions({
      amountUsd: USD("25"),
      depositAddress: DEPOSIT,
      chainId: 56,
      tokens: [BNB, { symbol: "DOGE", address: "0xbA2aE424d960c26247Dd6c32edC70B295c744C43", decimals: 8 }, USDC6, USDT],
      prices: PRICES,
    });
    expect(options).to.deep.equal([
      {
        token: "BNB",
        address: zeroAddress,
        decimals: 18,
        amount: "0.041667",
        amount_units: "41667000000000000",
        uri: `ethereum:${DEPOSIT}@56?value=41667000000000000`,
      },
      {
        token: "USDC",
        address: USDC6.address,
        decimals: 6,
        amount: "25.005002",
        amount_units: "25005002",
        uri: `ethereum:${USDC6.address}@56/transfer?address=${DEPOSIT}&uint256=25005002`,
      },
      {
        token: "USDT",
        address: USDT.address,
        decimals: 18,
        amount: "25",
        amount_units: "25000000000000000000",
        uri: `ethereum:${USDT.address}@56/transfer?address=${DEPOSIT}&uint256=25000000000000000000`,
      },
    ]);
    expect(paymentOptions({ amountUsd: USD("1"), depositAddress: DEPOSIT, chainId: 56, tokens: [USDT], prices: new Map() })).to.deep.equal([]);
  });

  it("writes amounts that say the same as their units, with at most 6 decimal places, for any amount and price", function () {
    fc.assert(
      fc.property(usd, price, fc.integer({ min: 1, max: 1_000_000 }), (amount, p, chainId) => {
        const token: TokenInfo = { symbol: "TKN", address: "0x000000000000000000000000000000000000dEaD", decimals: p.tokenDecimals };
        const [option] = paymentOptions({
          amountUsd: amount,
          depositAddress: DEPOSIT,
          chainId,
          tokens: [token],
          prices: new Map([[token.address.toLowerCase(), p]]),
        });
        expect(option.amount_units).to.equal(quoteAmount(amount, p).toString());
        expect(parseDecimal(option.amount, p.tokenDecimals, "amount")).to.equal(BigInt(option.amount_units));
        expect((option.amount.split(".")[1] ?? "").length).to.be.at.most(QUOTE_DECIMALS);
        expect(option.uri).to.equal(`ethereum:${token.address}@${chainId}/transfer?address=${DEPOSIT}&uint256=${option.amount_units}`);
      }),
      { numRuns: 300 },
    );
  });

  it("asks a partly paid payment for what its units lack at today's price: a fall raises it, a rise lowers it", function () {
    const bnb = (answer: bigint): Price => ({ answer, feedDecimals: 8, tokenDecimals: 18 });
    const paid = 15n * 10n ** 16n; // 0.15 BNB: $90 of a $100 payment at $600
    expect(dueUsd(USD("100"), paid, bnb(600_00000000n))).to.equal(USD("10"));
    expect(dueUsd(USD("100"), paid, bnb(480_00000000n))).to.equal(USD("28"));
    expect(dueUsd(USD("100"), paid, bnb(700_00000000n))).to.equal(1n);
  });

  it("a customer who sends the quote for what is due completes the payment at that price, whatever was paid before", function () {
    fc.assert(
      fc.property(price, usd, fc.bigInt({ min: 1n, max: 10n ** 30n }), (p, amountUsd, paidUnits) => {
        const top = quoteAmount(dueUsd(amountUsd, paidUnits, p), p);
        expect(top > 0n).to.equal(true);
        expect(usdValue(paidUnits + top, p) >= amountUsd).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
