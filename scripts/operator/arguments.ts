import { getAddress, isAddress, isHex, parseUnits, type Address, type Hex } from "viem";
import { OperatorError } from "./operatorError";

/** The escrow's limit on tolerance and fee, in basis points (MAX_TOLERANCE_BPS, MAX_FEE_BPS). */
const MAX_BPS = 500;
/** The escrow's limit on a feed's staleness (MAX_STALENESS_CAP). */
const MAX_STALENESS = 2 * 24 * 60 * 60;
/** The escrow's cap on a payment's time to live at its first deposit (MAX_TTL_CAP_HOURS): 7 days. */
const MAX_TTL_HOURS = 168;

export function required(option: string, value: string | undefined): string {
  if (value === undefined || value.trim() === "") throw new OperatorError(`--${option} is required`);
  return value.trim();
}

/** An address, checksummed; a mixed-case address with a wrong checksum is refused as a likely typo. */
export function parseAddress(option: string, value: string | undefined): Address {
  const text = required(option, value);
  if (!isAddress(text, { strict: false })) throw new OperatorError(`--${option}: "${text}" is not an address (0x and 40 hex digits)`);
  const mixedCase = text !== text.toLowerCase() && text.slice(2) !== text.slice(2).toUpperCase();
  if (mixedCase && getAddress(text) !== text) {
    throw new OperatorError(`--${option}: ${text} has a wrong EIP-55 checksum (a typo?); expected ${getAddress(text)}`);
  }
  return getAddress(text);
}

/** A positive decimal amount of a token with `decimals` decimals, as base units. */
export function parseAmount(option: string, value: string | undefined, decimals: number, symbol: string): bigint {
  const text = required(option, value);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new OperatorError(`--${option}: "${text}" is not a decimal amount (digits, optionally a point and more digits)`);
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new OperatorError(`--${option}: ${text} has ${fraction.length} decimals but ${symbol} has ${decimals}`);
  }
  const amount = parseUnits(text, decimals);
  if (amount === 0n) throw new OperatorError(`--${option}: must be more than zero`);
  return amount;
}

/** A USD amount with at most 18 decimals, as the escrow's 18-decimal fixed point. */
export function parseUsd(option: string, value: string | undefined): bigint {
  return parseAmount(option, value, 18, "USD");
}

function parseInteger(option: string, value: string | undefined, min: number, max: number, unit: string): number {
  const text = required(option, value);
  if (!/^\d+$/.test(text)) throw new OperatorError(`--${option}: "${text}" is not a whole number of ${unit}`);
  const number = Number(text);
  if (number < min || number > max) throw new OperatorError(`--${option}: ${text} is outside ${min}..${max} ${unit}`);
  return number;
}

/** Basis points within the escrow's limit of 500 (5%). */
export function parseBps(option: string, value: string | undefined): number {
  return parseInteger(option, value, 0, MAX_BPS, "basis points");
}

/** A feed's staleness limit in seconds, within the escrow's cap of two days. */
export function parseStaleness(option: string, value: string | undefined): number {
  return parseInteger(option, value, 1, MAX_STALENESS, "seconds");
}

/** A payment's longest time to live, in whole hours within the escrow's cap of 168 (7 days). */
export function parseTtlHours(option: string, value: string | undefined): number {
  return parseInteger(option, value, 1, MAX_TTL_HOURS, "hours");
}

/** A 32-byte payment id. */
export function parsePaymentId(option: string, value: string | undefined): Hex {
  const text = required(option, value);
  if (!isHex(text) || text.length !== 66) throw new OperatorError(`--${option}: "${text}" is not a payment id (0x and 64 hex digits)`);
  return text.toLowerCase() as Hex;
}

/** One of `choices`, named in the error when it is not. */
export function parseChoice<T extends string>(option: string, value: string | undefined, choices: readonly T[]): T {
  const text = required(option, value);
  if (!(choices as readonly string[]).includes(text)) {
    throw new OperatorError(`--${option}: "${text}" is not one of ${choices.join(", ")}`);
  }
  return text as T;
}
