import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { ApiContext } from "./apiContext";
import { buildMerchantApi } from "./merchantApi";

/** What the API role needs: its context, where to listen, its limits, and the routes of other roles it serves. */
export interface ApiRoleContext {
  context: ApiContext;
  host: string;
  port: number;
  /** Requests per API key per second. */
  rateLimit: number;
  trustedProxies: readonly string[];
  logger: FastifyBaseLogger;
  /** Routes served on the same port (the checkout's, the dashboard's). */
  routes: ReadonlyArray<(app: FastifyInstance) => void>;
}

/**
 * Serves the merchant API; returns what closes it. Throws naming API_PORT when it cannot listen (a port in use).
 */
export async function startApi(role: ApiRoleContext): Promise<() => Promise<void>> {
  const api = await buildMerchantApi(role.context, {
    rateLimit: role.rateLimit,
    rateWindowMs: 1000,
    trustedProxies: role.trustedProxies,
    logger: role.logger,
    routes: role.routes,
  });
  try {
    const address = await api.listen({ host: role.host, port: role.port });
    role.logger.info({ address, publicUrl: role.context.views.publicUrl }, "merchant API listening");
  } catch (error) {
    await api.close();
    throw new Error(`API_PORT: cannot listen on ${role.host}:${role.port}: ${(error as Error).message}`);
  }
  return () => api.close();
}
