import { zeroAddress, type Address } from "viem";
import { deployedToken } from "../../indexer/src/chain/deployment";
import { parseAddress, required } from "./arguments";
import type { EscrowContext } from "./escrowContext";
import { OperatorError } from "./operatorError";

export interface KnownToken {
  address: Address;
  symbol: string;
  decimals: number;
}

/** A token the escrow has configured, named by its symbol in the deployment record, by address, or as BNB. */
export async function knownToken(context: EscrowContext, option: string, value: string | undefined): Promise<KnownToken> {
  const text = required(option, value);
  const recorded = deployedToken(context.deployment, text);
  const address = recorded?.address ?? (text.toUpperCase() === "BNB" ? zeroAddress : parseAddress(option, text));
  return tokenAt(context, address, recorded?.symbol ?? (address === zeroAddress ? "BNB" : address));
}

/** The escrow's configuration of `address`, refused when the escrow has never configured it. */
export async function tokenAt(context: EscrowContext, address: Address, symbol?: string): Promise<KnownToken> {
  const config = await context.escrow.tokenConfigOf(address);
  if (Number(config.index) === 0) throw new OperatorError(`${symbol ?? address} is not a token this escrow has configured`);
  const name = symbol ?? deployedToken(context.deployment, address)?.symbol ?? address;
  return { address, symbol: name, decimals: Number(config.decimals) };
}
