import { Migrator, type Kysely, type Migration, type MigrationProvider } from "kysely";
import * as initial from "./migrations/001_initial";
import * as keeper from "./migrations/002_keeper";
import * as merchantApi from "./migrations/003_merchant_api";
import * as keeperReorgs from "./migrations/004_keeper_reorgs";
import * as transferTimestamps from "./migrations/005_transfer_timestamps";
import * as paymentTruth from "./migrations/006_payment_truth";
import * as acceptedTokens from "./migrations/007_accepted_tokens";
import * as checkoutSettings from "./migrations/008_checkout_settings";
import * as moneyVisibility from "./migrations/009_money_visibility";
import * as merchantBalances from "./migrations/010_merchant_balances";

/** The schema's versions in order. Listed here rather than read from a folder so that bundles and ts-node agree. */
const MIGRATIONS: Record<string, Migration> = {
  "001_initial": initial,
  "002_keeper": keeper,
  "003_merchant_api": merchantApi,
  "004_keeper_reorgs": keeperReorgs,
  "005_transfer_timestamps": transferTimestamps,
  "006_payment_truth": paymentTruth,
  "007_accepted_tokens": acceptedTokens,
  "008_checkout_settings": checkoutSettings,
  "009_money_visibility": moneyVisibility,
  "010_merchant_balances": merchantBalances,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Brings the schema up to the latest version; throws naming the migration that failed. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((result) => result.status === "Error");
  if (error) throw new Error(`migration ${failed?.migrationName ?? "(unknown)"} failed: ${(error as Error).message ?? error}`);
  return (results ?? []).filter((result) => result.status === "Success").map((result) => result.migrationName);
}
