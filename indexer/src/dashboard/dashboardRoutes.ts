import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { BaseError, type Address, type Hex } from "viem";
import { signMessage } from "viem/actions";
import { z } from "zod";
import { ApiError } from "../ledger/apiErrors";
import { endSession, startSession } from "../ledger/dashboardSessions";
import { dashboardAccess, newSignInNonce, signIn } from "../ledger/dashboardSignIn";
import type { GatewayContext } from "../ledger/gatewayContext";
import { SignInRefused, signInMessageText, type SignInExpectations } from "../ledger/signInMessage";
import { DashboardGuard } from "./dashboardGuard";
import { dashboardMoneyRoutes } from "./dashboardMoneyRoutes";
import { dashboardKeyRoutes, type KeyOwnerCache } from "./dashboardKeyRoutes";
import { dashboardOverviewRoutes } from "./dashboardOverviewRoutes";
import { dashboardPaymentRoutes } from "./dashboardPaymentRoutes";
import { dashboardWebhookRoutes } from "./dashboardWebhookRoutes";
import type { EndpointPorts } from "../ledger/webhookEndpoints";
import { signedInPage, signInPage } from "./dashboardPage";
import { browserBundle } from "../web/browserBundle";
import { sendPage, staticAsset } from "../web/pageReplies";
import { DASHBOARD_CSS } from "./dashboardStyle";
import { cookieSecurity } from "./sessionCookie";

/** What the dashboard needs beside the gateway's shared context. */
export interface DashboardOptions {
  /** The API's intent signer: authorised by every merchant, it never signs in (dashboardSignIn.ts). */
  gatewaySigner: Address;
  /** The clock sessions and messages are judged by, and what is cached of the chain aged by; tests move it. */
  now?: () => Date;
  /**
   * The account "Sign in as the demo merchant" signs in as, signed by the node's unlocked key: npm start's local chain
   * only (config.ts refuses it on any other). Without it that route is a 404.
   */
  demoSignIn?: Address;
  /** The API's cached key owners in this process, so that a key revoked in the dashboard stops working at once. */
  keyOwners?: KeyOwnerCache;
}

const signInBody = z.strictObject({
  message: z.string().max(4096),
  // An EOA's is 65 bytes; a smart wallet's (ERC-1271, wrapped for ERC-6492) may be a few kilobytes.
  signature: z
    .string()
    .max(16_384)
    .regex(/^0x[0-9a-fA-F]+$/, "a 0x-prefixed hex signature"),
});

/**
 * The merchant dashboard at /dashboard, served by the API process beside the checkout: the sign-in page, Sign-In with
 * Ethereum (a nonce, then the signed message), and the signed-in page. Every later dashboard route asks the guard
 * (`DashboardGuard.require`) who is signed in, and answers only for that session's merchant. Returns the guard.
 */
