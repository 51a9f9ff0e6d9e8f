import { task } from "hardhat/config";
import type { ConfigurableTaskDefinition, HardhatRuntimeEnvironment } from "hardhat/types";
import { OperatorError } from "./operatorError";

/**
 * An operator command: a Hardhat task whose options are all optional to Hardhat, so that a missing or malformed
 * one is reported by the command itself as one line (`error: …`) with exit code 1, instead of Hardhat's
 * multi-line usage error. Commands that send a transaction also take --from and --calldata (SENDING_OPTIONS,
 * SENDING_FLAGS; see escrowContext.ts).
 */
export function operatorCommand<Args>(
  name: string,
  description: string,
  options: Array<[option: string, description: string]>,
  action: (hre: HardhatRuntimeEnvironment, args: Args) => Promise<unknown>,
  flags: Array<[flag: string, description: string]> = [],
): ConfigurableTaskDefinition {
  const definition = task(name, description);
  for (const [option, text] of options) definition.addOptionalParam(option, text);
  for (const [flag, text] of flags) definition.addFlag(flag, text);
  return definition.setAction(async (args: Args, hre: HardhatRuntimeEnvironment) => {
    try {
      await action(hre, args);
    } catch (error) {
      if (!(error instanceof OperatorError)) throw error;
      console.error(`error: ${error.message}`);
      process.exitCode = 1;
    }
  });
}

/** The options of commands that send a transaction. */
export const SENDING_OPTIONS: Array<[string, string]> = [["from", "Address of the configured key to send from (default: the first)"]];
export const SENDING_FLAGS: Array<[string, string]> = [
  ["calldata", "Print the transaction (to, value, data) for a multisig or hardware wallet instead of sending it"],
];
