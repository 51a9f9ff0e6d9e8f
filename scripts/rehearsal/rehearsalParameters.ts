import { writeFileSync } from "node:fs";
import path from "node:path";
import { parametersFileFor, readNetworkParameters, type LiveParameters } from "../../deploy/parameters";
import { addressOf } from "./cast";

/**
 * The mainnet parameters as shipped (deploy/parameters/bsc.json5: tokens, feeds, staleness limits, tolerances, fee,
 * treasury), with the roles an operator fills in before deploying given to the cast's accounts. Written to `dir`
 * for `deploy --parameters`; bsc.json5 itself is only read.
 */
export function writeRehearsalParameters(dir: string): { file: string; shipped: string; parameters: LiveParameters } {
  const shipped = parametersFileFor("bsc");
  const network = readNetworkParameters(shipped);
  if (network.module !== "OpenPay" || network.chainId !== 56) throw new Error(`${shipped} is not the OpenPay module's parameters for chain 56`);
  const roles = {
    admin: addressOf("admin"),
    signerManager: addressOf("signerManager"),
    pauser: addressOf("pauser"),
    operator: addressOf("operator"),
  };
  // Every role is the cast's, even one an operator's copy of the file already names: the rehearsal holds no real key.
  const parameters: LiveParameters = { ...network.parameters, OpenPay: { ...network.parameters.OpenPay, ...roles } };
  const file = path.join(dir, "bsc.rehearsal.json5");
  writeFileSync(
    file,
    `// ${path.basename(shipped)} with its roles given to Hardhat's development accounts, for npm run rehearse only.\n` +
      `${JSON.stringify(parameters, null, 2)}\n`,
  );
  return { file, shipped, parameters };
}
