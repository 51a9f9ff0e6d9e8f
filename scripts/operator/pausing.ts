import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, requireRole, sendToEscrow, type CommonOptions } from "./escrowContext";

export async function setPaused(hre: HardhatRuntimeEnvironment, args: CommonOptions, paused: boolean, out?: (line: string) => void) {
  const context = await escrowContext(hre, args, out);
  await requireRole(context, "PAUSER_ROLE");
  const settings = await context.escrow.settings();
  if (settings.paused === paused) {
    context.out(`the escrow is already ${paused ? "paused" : "running"}; nothing sent`);
    return undefined;
  }
  return sendToEscrow(context, paused ? "pause" : "unpause", []);
}

operatorCommand(
  "pause",
  "Stop new deposits at once; refunds, claims and withdrawals go on (pauser)",
  SENDING_OPTIONS,
  (hre, args: CommonOptions) => setPaused(hre, args, true),
  SENDING_FLAGS,
);

operatorCommand("unpause", "Accept deposits again (pauser)", SENDING_OPTIONS, (hre, args: CommonOptions) => setPaused(hre, args, false), SENDING_FLAGS);
