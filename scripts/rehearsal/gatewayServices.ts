import { CONFIG_VARIABLES, ROLES } from "../../indexer/src/config";
import { freePort } from "../stack/portAvailability";
import { startServices, type ServicesProcess, type ServicesReady } from "../stack/servicesProcess";
import type { StackFolder } from "../stack/stackFolder";
import { keyOf } from "./cast";

/** How fast the rehearsal's gateway looks at the chain: settings every deployment may choose (docs/indexer.md). */
const QUICK_SETTINGS = {
  POLL_INTERVAL_MS: "100",
  KEEPER_INTERVAL_MS: "200",
};

/**
 * The whole gateway — the Open Pay process with every role: indexer and keeper, merchant API with the hosted
 * checkout, webhook worker — as on a server against BSC, but on PGlite in the rehearsal's folder and the rehearsal
 * chain. Its environment is built from nothing but these settings, so that nothing of the developer's (a .env, a
 * DATABASE_URL) takes part; confirmations and finality are the shipped defaults.
 */
export async function startGateway({
  rpcUrl,
  folder,
  notice,
}: {
  rpcUrl: string;
  folder: StackFolder;
  notice: (line: string) => void;
}): Promise<{ services: ServicesProcess; ready: ServicesReady; apiUrl: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete env[name];
  for (const name of ["HARDHAT_NETWORK", "BSC_RPC_URL", "DEPLOYER_PRIVATE_KEY", "MERCHANT_PRIVATE_KEY", "ETHERSCAN_API_KEY"]) delete env[name];
  const apiPort = await freePort("127.0.0.1");
  Object.assign(env, {
    ...QUICK_SETTINGS,
    ROLES: ROLES.join(","),
    RPC_URLS: rpcUrl,
    DATA_DIR: folder.database,
    OPENPAY_DEPLOYMENTS_DIR: folder.deployments,
    OPERATOR_PRIVATE_KEY: keyOf("operator"),
    INTENT_SIGNER_PRIVATE_KEY: keyOf("intentSigner"),
    API_HOST: "127.0.0.1",
    API_PORT: String(apiPort),
    STATUS_PORT: String(await freePort("127.0.0.1")),
    LOG_LEVEL: "info",
  });
  const services = startServices({ env, logFile: folder.log, notice });
  const ready = await services.ready;
  return { services, ready, apiUrl: `http://127.0.0.1:${apiPort}` };
}
