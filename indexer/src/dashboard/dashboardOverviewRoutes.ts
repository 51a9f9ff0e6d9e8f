import type { FastifyInstance } from "fastify";
import { indexerHealth, merchantOverview } from "../ledger/merchantOverview";
import type { GatewayContext } from "../ledger/gatewayContext";
import type { DashboardGuard } from "./dashboardGuard";
import { overviewContent, overviewJson } from "./overviewSection";

/** The signed-in merchant's overview at `now`: its figures, the indexer's health and the charts (overviewSection.ts). */
export async function overviewOf(context: GatewayContext, merchantId: string, now: Date): Promise<ReturnType<typeof overviewJson>> {
  const [figures, health] = await Promise.all([merchantOverview(context, merchantId, now), indexerHealth(context)]);
  return overviewJson(figures, health, context.tokens);
}

/**
 * "At a glance" of the signed-in merchant only: as JSON, and drawn (the figures' tables, the charts with their text
 * alternatives) for the page's script to put in the section the page sent empty.
 */
export function dashboardOverviewRoutes(app: FastifyInstance, context: GatewayContext, guard: DashboardGuard, now: () => Date): void {
  app.get("/dashboard/api/overview", { schema: { hide: true } }, async (request, reply) => {
    const session = await guard.require(request, reply);
    reply.header("cache-control", "no-store");
    return overviewOf(context, session.merchant.id, now());
  });
  app.get("/dashboard/api/overview.html", { schema: { hide: true } }, async (request, reply) => {
    const session = await guard.require(request, reply);
    const overview = await overviewOf(context, session.merchant.id, now());
    return reply.header("cache-control", "no-store").type("text/html; charset=utf-8").send(overviewContent(overview, context.tokens));
  });
}
