import { getAddress, isAddress, type Address } from "viem";

/**
 * What a wallet reads from an EIP-681 payment request (the checkout's QR code):
 *
 * - a token: `ethereum:<token>@<chainId>/transfer?address=<to>&uint256=<amount>`
 * - the native coin: `ethereum:<to>@<chainId>?value=<amount>`
 *
 * Read here as a wallet reads it, independently of the code that writes it (indexer/src/payments/eip681.ts), so
 * that the demo pays what the URI says. Amounts are in the smallest unit; EIP-681's `2.5e18` notation is read
 * exactly, and one that is not a whole number of units is refused.
 */
export type PaymentRequest =
  | { kind: "token"; token: Address; chainId: number; to: Address; amount: bigint }
  | { kind: "native"; chainId: number; to: Address; amount: bigint };

function address(what: string, value: string | null | undefined, uri: string): Address {
  if (!value || !isAddress(value, { strict: false })) throw new Error(`${uri}: ${what} is not an address (${value ?? "missing"})`);
  return getAddress(value);
}

/** An EIP-681 number: digits, an optional fraction and an optional exponent (`25`, `2.5e18`), as an exact bigint. */
function amount(what: string, value: string | null, uri: string): bigint {
  const match = value === null ? null : /^(\d+)(?:\.(\d+))?(?:[eE](\d+))?$/.exec(value);
  if (!match) throw new Error(`${uri}: ${what} is not a number (${value ?? "missing"})`);
  const [, whole, fraction = "", exponent = "0"] = match;
  const shift = Number(exponent) - fraction.length;
  const digits = BigInt(whole + fraction);
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  if (digits % divisor !== 0n) throw new Error(`${uri}: ${what} ${value} is not a whole number of the token's smallest unit`);
  return digits / divisor;
}

export function readPaymentRequestUri(uri: string): PaymentRequest {
  const match = /^ethereum:(?:pay-)?(0x[0-9a-fA-F]{40})(?:@(\d+))?(?:\/([A-Za-z_][A-Za-z0-9_]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) throw new Error(`not an EIP-681 payment request: ${uri}`);
  const [, target, chain, functionName, query = ""] = match;
  if (chain === undefined) throw new Error(`${uri}: names no chain (@<chainId>); a wallet would have to guess`);
  const chainId = Number(chain);
  const parameters = new URLSearchParams(query);
  if (functionName === undefined) {
    return { kind: "native", chainId, to: address("the receiver", target, uri), amount: amount("value", parameters.get("value"), uri) };
  }
  if (functionName !== "transfer") throw new Error(`${uri}: asks to call ${functionName}, not transfer`);
  return {
    kind: "token",
    token: address("the token", target, uri),
    chainId,
    to: address("address", parameters.get("address"), uri),
    amount: amount("uint256", parameters.get("uint256"), uri),
  };
}
