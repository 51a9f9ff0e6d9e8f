import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { Etherscan } from "@nomicfoundation/hardhat-verify/internal/etherscan";
import { Bytecode } from "@nomicfoundation/hardhat-verify/internal/solc/bytecode";
import type { ExtendedContractInformation } from "@nomicfoundation/hardhat-verify/internal/solc/artifacts";
import { TASK_VERIFY_ETHERSCAN_GET_MINIMAL_INPUT, TASK_VERIFY_GET_CONTRACT_INFORMATION } from "@nomicfoundation/hardhat-verify/internal/task-names";
import { encodeArguments, getCompilerVersions } from "@nomicfoundation/hardhat-verify/internal/utilities";
import type { CompilerInput } from "hardhat/types";
import { OperatorError } from "./operatorError";

/** A contract to verify: what `verify:verify` is given. */
export interface VerificationTarget {
  contract: string;
  address: string;
  constructorArguments: unknown[];
}

/** What would be submitted for one contract. */
export interface PlannedSubmission {
  contract: string;
  address: string;
  apiUrl: string;
  contractUrl: string;
  compilerVersion: string;
  sourceFiles: number;
  sourceBytes: number;
  constructorArguments: string;
}

/**
 * `verify-deployment --dry-run`: everything hardhat-verify does before it submits to the explorer, and nothing it
 * sends. For each target it finds the explorer of the selected chain, reads the deployed code, checks that it
 * matches this build of the named contract (the check the explorer makes), builds the standard JSON input and
 * encodes the constructor arguments; then it prints what it would post. No explorer request, no API key needed.
 */
export async function verificationDryRun(
  hre: HardhatRuntimeEnvironment,
  targets: VerificationTarget[],
  out: (line: string) => void = console.log,
): Promise<PlannedSubmission[]> {
  const { network, config } = hre;
  let chain;
  try {
    chain = await Etherscan.getCurrentChainConfig(network.name, network.provider, config.etherscan.customChains);
  } catch (error) {
    throw new OperatorError(`no block explorer to verify on for ${network.name}: ${(error as Error).message.split("\n")[0]}`);
  }
  // As Etherscan.fromChainConfig: one API key (the Etherscan v2 API) or a key per explorer (its own API).
  const explorer = new Etherscan(
    "",
    chain.urls.apiURL,
    chain.urls.browserURL.trim().replace(/\/$/, ""),
    typeof config.etherscan.apiKey === "string" ? chain.chainId : undefined,
  );
  const apiUrl = explorer.chainId === undefined ? explorer.apiUrl : `${explorer.apiUrl}?chainid=${explorer.chainId}`;
  const compilerVersions = await getCompilerVersions(config.solidity);
  out(`dry run: nothing is sent; for ${network.name} (chain ${chain.chainId}) these would be posted to ${apiUrl}`);

  const planned: PlannedSubmission[] = [];
  for (const target of targets) {
    const deployed = await Bytecode.getDeployedContractBytecode(target.address, network.provider, network.name).catch((error: Error) => {
      throw new OperatorError(`${target.contract} at ${target.address}: ${error.message.split("\n")[0]}`);
    });
    const matchingCompilerVersions = await deployed.getMatchingVersions(compilerVersions);
    if (matchingCompilerVersions.length === 0) {
      throw new OperatorError(
        `${target.contract} at ${target.address} was compiled with solc ${deployed.getVersion()}, not ${compilerVersions.join(", ")} of this build`,
      );
    }
    let information: ExtendedContractInformation;
    try {
      information = await hre.run(TASK_VERIFY_GET_CONTRACT_INFORMATION, {
        contractFQN: target.contract,
        deployedBytecode: deployed,
        matchingCompilerVersions,
        libraries: {},
      });
    } catch (error) {
      throw new OperatorError(`${target.contract} at ${target.address}: ${(error as Error).message.split("\n")[0]}`);
    }
    const input: CompilerInput = await hre.run(TASK_VERIFY_ETHERSCAN_GET_MINIMAL_INPUT, { sourceName: information.sourceName });
    let constructorArguments: string;
    try {
      constructorArguments = await encodeArguments(
        information.contractOutput.abi,
        information.sourceName,
        information.contractName,
        target.constructorArguments,
      );
    } catch (error) {
      throw new OperatorError(`${target.contract} at ${target.address}: ${(error as Error).message.split("\n")[0]}`);
    }
    const submission: PlannedSubmission = {
      contract: target.contract,
      address: target.address,
      apiUrl,
      contractUrl: explorer.getContractUrl(target.address),
      compilerVersion: `v${information.solcLongVersion}`,
      sourceFiles: Object.keys(input.sources).length,
      sourceBytes: Buffer.byteLength(JSON.stringify(input)),
      constructorArguments: `0x${constructorArguments}`,
    };
    planned.push(submission);
    out(`would verify ${submission.contract} at ${submission.address} (${submission.contractUrl})`);
    out(
      `  its deployed code matches this build; compiler ${submission.compilerVersion}, standard JSON input of ` +
        `${submission.sourceFiles} source files (${submission.sourceBytes.toLocaleString("en-US")} bytes), ` +
        `constructor arguments ${submission.constructorArguments === "0x" ? "none" : submission.constructorArguments}`,
    );
  }
  if (!config.etherscan.apiKey) out("ETHERSCAN_API_KEY is not set: the real run needs it (see .env.example)");
  return planned;
}
