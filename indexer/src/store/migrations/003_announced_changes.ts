import { sql, type Kysely } from "kysely";

/**
 * A status change announces itself (issue 17: one row per change, not two): its row carries `announcement`, the
 * payment as of the change as the outbox carried it, and the webhook dispatcher claims the changes that still have
 * one, clearing it in the transaction that writes their events, as it deletes outbox rows. The outbox keeps the other
 * announcements (a payment's creation, `balance.withdrawn`).
 *
 * Changes take their `id` from the outbox's sequence, drawn when the row is inserted under its payment's lock as an
 * outbox row's was: one order for both, the order they are announced in. A flag per row rather than a high-water
 * mark: a change whose transaction commits after a later-numbered one is still announced, once. Changes recorded
 * before this version were announced through the outbox, so they have no announcement here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table status_changes add column id bigint not null default nextval('outbox_id_seq')`.execute(db);
  await sql`alter table status_changes add column announcement jsonb`.execute(db);
  await sql`create index status_changes_unannounced on status_changes (id) where announcement is not null`.execute(db);
}
