/** The escrow values USD with 18 decimals (PriceMath.USD_DECIMALS). */
export const USD_DECIMALS = 18;

export interface Price {
  /** The feed's answer: USD per whole token, with `feedDecimals` decimals. */
  answer: bigint;
  feedDecimals: number;
  tokenDecimals: number;
}

function checkPrice({ answer, feedDecimals, tokenDecimals }: Price): void {
  if (answer <= 0n) throw new Error(`price.answer: must be positive, got ${answer}`);
  for (const [name, value] of [
    ["feedDecimals", feedDecimals],
    ["tokenDecimals", tokenDecimals],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 36) throw new Error(`price.${name}: must be an integer 0..36, got ${value}`);
  }
}

/** USD value (18 decimals) of `amount` token units, rounded down: exactly `PriceMath.usdValue` of the escrow. */
export function usdValue(amount: bigint, price: Price): bigint {
  checkPrice(price);
  const scale = price.tokenDecimals + price.feedDecimals;
  if (scale >= USD_DECIMALS) return (amount * price.answer) / 10n ** BigInt(scale - USD_DECIMALS);
  return amount * price.answer * 10n ** BigInt(USD_DECIMALS - scale);
}

/**
 * The fewest token units the escrow values at `usd` or more: what a checkout asks a customer to send so that the
 * payment completes with no tolerance used.
 */
export function tokensForUsd(usd: bigint, price: Price): bigint {
  checkPrice(price);
  if (usd < 0n) throw new Error(`usd: must not be negative, got ${usd}`);
  const scale = price.tokenDecimals + price.feedDecimals;
  const [numerator, denominator] =
    scale >= USD_DECIMALS ? [usd * 10n ** BigInt(scale - USD_DECIMALS), price.answer] : [usd, price.answer * 10n ** BigInt(USD_DECIMALS - scale)];
  return (numerator + denominator - 1n) / denominator;
}
