import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { parseAddress } from "./arguments";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, requireRole, sendToEscrow, type CommonOptions } from "./escrowContext";

export async function registerMerchant(
  hre: HardhatRuntimeEnvironment,
  args: CommonOptions & { merchant?: string; payout?: string; signer?: string },
  out?: (line: string) => void,
) {
  const merchant = parseAddress("merchant", args.merchant);
  const payout = parseAddress("payout", args.payout);
  const signer = parseAddress("signer", args.signer);
  const context = await escrowContext(hre, args, out);
  await requireRole(context, "SIGNER_MANAGER_ROLE");
  return sendToEscrow(context, "registerMerchant", [merchant, payout, signer]);
}

operatorCommand(
  "register-merchant",
  "Register a merchant with the wallet its withdrawals go to and a signer for its payment intents (signer manager)",
  [
    ["merchant", "The merchant's address (its key withdraws and refunds)"],
    ["payout", "Wallet that receives the merchant's withdrawals"],
    ["signer", "Hot key that signs the merchant's payment intents (the API's key)"],
    ...SENDING_OPTIONS,
  ],
  registerMerchant,
  SENDING_FLAGS,
);
