import { expect } from "chai";
import type { Address } from "viem";
import type { FeedToken } from "../prices/priceBook";
import { ApiError } from "./apiErrors";
import { paymentFilter, paymentListQuery } from "./paymentList";

const token = (symbol: string, address: string, index: number): FeedToken => ({
  symbol,
  address: address as Address,
  decimals: 18,
  feed: "0x0000000000000000000000000000000000000001",
  maxStaleness: 3600,
  index,
});
const context = {
  tokens: [token("USDT", "0x55d398326f99059fF775485246999027B3197955", 0), token("BNB", "0x0000000000000000000000000000000000000000", 1)],
};
const owner = { merchantId: "m_1", mode: "test" as const };

/** The store's filter for a query string, as GET /v1/payments and the dashboard read it. */
const filterOf = (query: string) => paymentFilter(context, owner, paymentListQuery.parse(Object.fromEntries(new URLSearchParams(query))));

function refusal(query: string): ApiError {
  try {
    filterOf(query);
  } catch (error) {
    expect(error).to.be.instanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error(`${query} was accepted`);
}

describe("payment list filters", function () {
  it("read a token by its symbol in any case as its address, and USD bounds as exact 18-decimal units", function () {
    expect(filterOf("token=usdt&amount_min=10&amount_max=20.000000000000000001")).to.include({
      merchantId: "m_1",
      mode: "test",
      token: "0x55d398326f99059fF775485246999027B3197955",
      amountMin: 10n * 10n ** 18n,
      amountMax: 20n * 10n ** 18n + 1n,
    });
    expect(filterOf("token=BnB").token).to.equal("0x0000000000000000000000000000000000000000");
    expect(filterOf("amount_min=5&amount_max=5")).to.include({ amountMin: 5n * 10n ** 18n, amountMax: 5n * 10n ** 18n });
  });

  it("leave out what is not asked, or asked empty", function () {
    const filter = filterOf("amount_min=&search=");
    for (const field of ["token", "amountMin", "amountMax", "prefix", "status", "orderId", "createdFrom", "createdTo"] as const) {
      expect(filter[field], field).to.equal(undefined);
    }
    expect(filterOf("search=ORD-1").prefix).to.equal("ORD-1");
  });

  it("refuse a token the gateway does not take, naming the ones it does, and amounts it cannot read, naming the field", function () {
    const unknown = refusal("token=DOGE");
    expect(unknown).to.include({ statusCode: 400, field: "token" });
    expect(unknown.message).to.include("USDT, BNB");
    for (const [query, field] of [
      ["amount_min=ten", "amount_min"],
      ["amount_min=-1", "amount_min"],
      ["amount_max=1.0000000000000000001", "amount_max"],
      ["amount_min=5&amount_max=4.999999999999999999", "amount_max"],
    ]) {
      const error = refusal(query);
      expect(error.field, query).to.equal(field);
      expect(error.message, query).to.match(new RegExp(`^${field}: `));
    }
  });

  it("refuse an unknown query field, and overlong or NUL-bearing text", function () {
    for (const query of ["colour=red", `token=${"X".repeat(21)}`, `search=${"s".repeat(201)}`, "search=%00", `amount_min=${"1".repeat(41)}`]) {
      expect(paymentListQuery.safeParse(Object.fromEntries(new URLSearchParams(query))).success, query).to.equal(false);
    }
  });
});