export function dashboardRoutes(app: FastifyInstance, context: GatewayContext & EndpointPorts, options: DashboardOptions): DashboardGuard {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const now = options.now ?? (() => new Date());
  const publicUrl = new URL(context.views.publicUrl);
  const expected: SignInExpectations = { domain: publicUrl.host, origin: publicUrl.origin, chainId: context.chainId };
  const secure = cookieSecurity(publicUrl.href);
  // Over plain http to another machine a session cookie could be read on the way: the dashboard does not sign in.
  const insecure =
    secure === undefined ? `The dashboard signs in over https only: PUBLIC_URL (${publicUrl.origin}) is http on a host other than this machine.` : undefined;
  const ports = dashboardAccess({ db: context.db, client: context.client, escrow: context.escrow, gatewaySigner: options.gatewaySigner });
  const guard = new DashboardGuard(context.db, ports, publicUrl.origin, secure ?? true, now);

  const dashboardScript = () => browserBundle(path.join(__dirname, "browser", "dashboard.ts"));
  api.get(
    "/dashboard/assets/dashboard.css",
    { schema: { hide: true } },
    staticAsset("text/css; charset=utf-8", () => DASHBOARD_CSS),
  );
  api.get("/dashboard/assets/dashboard.js", { schema: { hide: true } }, staticAsset("text/javascript; charset=utf-8", dashboardScript));
  // Built now, so that the first merchant does not wait for it; a failure shows on the first request for it.
  dashboardScript().catch(() => undefined);

  api.get("/dashboard", { schema: { hide: true } }, async (request, reply) => {
    const { session, revoked } = await guard.session(request, reply);
    if (session)
      return sendPage(
        reply,
        signedInPage(
          session,
          context.tokens.map((token) => token.symbol),
        ),
      );
    const notice = revoked
      ? `You were signed out: ${revoked.address} is no longer an authorised signer of ${revoked.merchant.name} on the escrow.`
      : guard.presentedId(request)
        ? "Your session ended: sign in again."
        : undefined;
    return sendPage(reply, signInPage({ chainId: context.chainId, notice, problem: insecure, demoSignIn: options.demoSignIn }));
  });

  api.get("/dashboard/sign-in/nonce", { schema: { hide: true } }, async (_request, reply) => {
    if (insecure) throw new ApiError(403, "permission_error", insecure);
    const { nonce, expiresAt } = await newSignInNonce(context.db, now());
    return reply.header("cache-control", "no-store").send({ nonce, expires_at: expiresAt.toISOString(), domain: expected.domain, chain_id: expected.chainId });
  });

  /** Signs in with a signed message and starts the session: the wallet's sign-in and the demo's, by the same rules. */
  async function signInWith(request: FastifyRequest, reply: FastifyReply, signed: { message: string; signature: Hex }) {
    let account;
    try {
      account = await signIn(ports, expected, signed, now());
    } catch (error) {
      if (!(error instanceof SignInRefused)) throw error;
      const type = error.statusCode === 403 ? "permission_error" : error.statusCode === 400 ? "invalid_request_error" : "authentication_error";
      throw new ApiError(error.statusCode, type, error.message, error.field);
    }
    const { id, session } = await startSession(context.db, account, now(), guard.presentedId(request));
    guard.setCookie(reply, id, session.expiresAt);
    return reply.header("cache-control", "no-store").send({
      merchant: { id: account.merchant.id, name: account.merchant.name, address: account.merchant.address },
      address: account.address,
      role: account.role,
    });
  }

  api.post("/dashboard/sign-in", { schema: { hide: true, body: signInBody } }, async (request, reply) => {
    if (insecure) throw new ApiError(403, "permission_error", insecure);
    // Login CSRF: another site must not sign this browser in to an account of its choosing.
    guard.requireOwnOrigin(request);
    return signInWith(request, reply, { message: request.body.message, signature: request.body.signature as Hex });
  });

  // The local chain's one click: the gateway writes the message the page would, has the node sign it with the demo
  // account's unlocked key (personal_sign, as a wallet), and checks it as any wallet's; nothing else differs.
  api.post("/dashboard/sign-in/demo", { schema: { hide: true } }, async (request, reply) => {
    if (insecure) throw new ApiError(403, "permission_error", insecure);
    guard.requireOwnOrigin(request);
    const address = options.demoSignIn;
    if (!address) {
      throw new ApiError(
        404,
        "not_found_error",
        "the one-click demo sign-in is off: npm start offers it on the local chain it starts (DASHBOARD_DEMO_SIGN_IN)",
      );
    }
    const { nonce } = await newSignInNonce(context.db, now());
    const message = signInMessageText({ ...expected, address, nonce, issuedAt: now() });
    let signature: Hex;
    try {
      signature = await signMessage(context.client, { account: address, message });
    } catch (error) {
      // The node's own words ("unknown account"), which viem keeps as the details of its error.
      const why = ((error instanceof BaseError && error.details) || (error as Error).message).split("\n")[0];
      throw new ApiError(503, "api_error", `the local chain's node did not sign as ${address} (${why}): is it the chain npm start runs?`);
    }
    return signInWith(request, reply, { message, signature });
  });

  // Signing out is a change like any other (Origin and CSRF token); a browser whose session ended already is only
  // told to forget its cookie.
  api.post("/dashboard/sign-out", { schema: { hide: true } }, async (request, reply) => {
    guard.requireOwnOrigin(request);
    const id = guard.presentedId(request);
    const { session } = id ? await guard.session(request, reply) : {};
    if (id && session) {
      guard.requireCsrfToken(request, session);
      await endSession(context.db, id);
    }
    guard.clearCookie(reply);
    return reply.code(204).send();
  });

  dashboardPaymentRoutes(app, context, guard);
  dashboardMoneyRoutes(app, context, guard, now);
  dashboardWebhookRoutes(app, context, guard);
  dashboardKeyRoutes(app, context, guard, options.keyOwners);
  dashboardOverviewRoutes(app, context, guard, now);
  return guard;
}
