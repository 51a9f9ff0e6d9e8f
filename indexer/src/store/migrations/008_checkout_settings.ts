import type { Kysely } from "kysely";

/**
 * Each merchant's checkout settings (GET/PATCH /v1/checkout_settings):
 * - merchants.checkout_frame_origins: JSON array of the origins allowed to frame its checkout pages (the CSP's
 *   `frame-ancestors`; empty: none may);
 * - merchants.site_url: where an expired or failed checkout sends the shopper when the payment has no `cancel_url`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("merchants")
    .addColumn("checkout_frame_origins", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("site_url", "text")
    .execute();
}
