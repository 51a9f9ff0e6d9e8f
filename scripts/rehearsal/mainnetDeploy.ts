import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { readDeployment, type DeploymentRecord } from "../../indexer/src/chain/deployment";
import { RehearsalFinding } from "./finding";

/**
 * The operator command an operator runs for mainnet, `npm run deploy -- --network bsc --parameters <file> --quiet`
 * (Hardhat's `deploy` task: the OpenPay Ignition module, the admin handover, the deployment record), and the record
 * it wrote. A throw or an `error:` line from the command is a RehearsalFinding.
 */
export async function deployTheMainnetWay(hre: HardhatRuntimeEnvironment, parametersFile: string, deploymentsDir: string): Promise<DeploymentRecord> {
  try {
    await hre.run("deploy", { parameters: parametersFile, quiet: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new RehearsalFinding(`npm run deploy -- --network bsc threw ${code ?? (error as Error).name}: ${message.split("\n")[0]}`);
  }
  if (process.exitCode) throw new RehearsalFinding("npm run deploy -- --network bsc failed (its error is printed above)");
  try {
    return readDeployment(56, deploymentsDir);
  } catch (error) {
    throw new RehearsalFinding(`npm run deploy -- --network bsc ended without a usable deployment record: ${(error as Error).message}`);
  }
}

/**
 * `npm run deploy` once more, as an operator runs it again after an interruption: Ignition resumes from its journal,
 * so a complete deployment sends nothing (the deployer's nonce stays) and records the same escrow and block.
 */
export async function deployAgain(hre: HardhatRuntimeEnvironment, parametersFile: string, deploymentsDir: string, first: DeploymentRecord): Promise<void> {
  const nonce = () => hre.ethers.provider.getTransactionCount(first.deployer, "pending");
  const before = await nonce();
  const again = await deployTheMainnetWay(hre, parametersFile, deploymentsDir);
  const sent = (await nonce()) - before;
  if (sent !== 0 || again.escrow !== first.escrow || again.blockNumber !== first.blockNumber) {
    throw new RehearsalFinding(
      `npm run deploy run again sent ${sent} transaction(s) and recorded escrow ${again.escrow} at block ${again.blockNumber} ` +
        `(first: ${first.escrow} at block ${first.blockNumber}); a complete deployment must resume to nothing`,
    );
  }
}
