import type { Address } from "viem";
import { openStore } from "../../indexer/src/store/database";
import { createApiKey, createMerchant, type Merchant } from "../../indexer/src/store/merchantStore";
import { freshDatabase } from "./databaseTemplate";

export const DEMO_MERCHANT_NAME = "Demo shop";

/**
 * Creates the local stack's database in `dataDir` (PGlite, migrated: a copy of the template) with the deployment's
 * demo merchant and a test API key, before the services open it: PGlite's data belongs to one process at a time.
 */
export async function createDemoMerchant(dataDir: string, address: Address): Promise<{ merchant: Merchant; key: string }> {
  await freshDatabase(dataDir);
  const store = await openStore({ dataDir });
  try {
    const merchant = await createMerchant(store.db, { name: DEMO_MERCHANT_NAME, address });
    const { key } = await createApiKey(store.db, merchant.id, "test");
    return { merchant, key };
  } finally {
    await store.close();
  }
}
