import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { KeyOwner } from "../../store/merchantStore";
import { eventJson } from "../../ledger/webhookEventJson";
import { addEndpoint, changeEndpoint, endpointJson, endpointsOf, removeEndpoint, rotateSecret } from "../../ledger/webhookEndpoints";
import { resendFailedEvents, resendLoggedEvent } from "../../ledger/webhookResends";
import { sendTestEvent } from "../../ledger/webhookTestEvent";
import type { ApiContext } from "../apiContext";
import {
  createEndpointBody,
  deletedEndpointSchema,
  endpointIdParams,
  endpointListSchema,
  endpointSchema,
  errorSchema,
  eventIdParams,
  eventListSchema,
  eventSchema,
  listEventsQuery,
  resendFailedBody,
  resendSchema,
  updateEndpointBody,
} from "../apiSchemas";
import { eventLogPage, loggedEvent } from "../../ledger/webhookEventLog";
import { z } from "zod";

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 429: errorSchema };

/**
 * Webhook endpoints (create, list, update, delete, rotate the secret, send a test event) and the event log (list,
 * resend), through the application layer the dashboard uses too (ledger/webhookEndpoints.ts, webhookResends.ts).
 */
export function webhookRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const owned = (owner: KeyOwner) => ({ merchantId: owner.merchant.id, mode: owner.mode });

  api.post(
    "/v1/webhook_endpoints",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "createWebhookEndpoint",
        summary: "Create a webhook endpoint",
        description: "Returns the endpoint with its `whsec_` signing secret, shown this once.",
        body: createEndpointBody,
        response: { 201: endpointSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const endpoint = await addEndpoint(context, owned(owner), {
        url: request.body.url,
        description: request.body.description,
        eventTypes: request.body.event_types,
      });
      reply.code(201);
      return endpointJson(endpoint, true);
    },
  );

  api.get(
    "/v1/webhook_endpoints",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "listWebhookEndpoints",
        summary: "List webhook endpoints",
        response: { 200: endpointListSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      return { object: "list" as const, data: (await endpointsOf(context, owned(owner))).map((endpoint) => endpointJson(endpoint)) };
    },
  );

  api.patch(
    "/v1/webhook_endpoints/:id",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "updateWebhookEndpoint",
        summary: "Update a webhook endpoint: URL, description, event types, or enable it again",
        params: endpointIdParams,
        body: updateEndpointBody,
        response: { 200: endpointSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      const body = request.body;
      const endpoint = await changeEndpoint(context, owned(owner), request.params.id, {
        url: body.url,
        description: body.description,
        eventTypes: body.event_types,
        enabled: body.enabled,
      });
      return endpointJson(endpoint);
    },
  );

  api.delete(
    "/v1/webhook_endpoints/:id",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "deleteWebhookEndpoint",
        summary: "Delete a webhook endpoint",
        params: endpointIdParams,
        response: { 200: deletedEndpointSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      await removeEndpoint(context, owned(owner), request.params.id);
      return { object: "webhook_endpoint" as const, id: request.params.id, deleted: true as const };
    },
  );

  api.post(
    "/v1/webhook_endpoints/:id/rotate_secret",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "rotateWebhookEndpointSecret",
        summary: "Rotate an endpoint's signing secret",
        description: "Returns the new secret once; for 24 hours deliveries carry signatures of both secrets.",
        params: endpointIdParams,
        response: { 200: endpointSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      return endpointJson(await rotateSecret(context, owned(owner), request.params.id), true);
    },
  );

  api.post(
    "/v1/webhook_endpoints/:id/test",
    {
      schema: {
        tags: ["webhooks"],
        operationId: "sendTestWebhookEvent",
        summary: "Send a test event to an endpoint",
        description:
          "Queues a `webhook.test` event for this endpoint only, signed and retried as every event is, and returns it as logged " +
          '(follow its delivery with GET /v1/events/{id}). Its data is `{ object: "webhook_test", endpoint_id, message }`: ' +
          "nothing happened, take no action. A disabled endpoint is refused (409).",
        params: endpointIdParams,
        response: { 202: eventSchema, ...errors, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const event = await sendTestEvent(context, owned(owner), request.params.id);
      reply.code(202);
      return eventJson(event);
    },
  );

  api.get(
    "/v1/events",
    {
      schema: {
        tags: ["events"],
        operationId: "listEvents",
        summary: "List events, newest first, with their delivery attempts",
        querystring: listEventsQuery,
        response: { 200: eventListSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      const query = request.query;
      return eventLogPage(context.db, owned(owner), {
        type: query.type,
        paymentId: query.payment_id,
        deliveryStatus: query.delivery_status,
        startingAfter: query.starting_after,
        limit: query.limit,
      });
    },
  );

  api.get(
    "/v1/events/:id",
    {
      schema: {
        tags: ["events"],
        operationId: "getEvent",
        summary: "Retrieve an event with its delivery attempts",
        params: eventIdParams,
        response: { 200: eventSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      return loggedEvent(context.db, owned(owner), request.params.id);
    },
  );

  api.post(
    "/v1/events/:id/resend",
    {
      schema: {
        tags: ["events"],
        operationId: "resendEvent",
        summary: "Send an event again (same webhook-id), to one endpoint or to every subscribed one (a test event: to its endpoint only)",
        params: eventIdParams,
        body: z
          .strictObject({
            endpoint_id: z
              .string()
              .regex(/^we_[0-9a-f]{16}$/, "must be a webhook endpoint id (we_…)")
              .optional(),
          })
          .optional(),
        response: { 202: resendSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const deliveries = await resendLoggedEvent(context.db, owned(owner), request.params.id, request.body?.endpoint_id);
      reply.code(202);
      return { object: "resend" as const, deliveries };
    },
  );

  api.post(
    "/v1/events/resend_failed",
    {
      schema: {
        tags: ["events"],
        operationId: "resendFailedEvents",
        summary: "Send again every event since a time whose delivery failed",
        body: resendFailedBody,
        response: { 202: resendSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const deliveries = await resendFailedEvents(context.db, owned(owner), new Date(request.body.since), request.body.endpoint_id);
      reply.code(202);
      return { object: "resend" as const, deliveries };
    },
  );
}
