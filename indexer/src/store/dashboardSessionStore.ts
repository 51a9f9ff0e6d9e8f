import type { Address } from "viem";
import type { Merchant } from "./merchantStore";
import type { Db } from "./paymentStore";

/** How long an expired nonce is kept before a new one's issue deletes it (a replay of it then reads as unknown). */
const EXPIRED_NONCES_KEPT_MS = 24 * 3600_000;

/** Records a nonce the dashboard issued; deletes those expired long ago, so that the table stays small. */
export async function issueNonce(db: Db, nonce: string, expiresAt: Date, now: Date): Promise<void> {
  await db
    .deleteFrom("dashboard_nonces")
    .where("expires_at", "<", new Date(now.getTime() - EXPIRED_NONCES_KEPT_MS))
    .execute();
  await db.insertInto("dashboard_nonces").values({ nonce, expires_at: expiresAt }).execute();
}

/** What using a nonce came to: it was good (and is now spent), or why not. */
export type NonceUse = "ok" | "unknown" | "used" | "expired";

/**
 * Spends a nonce. One UPDATE marks it used, so that of two sign-ins racing with the same message exactly one sees
 * it unused: the row lock makes the other wait and then find `used_at` set.
 */
export async function useNonce(db: Db, nonce: string, now: Date): Promise<NonceUse> {
  const spent = await db
    .updateTable("dashboard_nonces")
    .set({ used_at: now })
    .where("nonce", "=", nonce)
    .where("used_at", "is", null)
    .returning("expires_at")
    .executeTakeFirst();
  if (spent) return new Date(spent.expires_at).getTime() > now.getTime() ? "ok" : "expired";
  const known = await db.selectFrom("dashboard_nonces").select("nonce").where("nonce", "=", nonce).executeTakeFirst();
  return known ? "used" : "unknown";
}

/** A session as stored: by its id's hash, with the merchant it belongs to. */
export interface StoredSession {
  idHash: string;
  merchant: Merchant;
  address: Address;
  role: "merchant" | "signer";
  csrfToken: string;
  renewedAt: Date;
  expiresAt: Date;
  endsAt: Date;
  /** Whether the hash looked up was the id before the last rotation (still in its grace period). */
  previous: boolean;
}

export async function insertSession(
  db: Db,
  session: { idHash: string; merchantId: string; address: Address; role: "merchant" | "signer"; csrfToken: string; now: Date; expiresAt: Date; endsAt: Date },
): Promise<void> {
  await db
    .insertInto("dashboard_sessions")
    .values({
      id_hash: session.idHash,
      merchant_id: session.merchantId,
      address: session.address,
      role: session.role,
      csrf_token: session.csrfToken,
      created_at: session.now,
      renewed_at: session.now,
      expires_at: session.expiresAt,
      ends_at: session.endsAt,
    })
    .execute();
}

/** The live session whose id (or, within its grace period, whose previous id) hashes to `idHash`. */
export async function findSession(db: Db, idHash: string, now: Date): Promise<StoredSession | undefined> {
  const row = await db
    .selectFrom("dashboard_sessions as s")
    .innerJoin("merchants as m", "m.id", "s.merchant_id")
    .select([
      "s.id_hash",
      "s.address",
      "s.role",
      "s.csrf_token",
      "s.renewed_at",
      "s.expires_at",
      "s.ends_at",
      "m.id",
      "m.name",
      "m.address as merchant_address",
    ])
    .where((eb) =>
      eb.and([
        eb("s.ends_at", ">", now),
        eb.or([
          eb.and([eb("s.id_hash", "=", idHash), eb("s.expires_at", ">", now)]),
          eb.and([eb("s.previous_id_hash", "=", idHash), eb("s.previous_expires_at", ">", now)]),
        ]),
      ]),
    )
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    idHash: row.id_hash,
    merchant: { id: row.id, name: row.name, address: row.merchant_address as Address },
    address: row.address as Address,
    role: row.role,
    csrfToken: row.csrf_token,
    renewedAt: new Date(row.renewed_at),
    expiresAt: new Date(row.expires_at),
    endsAt: new Date(row.ends_at),
    previous: row.id_hash !== idHash,
  };
}

/**
 * Gives a session a new id: the old one stays valid until `previousExpiresAt`. Only if it was last renewed at
 * `renewedAt`: of two requests renewing together, one does it, and false tells the other.
 */
export async function rotateSession(
  db: Db,
  rotation: { idHash: string; newIdHash: string; renewedAt: Date; now: Date; expiresAt: Date; previousExpiresAt: Date },
): Promise<boolean> {
  const result = await db
    .updateTable("dashboard_sessions")
    .set((eb) => ({
      previous_id_hash: eb.ref("id_hash"),
      previous_expires_at: rotation.previousExpiresAt,
      id_hash: rotation.newIdHash,
      renewed_at: rotation.now,
      expires_at: rotation.expiresAt,
    }))
    .where("id_hash", "=", rotation.idHash)
    .where("renewed_at", "=", rotation.renewedAt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Ends the session whose id, or previous id, hashes to `idHash`. */
export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db
    .deleteFrom("dashboard_sessions")
    .where((eb) => eb.or([eb("id_hash", "=", idHash), eb("previous_id_hash", "=", idHash)]))
    .execute();
}

/** Deletes the sessions that can no longer be used. */
export async function deleteEndedSessions(db: Db, now: Date): Promise<void> {
  await db
    .deleteFrom("dashboard_sessions")
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb("ends_at", "<=", now)]))
    .execute();
}
