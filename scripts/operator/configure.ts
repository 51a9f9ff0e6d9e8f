import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { zeroAddress, type Address } from "viem";
import { deployedToken } from "../../indexer/src/chain/deployment";
import { parseAddress, parseBps, parseStaleness, parseTtlHours, required } from "./arguments";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, requireRole, sendToEscrow, type CommonOptions, type EscrowContext } from "./escrowContext";
import { OperatorError } from "./operatorError";

type Out = (line: string) => void;

/** A token by its symbol in the deployment record, by address, or BNB (priced like a token at the zero address). */
function tokenAddress(context: EscrowContext, value: string | undefined): Address {
  const text = required("token", value);
  if (text.toUpperCase() === "BNB") return zeroAddress;
  return deployedToken(context.deployment, text)?.address ?? parseAddress("token", text);
}

/** Refuses an address with no contract behind it, which the escrow would reject without a reason. */
async function requireContract(context: EscrowContext, option: string, address: Address) {
  if ((await context.hre.ethers.provider.getCode(address)) === "0x") {
    throw new OperatorError(`--${option}: no contract at ${address} on ${context.hre.network.name}`);
  }
}

export async function allowToken(hre: HardhatRuntimeEnvironment, args: CommonOptions & { token?: string; feed?: string; maxStaleness?: string }, out?: Out) {
  required("token", args.token);
  const feed = parseAddress("feed", args.feed);
  const maxStaleness = parseStaleness("max-staleness", args.maxStaleness);
  const context = await escrowContext(hre, args, out);
  const token = tokenAddress(context, args.token);
  if (token !== zeroAddress) await requireContract(context, "token", token);
  await requireContract(context, "feed", feed);
  await requireRole(context, "DEFAULT_ADMIN_ROLE");
  return sendToEscrow(context, "setToken", [token, feed, maxStaleness]);
}

export async function disallowToken(hre: HardhatRuntimeEnvironment, args: CommonOptions & { token?: string }, out?: Out) {
  required("token", args.token);
  const context = await escrowContext(hre, args, out);
  const token = tokenAddress(context, args.token);
  await requireRole(context, "DEFAULT_ADMIN_ROLE");
  return sendToEscrow(context, "disallowToken", [token]);
}

export async function setTolerance(hre: HardhatRuntimeEnvironment, args: CommonOptions & { token?: string; bps?: string }, out?: Out) {
  required("token", args.token);
  const bps = parseBps("bps", args.bps);
  const context = await escrowContext(hre, args, out);
  const token = tokenAddress(context, args.token);
  await requireRole(context, "DEFAULT_ADMIN_ROLE");
  return sendToEscrow(context, "setTolerance", [token, bps]);
}

export async function setFee(hre: HardhatRuntimeEnvironment, args: CommonOptions & { bps?: string }, out?: Out) {
  const bps = parseBps("bps", args.bps);
  const context = await escrowContext(hre, args, out);
  await requireRole(context, "DEFAULT_ADMIN_ROLE");
  return sendToEscrow(context, "setFee", [bps]);
}

export async function setMaxTtl(hre: HardhatRuntimeEnvironment, args: CommonOptions & { hours?: string }, out?: Out) {
  const hours = parseTtlHours("hours", args.hours);
  const context = await escrowContext(hre, args, out);
  await requireRole(context, "DEFAULT_ADMIN_ROLE");
  return sendToEscrow(context, "setMaxTtl", [hours]);
}

operatorCommand(
  "allow-token",
  "Accept a token (or BNB) for payments, priced by a Chainlink USD feed (admin)",
  [
    ["token", "Token address, a symbol from the deployment record, or BNB"],
    ["feed", "Chainlink <token>/USD feed address"],
    ["maxStaleness", "Oldest accepted feed answer, in seconds (the feed's heartbeat plus a margin; at most 172800)"],
    ...SENDING_OPTIONS,
  ],
  allowToken,
  SENDING_FLAGS,
);

operatorCommand(
  "disallow-token",
  "Stop accepting new payments in a token; balances and refunds in it go on (admin)",
  [["token", "Token address, a symbol from the deployment record (USDT, USDC), or BNB"], ...SENDING_OPTIONS],
  disallowToken,
  SENDING_FLAGS,
);

operatorCommand(
  "set-tolerance",
  "Set how far below the price a payment in a token may fall and still complete, in basis points (admin)",
  [
    ["token", "Token address, a symbol from the deployment record (USDT, USDC), or BNB"],
    ["bps", "Basis points, 0 to 500 (100 = 1%; stablecoins can be held far tighter than BNB)"],
    ...SENDING_OPTIONS,
  ],
  setTolerance,
  SENDING_FLAGS,
);

operatorCommand(
  "set-fee",
  "Set the platform fee taken from each completed payment, in basis points (admin)",
  [["bps", "Basis points, 0 to 500"], ...SENDING_OPTIONS],
  setFee,
  SENDING_FLAGS,
);

operatorCommand(
  "set-max-ttl",
  "Set the longest time to live a payment may have at its first deposit, in hours: an intent expiring later is refused (admin)",
  [["hours", "Whole hours, 1 to 168 (the escrow starts at 24; the API's intents live 30 minutes by default)"], ...SENDING_OPTIONS],
  setMaxTtl,
  SENDING_FLAGS,
);
