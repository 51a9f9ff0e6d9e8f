/**
 * `npm start`: Open Pay in one command. Without a chain to run against, everything on this machine from nothing — a
 * local Hardhat chain, the contracts deployed with mock tokens and feeds, the indexer and keeper, the merchant API
 * with the hosted checkout and the webhook worker, a demo merchant with a test API key — fresh at every start. With
 * RPC_URL (BSC), the same services against that chain, its deployment record and DATABASE_URL.
 * `npm start -- --help` lists the options and variables; docs/local-stack.md tells the rest.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { REPOSITORY } from "./stack/repository";
import { runCommand } from "./stack/startError";
import { readStartSettings, startHelp } from "./stack/startOptions";

async function main(): Promise<number> {
  // Settings come from the environment or an untracked .env, as for every Open Pay command (.env.example).
  const envFile = path.join(REPOSITORY, ".env");
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const settings = readStartSettings(process.argv.slice(2), process.env);
  if (settings.help) {
    console.log(startHelp());
    return 0;
  }
  if (settings.rpcUrls) {
    const { runAgainstChain } = await import("./stack/chainStack");
    return runAgainstChain(settings);
  }
  const { runLocalStack } = await import("./stack/localStack");
  return runLocalStack(settings);
}

runCommand(main);
