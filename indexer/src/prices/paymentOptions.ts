import type { Address } from "viem";
import type { PaymentOption, TokenInfo } from "../payments/paymentResource";
import { paymentRequestUri } from "../payments/eip681";
import { formatDecimal } from "./decimalAmounts";
import { tokensForUsd, usdValue, type Price } from "./tokenAmount";

/** Decimal places a quoted amount shows at most: wallets and people handle "12.345679" better than 18 places. */
export const QUOTE_DECIMALS = 6;

/**
 * The amount of a token to ask for `amountUsd`: the fewest units the escrow values at the price or more, rounded
 * up to QUOTE_DECIMALS places. Rounding up only ever adds value, so a customer who sends what is shown is never
 * short at this price; the escrow's tolerance absorbs a price that moves a little before the deposit lands.
 */
export function quoteAmount(amountUsd: bigint, price: Price): bigint {
  const exact = tokensForUsd(amountUsd, price);
  if (price.tokenDecimals <= QUOTE_DECIMALS) return exact;
  const step = 10n ** BigInt(price.tokenDecimals - QUOTE_DECIMALS);
  return ((exact + step - 1n) / step) * step;
}

/**
 * USD a partly paid payment still needs at today's price: the escrow values every unit received again at each
 * deposit (docs/contracts.md, "Value"), so what the last deposit left due moves with the price. At least one USD
 * unit: the escrow takes no empty deposit, and one more unit completes a payment its units already cover.
 */
export function dueUsd(amountUsd: bigint, paidUnits: bigint, price: Price): bigint {
  const worth = usdValue(paidUnits, price);
  return worth >= amountUsd ? 1n : amountUsd - worth;
}

/** The ways to pay `amountUsd` into `depositAddress`: one per token with a price, in the order given. */
export function paymentOptions({
  amountUsd,
  depositAddress,
  chainId,
  tokens,
  prices,
}: {
  amountUsd: bigint;
  depositAddress: Address;
  chainId: number;
  tokens: readonly TokenInfo[];
  prices: ReadonlyMap<string, Price>;
}): PaymentOption[] {
  const options: PaymentOption[] = [];
  for (const token of tokens) {
    const price = prices.get(token.address.toLowerCase());
    if (!price) continue;
    const units = quoteAmount(amountUsd, price);
    options.push({
      token: token.symbol,
      address: token.address,
      decimals: token.decimals,
      amount: formatDecimal(units, token.decimals),
      amount_units: units.toString(),
      uri: paymentRequestUri({ token: token.address, depositAddress, amount: units, chainId }),
    });
  }
  return options;
}
