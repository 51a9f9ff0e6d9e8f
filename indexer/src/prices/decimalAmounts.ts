import { formatUnits } from "viem";
import { USD_DECIMALS } from "./tokenAmount";

/**
 * Amounts at the API's edge are decimal strings ("12.50"), inside they are integers of the smallest unit. The
 * conversion is string arithmetic, never floating point.
 */

/** A decimal string of `decimals` places or fewer into integer units; throws naming `field` and the problem. */
export function parseDecimal(value: string, decimals: number, field: string): bigint {
  if (typeof value !== "string" || !/^\d+(\.\d+)?$/.test(value)) {
    throw new Error(`${field}: must be a decimal string such as "12.50", got ${JSON.stringify(value)}`);
  }
  const [whole, fraction = ""] = value.split(".");
  if (fraction.length > decimals) throw new Error(`${field}: at most ${decimals} decimal places, got "${value}"`);
  return BigInt(whole + fraction.padEnd(decimals, "0"));
}

/** Integer units as a decimal string with no trailing zeros ("12.5", "3"). */
export function formatDecimal(units: bigint, decimals: number): string {
  return formatUnits(units, decimals);
}

/** A USD amount with 18 decimals (the escrow's) as the API writes it, always with cents: "12.50", "0.004", "3.00". */
export function formatUsd(units: bigint): string {
  const plain = formatUnits(units, USD_DECIMALS);
  const [whole, fraction = ""] = plain.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
}

/** A USD amount from the API into the escrow's 18-decimal integer. */
export function parseUsd(value: string, field: string): bigint {
  return parseDecimal(value, USD_DECIMALS, field);
}
