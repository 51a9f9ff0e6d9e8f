import { getAddress, zeroAddress } from "viem";
import type { TokenInfo } from "../payments/paymentResource";
import type { DeploymentRecord } from "./deployment";

/** BNB, paid natively: the escrow and the API name it by the zero address. */
export const NATIVE_TOKEN: TokenInfo = { symbol: "BNB", address: zeroAddress, decimals: 18 };

/**
 * The tokens a deployment accepts, keyed by lowercase address as payments name their token, so that amounts can be
 * shown in whole tokens with the right symbol. BNB is always there, at the zero address with 18 decimals.
 */
export function tokenCatalogue(record: Pick<DeploymentRecord, "tokens">): Map<string, TokenInfo> {
  const catalogue = new Map<string, TokenInfo>([[NATIVE_TOKEN.address, NATIVE_TOKEN]]);
  for (const [symbol, token] of Object.entries(record.tokens)) {
    const address = getAddress(token.address);
    catalogue.set(address.toLowerCase(), address === zeroAddress ? { ...NATIVE_TOKEN, symbol } : { symbol, address, decimals: token.decimals });
  }
  return catalogue;
}
