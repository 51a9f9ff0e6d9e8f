import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../ledger/apiErrors";
import type { DashboardAccount, SignInPorts } from "../ledger/dashboardSignIn";
import { resumeSession, type DashboardSession } from "../ledger/dashboardSessions";
import type { Db } from "../store/paymentStore";
import { clearedSessionCookie, cookieValue, SESSION_COOKIE, sessionCookie } from "./sessionCookie";

/** The header a signed-in page's script sends its session's CSRF token in. */
export const CSRF_HEADER = "x-openpay-csrf";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Who a dashboard request is signed in as. Every dashboard route after sign-in asks `require`: it finds the session
 * of the request's cookie (renewing it under a new id when due, and sending the new cookie), ends a revoked signer's,
 * and for a state-changing request checks that it came from the dashboard's own page: its Origin is the gateway's,
 * and it carries the session's CSRF token. The SameSite=Strict cookie already stays home in current browsers; the
 * token and Origin hold where a browser or a proxy does not keep that promise.
 */
export class DashboardGuard {
  constructor(
    private readonly db: Db,
    private readonly ports: Pick<SignInPorts, "isSigner">,
    private readonly origin: string,
    /** Whether the cookie is Secure (cookieSecurity). */
    private readonly secure: boolean,
    private readonly now: () => Date,
  ) {}

  /** The session id the request presents, if any. */
  presentedId(request: FastifyRequest): string | undefined {
    return cookieValue(request.headers.cookie, SESSION_COOKIE);
  }

  /** Sets the session cookie of `id` on the reply, for the session's life. */
  setCookie(reply: FastifyReply, id: string, expiresAt: Date): void {
    reply.header("set-cookie", sessionCookie(id, { secure: this.secure, maxAgeSeconds: (expiresAt.getTime() - this.now().getTime()) / 1000 }));
  }

  clearCookie(reply: FastifyReply): void {
    reply.header("set-cookie", clearedSessionCookie({ secure: this.secure }));
  }

  /** Refuses a state-changing request whose Origin is not the gateway's own (another site's, or none). */
  requireOwnOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (origin !== this.origin) {
      throw new ApiError(
        403,
        "permission_error",
        `Origin: the dashboard takes changes only from its own pages (${this.origin}), not from ${origin ? origin : "a request without an Origin header"}`,
        "Origin",
      );
    }
  }

  /**
   * The request's session, or why it has none: `ended` names a signer whose authorisation was revoked. A cookie
   * that signs nobody in is cleared.
   */
  async session(request: FastifyRequest, reply: FastifyReply): Promise<{ session?: DashboardSession; revoked?: DashboardAccount }> {
    const id = this.presentedId(request);
    if (!id) return {};
    const found = await resumeSession(this.db, this.ports, id, this.now());
    if ("ended" in found) {
      this.clearCookie(reply);
      return found.ended === "revoked" ? { revoked: found.account } : {};
    }
    if (found.newId) this.setCookie(reply, found.newId, found.session.expiresAt);
    return { session: found.session };
  }

  /** The request's session; 401 without one, 403 for a state-changing request from elsewhere or without the token. */
  async require(request: FastifyRequest, reply: FastifyReply): Promise<DashboardSession> {
    const unsafe = !SAFE_METHODS.has(request.method);
    if (unsafe) this.requireOwnOrigin(request);
    const { session, revoked } = await this.session(request, reply);
    if (!session) {
      throw new ApiError(
        401,
        "authentication_error",
        revoked
          ? `signed out: ${revoked.address} is no longer an authorised signer of ${revoked.merchant.name} on the escrow`
          : "not signed in to the dashboard (or the session ended): sign in at /dashboard",
      );
    }
    if (unsafe) this.requireCsrfToken(request, session);
    return session;
  }

  /** Refuses a request that does not carry the session's CSRF token. */
  requireCsrfToken(request: FastifyRequest, session: DashboardSession): void {
    const token = request.headers[CSRF_HEADER];
    if (typeof token !== "string" || !sameToken(token, session.csrfToken)) {
      throw new ApiError(403, "permission_error", `${CSRF_HEADER}: missing or not this session's CSRF token; reload the dashboard`, CSRF_HEADER);
    }
  }
}
