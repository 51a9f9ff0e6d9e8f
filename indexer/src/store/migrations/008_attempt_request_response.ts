import type { Kysely } from "kysely";

/**
 * What the dashboard shows of each delivery attempt beside its status (docs/dashboard.md, "Webhooks"): the
 * `webhook-signature` header sent (HMACs, no secret: the merchant compares it with what their endpoint computed) and
 * the start of the response's body, a success's too. `webhook-id` is the event's id and `webhook-timestamp` the
 * attempt's start in seconds, so neither needs a column. Null on attempts logged before this version. (007 is
 * another change's.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("webhook_attempts").addColumn("signature", "text").addColumn("response_excerpt", "text").execute();
}
