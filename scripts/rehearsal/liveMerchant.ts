import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Address } from "viem";
import { CONFIG_VARIABLES } from "../../indexer/src/config";
import type { Merchant } from "../../indexer/src/store/merchantStore";
import { programArguments } from "../stack/programArguments";
import { REPOSITORY } from "../stack/repository";

export const REHEARSAL_MERCHANT_NAME = "Rehearsal shop";

/**
 * The merchant in the gateway's database with a live API key, made as an operator makes it for mainnet —
 * `npm run merchant -- create --name … --address … --mode live` (chain 56 is where the API takes only live keys) —
 * on PGlite in `dataDir`, before the services open it. A process of its own: PGlite's first start takes a while,
 * and so it runs beside the rehearsal's own work.
 */
export async function createLiveMerchant(dataDir: string, address: Address): Promise<{ merchant: Merchant; key: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete env[name];
  env.DATA_DIR = dataDir;
  const args = [...programArguments("indexer/src/admin/merchantCommand"), "create", "--name", REHEARSAL_MERCHANT_NAME, "--address", address, "--mode", "live"];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, args, { cwd: REPOSITORY, env, timeout: 120_000 }));
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`npm run merchant -- create --mode live failed: ${stderr?.trim() || (error as Error).message}`);
  }
  const created = JSON.parse(stdout) as { merchant: Merchant; key: string };
  if (!created.key?.startsWith("op_live_")) throw new Error(`npm run merchant -- create --mode live printed no live key: ${stdout}`);
  return { merchant: created.merchant, key: created.key };
}
