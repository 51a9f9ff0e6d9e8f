import { Migrator, type Kysely, type Migration, type MigrationProvider } from "kysely";
import * as initial from "./migrations/001_initial";
import * as ledgerWithoutDeposits from "./migrations/002_ledger_without_deposits";
import * as announcedChanges from "./migrations/003_announced_changes";
import * as dashboardSignIn from "./migrations/004_dashboard_sign_in";
import * as paymentsByExpiry from "./migrations/005_payments_by_expiry";
import * as paymentSearch from "./migrations/006_payment_search";
import * as paymentsListed from "./migrations/007_payments_listed";
import * as attemptRequestResponse from "./migrations/008_attempt_request_response";
import * as apiKeyNames from "./migrations/009_api_key_names";
import * as paymentsListedWithToken from "./migrations/010_payments_listed_with_token";

/**
 * The schema's versions in order. Listed here rather than read from a folder so that bundles and ts-node agree.
 * A change to a deployed schema adds a version, never edits one.
 */
const MIGRATIONS: Record<string, Migration> = {
  "001_initial": initial,
  "002_ledger_without_deposits": ledgerWithoutDeposits,
  "003_announced_changes": announcedChanges,
  "004_dashboard_sign_in": dashboardSignIn,
  "005_payments_by_expiry": paymentsByExpiry,
  "006_payment_search": paymentSearch,
  "007_payments_listed": paymentsListed,
  "008_attempt_request_response": attemptRequestResponse,
  "009_api_key_names": apiKeyNames,
  "010_payments_listed_with_token": paymentsListedWithToken,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Brings the schema up to the latest version; throws naming the migration that failed. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((result) => result.status === "Error");
  if (error) throw new Error(`migration ${failed?.migrationName ?? "(unknown)"} failed: ${(error as Error).message ?? error}`);
  return (results ?? []).filter((result) => result.status === "Success").map((result) => result.migrationName);
}
