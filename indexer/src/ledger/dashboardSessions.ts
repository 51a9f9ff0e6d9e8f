import { createHash, randomBytes } from "node:crypto";
import { deleteEndedSessions, deleteSession, findSession, insertSession, rotateSession } from "../store/dashboardSessionStore";
import type { Db } from "../store/paymentStore";
import { stillAuthorised, type DashboardAccount, type SignInPorts } from "./dashboardSignIn";

/** A session ends after this long without a request (short: a dashboard can move money)… */
export const SESSION_IDLE_MS = 30 * 60_000;
/** …and this long after its sign-in, however busy: then the wallet signs again. */
export const SESSION_MAX_MS = 12 * 3600_000;
/** A request this long after the last renewal renews the session, under a new id. */
export const SESSION_RENEW_AFTER_MS = 5 * 60_000;
/** How long the id before a rotation stays good: for the requests a page had in flight with it. */
export const ROTATION_GRACE_MS = 30_000;

/** A signed-in session, as a request finds it. */
export interface DashboardSession extends DashboardAccount {
  /** The header value every state-changing request must carry. */
  csrfToken: string;
  expiresAt: Date;
}

/** The SHA-256 of a session id: what the database keeps (the id is 256 random bits, so no slow hash is needed). */
const hashOf = (id: string) => createHash("sha256").update(id).digest("hex");
const newSecret = () => randomBytes(32).toString("base64url");

/**
 * Starts a session for an account that just signed in: always a new id and CSRF token, never one the browser had
 * before (a session fixed by someone else is never promoted); a session the browser presented is ended. Returns the
 * id for the cookie.
 */
export async function startSession(db: Db, account: DashboardAccount, now: Date, presentedId?: string): Promise<{ id: string; session: DashboardSession }> {
  if (presentedId) await deleteSession(db, hashOf(presentedId));
  await deleteEndedSessions(db, now);
  const id = newSecret();
  const csrfToken = newSecret();
  const endsAt = new Date(now.getTime() + SESSION_MAX_MS);
  const expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, endsAt.getTime()));
  await insertSession(db, {
    idHash: hashOf(id),
    merchantId: account.merchant.id,
    address: account.address,
    role: account.role,
    csrfToken,
    now,
    expiresAt,
    endsAt,
  });
  return { id, session: { ...account, csrfToken, expiresAt } };
}

/** Why a presented session id signs nobody in. */
export type SessionEnd = "none" | "revoked";

/**
 * The session a request's id belongs to, renewed if due: past SESSION_RENEW_AFTER_MS it gets a new id (`newId`,
 * for the cookie) and a new idle expiry, and the old id lingers for ROTATION_GRACE_MS. A signer's session whose
 * authorisation the escrow no longer has is deleted (`ended: "revoked"`).
 */
export async function resumeSession(
  db: Db,
  ports: Pick<SignInPorts, "isSigner">,
  id: string,
  now: Date,
): Promise<{ session: DashboardSession; newId?: string } | { ended: SessionEnd; account?: DashboardAccount }> {
  const stored = await findSession(db, hashOf(id), now);
  if (!stored) return { ended: "none" };
  const account: DashboardAccount = { merchant: stored.merchant, address: stored.address, role: stored.role };
  if (!(await stillAuthorised(ports, account))) {
    await deleteSession(db, stored.idHash);
    return { ended: "revoked", account };
  }
  const session = { ...account, csrfToken: stored.csrfToken, expiresAt: stored.expiresAt };
  if (stored.previous || now.getTime() - stored.renewedAt.getTime() < SESSION_RENEW_AFTER_MS) return { session };
  const newId = newSecret();
  const expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, stored.endsAt.getTime()));
  const rotated = await rotateSession(db, {
    idHash: stored.idHash,
    newIdHash: hashOf(newId),
    renewedAt: stored.renewedAt,
    now,
    expiresAt,
    previousExpiresAt: new Date(now.getTime() + ROTATION_GRACE_MS),
  });
  // Another request rotated it first: this one's id is now the previous one, good for the grace period.
  return rotated ? { session: { ...session, expiresAt }, newId } : { session };
}

/** Signs out: the session of `id` (current or previous) is deleted. */
export async function endSession(db: Db, id: string): Promise<void> {
  await deleteSession(db, hashOf(id));
}
