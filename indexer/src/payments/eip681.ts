import { zeroAddress, type Address } from "viem";
import { checksummedAddress } from "./addresses";

/** BNB Smart Chain mainnet. */
const BSC_CHAIN_ID = 56;

/**
 * The EIP-681 payment request URI a checkout shows as a QR code, so that any wallet pays the payment's
 * deposit address:
 *
 * - a token: `ethereum:<token>@<chainId>/transfer?address=<depositAddress>&uint256=<amount>`
 * - BNB (`token` is the zero address): `ethereum:<depositAddress>@<chainId>?value=<amount>`
 *
 * `amount` is in the token's smallest units (wei for BNB) and is written as a plain decimal integer;
 * addresses are written checksummed; `chainId` defaults to 56 (BSC). Throws an Error naming the field
 * when an address is not one, the amount is not a positive bigint or the chain id not a positive integer.
 */
export function paymentRequestUri({
  token,
  depositAddress,
  amount,
  chainId = BSC_CHAIN_ID,
}: {
  token: Address;
  depositAddress: Address;
  amount: bigint;
  chainId?: number | bigint;
}): string {
  const tokenAddress = checksummed("token", token);
  const receiver = checksummed("depositAddress", depositAddress);
  if (receiver === zeroAddress) throw new Error("depositAddress: must not be the zero address");
  if (typeof amount !== "bigint") {
    throw new Error(`amount: must be a bigint of the token's smallest units, got ${typeof amount} ${String(amount)}`);
  }
  if (amount <= 0n) throw new Error(`amount: must be positive, got ${amount}`);
  const chain = chainIdOf(chainId);

  if (tokenAddress === zeroAddress) return `ethereum:${receiver}@${chain}?value=${amount.toString(10)}`;
  return `ethereum:${tokenAddress}@${chain}/transfer?address=${receiver}&uint256=${amount.toString(10)}`;
}

function checksummed(field: string, value: unknown): Address {
  const address = checksummedAddress(value);
  if (!address) throw new Error(`${field}: not an address (or a mixed-case address with a wrong checksum): ${String(value)}`);
  return address;
}

function chainIdOf(chainId: unknown): string {
  const valid = (typeof chainId === "number" && Number.isSafeInteger(chainId) && chainId > 0) || (typeof chainId === "bigint" && chainId > 0n);
  if (!valid) throw new Error(`chainId: must be a positive integer, got ${typeof chainId} ${String(chainId)}`);
  return BigInt(chainId as number | bigint).toString(10);
}
