import { sql, type Kysely } from "kysely";

/**
 * The dashboard's sign-in: the Sign-In with Ethereum nonces the gateway issued, and the merchants' sessions. A
 * session is kept only as the SHA-256 of its id (as API keys are): the database never holds what the cookie holds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("dashboard_nonces")
    .addColumn("nonce", "text", (c) => c.primaryKey())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    // Set once, by the sign-in that used it: a second use is a replay, told apart from a nonce never issued.
    .addColumn("used_at", "timestamptz")
    .execute();
  // Issuing a nonce deletes the long-expired ones.
  await db.schema.createIndex("dashboard_nonces_by_expiry").on("dashboard_nonces").column("expires_at").execute();

  await db.schema
    .createTable("dashboard_sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("merchant_id", "text", (c) => c.notNull().references("merchants.id").onDelete("cascade"))
    // The address that signed in: the merchant's own, or one of its authorised signers on the escrow.
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    // Sent back in a header with every state-changing request (the page has it; another site cannot read it).
    .addColumn("csrf_token", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("renewed_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // Idle expiry, pushed back at each renewal, and the hard end of the sign-in, which no renewal passes.
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("ends_at", "timestamptz", (c) => c.notNull())
    // The id before the last rotation, still accepted for a few seconds: requests a page sent together with the old
    // cookie must not sign the merchant out.
    .addColumn("previous_id_hash", "text", (c) => c.unique())
    .addColumn("previous_expires_at", "timestamptz")
    .execute();
  await db.schema.createIndex("dashboard_sessions_by_merchant").on("dashboard_sessions").column("merchant_id").execute();
}
