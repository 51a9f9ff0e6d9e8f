import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { GatewayContext } from "../ledger/gatewayContext";
import {
  addEndpoint,
  changeEndpoint,
  createEndpointBody,
  endpointIdParams,
  endpointJson,
  endpointsOf,
  rotateSecret,
  updateEndpointBody,
  type EndpointOwner,
  type EndpointPorts,
} from "../ledger/webhookEndpoints";
import { eventLogPage, loggedEvent } from "../ledger/webhookEventLog";
import { eventJson } from "../ledger/webhookEventJson";
import { eventIdParams, resendFailedBody, resendFailedEvents, resendLoggedEvent } from "../ledger/webhookResends";
import { sendTestEvent } from "../ledger/webhookTestEvent";
import type { DashboardGuard } from "./dashboardGuard";

/** The delivery log's page: newest first, by cursor. */
const eventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(200).optional(),
});

const resendBody = z.strictObject({ endpoint_id: endpointIdParams.shape.id.optional() });

/**
 * The signed-in merchant's webhooks as JSON for the dashboard's script: the endpoints (create, edit, disable or
 * enable, rotate the secret, send a test event) and the delivery log (a page of events with every delivery and
 * attempt, one event, resend one, resend every failed one since a time). Each calls the function the merchant API's
 * route calls (api/routes/webhookRoutes.ts), with the same request schemas; a secret is in the answer to a creation or
 * a rotation only. Another merchant's endpoint or event is a 404, as one that does not exist.
 */
export function dashboardWebhookRoutes(app: FastifyInstance, context: GatewayContext & EndpointPorts, guard: DashboardGuard): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ownerOf = async (...args: Parameters<DashboardGuard["require"]>): Promise<EndpointOwner> => {
    const session = await guard.require(...args);
    args[1].header("cache-control", "no-store");
    return { merchantId: session.merchant.id, mode: context.mode };
  };

  api.get("/dashboard/api/webhook_endpoints", { schema: { hide: true } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    return { object: "list" as const, data: (await endpointsOf(context, owner)).map((endpoint) => endpointJson(endpoint)) };
  });

  api.post("/dashboard/api/webhook_endpoints", { schema: { hide: true, body: createEndpointBody } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const { url, description, event_types } = request.body;
    const endpoint = await addEndpoint(context, owner, { url, description, eventTypes: event_types });
    return reply.code(201).send(endpointJson(endpoint, true));
  });

  api.patch("/dashboard/api/webhook_endpoints/:id", { schema: { hide: true, params: endpointIdParams, body: updateEndpointBody } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const { url, description, event_types, enabled } = request.body;
    return endpointJson(await changeEndpoint(context, owner, request.params.id, { url, description, eventTypes: event_types, enabled }));
  });

  api.post("/dashboard/api/webhook_endpoints/:id/rotate_secret", { schema: { hide: true, params: endpointIdParams } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    return endpointJson(await rotateSecret(context, owner, request.params.id), true);
  });

  api.post("/dashboard/api/webhook_endpoints/:id/test", { schema: { hide: true, params: endpointIdParams } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    return reply.code(202).send(eventJson(await sendTestEvent(context, owner, request.params.id)));
  });

  api.get("/dashboard/api/webhook_events", { schema: { hide: true, querystring: eventsQuery } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    return eventLogPage(context.db, owner, { startingAfter: request.query.starting_after, limit: request.query.limit });
  });

  api.get("/dashboard/api/webhook_events/:id", { schema: { hide: true, params: eventIdParams } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    return loggedEvent(context.db, owner, request.params.id);
  });

  api.post("/dashboard/api/webhook_events/:id/resend", { schema: { hide: true, params: eventIdParams, body: resendBody } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const deliveries = await resendLoggedEvent(context.db, owner, request.params.id, request.body.endpoint_id);
    return reply.code(202).send({ object: "resend", deliveries });
  });

  api.post("/dashboard/api/webhook_events/resend_failed", { schema: { hide: true, body: resendFailedBody } }, async (request, reply) => {
    const owner = await ownerOf(request, reply);
    const deliveries = await resendFailedEvents(context.db, owner, new Date(request.body.since), request.body.endpoint_id);
    return reply.code(202).send({ object: "resend", deliveries });
  });
}
