import type { Kysely } from "kysely";

/**
 * API keys in the dashboard: a name the merchant gives each key, and when it was last used (written at most once a
 * minute per key, off the request's path: api/keyLastUse.ts). The list reads a merchant's keys by the index.
 * (007 and 008 are other changes'.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("api_keys")
    .addColumn("name", "text", (c) => c.notNull().defaultTo(""))
    .execute();
  await db.schema.alterTable("api_keys").addColumn("last_used_at", "timestamptz").execute();
  await db.schema.createIndex("api_keys_by_merchant").on("api_keys").columns(["merchant_id", "mode", "created_at"]).execute();
}
