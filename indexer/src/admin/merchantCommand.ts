/**
 * Merchants and their API keys, for the operator: `npm run merchant -- <command>`.
 *
 *   create --name <name> --address <0x…> [--mode test|live] [--key-name <name>]   a merchant and its first key (printed once)
 *   key --merchant <mer_…> [--mode test|live] [--key-name <name>]                another key for a merchant
 *   revoke --key <key_…>                                       a key stops working (at once in running APIs)
 *   list                                                        merchants and their keys' prefixes
 *
 * Reads DATABASE_URL, or DATA_DIR for PGlite, like the other processes. Errors print one line and exit 1.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { getAddress, isAddress } from "viem";
import { openStore } from "../store/database";
import { ApiError } from "../ledger/apiErrors";
import { issueKey, keyName, revokeKey } from "../ledger/apiKeyIssuance";
import { createMerchant } from "../store/merchantStore";

const USAGE = `usage: npm run merchant -- create --name <name> --address <0x…> [--mode test|live] [--key-name <name>]
       npm run merchant -- key --merchant <mer_…> [--mode test|live] [--key-name <name>]
       npm run merchant -- revoke --key <key_…>
       npm run merchant -- list`;

class CommandError extends Error {}

/** The name a key made here has unless --key-name gives one (the dashboard lists keys by name). */
const COMMAND_KEY_NAME = "Made with npm run merchant";

/** Runs a rule of the ledger, its refusal told as the command's option `option`. */
async function asOption<T>(option: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError) throw new CommandError(`${option}: ${error.message.replace(/^\S+: /, "")}`);
    throw error;
  }
}

function mode(value: string | undefined): "test" | "live" {
  if (value === undefined || value === "test" || value === "live") return value ?? "test";
  throw new CommandError(`--mode: test or live, got "${value}"`);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: "string" },
      address: { type: "string" },
      mode: { type: "string" },
      merchant: { type: "string" },
      key: { type: "string" },
      "key-name": { type: "string" },
    },
    strict: true,
  });
  const url = process.env.DATABASE_URL?.trim() || undefined;
  const store = await openStore({ url, dataDir: url ? undefined : process.env.DATA_DIR?.trim() || path.resolve("data/indexer") });
  try {
    switch (command) {
      case "create": {
        if (!values.name?.trim()) throw new CommandError("--name: the merchant's name is required");
        if (!values.address || !isAddress(values.address, { strict: false })) {
          throw new CommandError(`--address: the merchant's address on chain (0x and 40 hex digits), got "${values.address ?? ""}"`);
        }
        // Checked before the merchant is made, so that a refused name leaves nothing half made.
        const named = await asOption("--key-name", async () => keyName(values["key-name"] ?? COMMAND_KEY_NAME));
        const merchant = await createMerchant(store.db, { name: values.name.trim(), address: getAddress(values.address) });
        const key = await issueKey(store.db, merchant.id, mode(values.mode), named);
        console.log(JSON.stringify({ merchant, key: key.key, key_id: key.record.id }, null, 2));
        console.error("The key is shown this once: store it now.");
        return;
      }
      case "key": {
        if (!values.merchant) throw new CommandError("--merchant: the merchant's id (mer_…) is required");
        const exists = await store.db.selectFrom("merchants").select("id").where("id", "=", values.merchant).executeTakeFirst();
        if (!exists) throw new CommandError(`--merchant: no merchant ${values.merchant}`);
        const key = await asOption("--key-name", () => issueKey(store.db, values.merchant!, mode(values.mode), values["key-name"] ?? COMMAND_KEY_NAME));
        console.log(JSON.stringify({ key: key.key, key_id: key.record.id }, null, 2));
        console.error("The key is shown this once: store it now.");
        return;
      }
      case "revoke": {
        if (!values.key) throw new CommandError("--key: the key's id (key_…) is required");
        const keyId = values.key;
        await asOption("--key", () => revokeKey(store.db, keyId));
        console.log(`revoked ${values.key}`);
        return;
      }
      case "list": {
        const rows = await store.db
          .selectFrom("merchants as m")
          .leftJoin("api_keys as k", "k.merchant_id", "m.id")
          .select(["m.id", "m.name", "m.address", "k.id as key_id", "k.name as key_name", "k.prefix", "k.mode", "k.last_used_at", "k.revoked_at"])
          .orderBy("m.created_at")
          .execute();
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      default:
        throw new CommandError(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
    }
  } finally {
    await store.close();
  }
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      `error: ${error instanceof CommandError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? (error as Error).message : String(error)}`,
    );
    process.exit(1);
  },
);
