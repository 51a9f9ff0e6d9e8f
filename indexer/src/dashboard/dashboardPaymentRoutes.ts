import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { notFound } from "../ledger/apiErrors";
import type { GatewayContext } from "../ledger/gatewayContext";
import { allPayments, listPayments, paymentFilter, paymentListQuery, type ListOwner } from "../ledger/paymentList";
import { eventJson } from "../ledger/webhookEventJson";
import { explorerOf } from "../payments/explorerLinks";
import { paymentIdParams } from "../payments/paymentId";
import { listEvents } from "../store/webhookEventStore";
import type { DashboardGuard } from "./dashboardGuard";
import { CSV_HEADER, csvLines } from "./paymentCsv";

/** The export's filters: the list's (GET /v1/payments), without the page. */
const exportQuery = paymentListQuery.omit({ limit: true, starting_after: true });

/** Rows read per statement while a CSV export streams. */
const EXPORT_PAGE = 500;
/** A payment's page shows this many of its webhook events, newest first (a payment has a handful). */
const EVENTS_SHOWN = 100;

/**
 * The signed-in merchant's payments as JSON for the dashboard's script, and as CSV: the list (the merchant API's own
 * listing, ledger/paymentList.ts), its export, and one payment with its timeline, explorer links and webhook
 * deliveries. A payment of another merchant is a 404, as one that does not exist.
 */
export function dashboardPaymentRoutes(app: FastifyInstance, context: GatewayContext, guard: DashboardGuard): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const explorer = explorerOf(context.chainId);
  const ownerOf = async (...args: Parameters<DashboardGuard["require"]>): Promise<ListOwner> => {
    const session = await guard.require(...args);
    return { merchantId: session.merchant.id, mode: context.mode };
  };

  api.get("/dashboard/api/payments", { schema: { hide: true, querystring: paymentListQuery } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    reply.header("cache-control", "no-store");
    return listPayments(context, owner, request.query);
  });

  // Streamed: each page of rows is read when the response has taken the one before (Readable.from pulls the
  // generator as the socket drains), so an export of any size holds one page.
  api.get("/dashboard/api/payments.csv", { schema: { hide: true, querystring: exportQuery } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const filter = paymentFilter(context, owner, request.query);
    async function* lines() {
      yield CSV_HEADER;
      for await (const page of allPayments(context, filter, EXPORT_PAGE)) yield csvLines(page);
    }
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .header("content-type", "text/csv; charset=utf-8")
      .header("content-disposition", `attachment; filename="payments-${day}.csv"`)
      .header("cache-control", "no-store")
      .send(Readable.from(lines()));
  });

  api.get("/dashboard/api/payments/:id", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const payment = await context.views.one(context.db, request.params.id, owner);
    if (!payment) throw notFound("payment", request.params.id);
    const events = await listEvents(context.db, { ...owner, paymentId: payment.id, limit: EVENTS_SHOWN });
    const transactions = new Set([
      ...payment.transactions,
      ...(payment.history ?? []).flatMap((entry) => entry.transaction_hash ?? []),
      ...payment.refunds.flatMap((refund) => refund.transaction_hash ?? []),
      ...payment.returned_transfers.flatMap((returned) => returned.transaction_hash ?? []),
    ]);
    reply.header("cache-control", "no-store");
    return {
      payment,
      explorer: explorer ? { name: explorer.name } : null,
      transaction_links: Object.fromEntries([...transactions].map((hash) => [hash, explorer ? explorer.transactionUrl(hash) : null])),
      webhook_events: events.map(eventJson),
    };
  });
}
