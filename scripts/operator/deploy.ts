import { deployOpenPay, DeploymentError } from "../../deploy/deployOpenPay";
import { operatorCommand } from "./commandLine";
import { deploymentsDir } from "./escrowContext";
import { OperatorError } from "./operatorError";

operatorCommand(
  "deploy",
  "Deploy Open Pay with its Ignition module and deploy/parameters/<network>.json5, and write deployments/<chainId>.json",
  [["parameters", "A parameters file other than deploy/parameters/<network>.json5"]],
  async (hre, args: { parameters?: string; quiet?: boolean }) => {
    try {
      await deployOpenPay(hre, { parametersFile: args.parameters, deploymentsDir: deploymentsDir(), displayUi: !args.quiet });
    } catch (error) {
      if (error instanceof DeploymentError) throw new OperatorError(error.message);
      throw error;
    }
  },
  [["quiet", "Hide Ignition's progress display"]],
);
