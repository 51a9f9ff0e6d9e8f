import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { KeyOwner } from "../../store/merchantStore";
import { createEndpoint, deleteEndpoint, listEndpoints, rotateEndpointSecret, updateEndpoint, type WebhookEndpoint } from "../../store/webhookEndpointStore";
import { findEvent, listEvents, resendEvent, resendFailedSince } from "../../store/webhookEventStore";
import { eventJson } from "../../ledger/webhookEventJson";
import { checkWebhookUrl } from "../../ledger/webhookAddressPolicy";
import type { ApiContext } from "../apiContext";
import { invalidField, notFound } from "../../ledger/apiErrors";
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
import { decodeCursor, pageOf } from "../../ledger/pageCursor";
import { z } from "zod";

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 429: errorSchema };

function endpointJson(endpoint: WebhookEndpoint, withSecret = false) {
  return {
    object: "webhook_endpoint" as const,
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    event_types: endpoint.eventTypes,
    enabled: endpoint.disabledAt === null,
    disabled_reason: endpoint.disabledReason,
    failing_since: endpoint.failingSince?.toISOString() ?? null,
    created_at: endpoint.createdAt.toISOString(),
    ...(withSecret ? { secret: endpoint.secret } : {}),
  };
}

/** Webhook endpoints (create, list, update, delete, rotate the secret) and the event log (list, resend). */
export function webhookRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const owned = (owner: KeyOwner) => ({ merchantId: owner.merchant.id, mode: owner.mode });
  const checkedUrl = (url: string) => {
    const problem = checkWebhookUrl(url, context.webhookAllowList);
    if (problem) throw invalidField("url", problem);
    return url;
  };

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
      const endpoint = await createEndpoint(context.db, {
        ...owned(owner),
        url: checkedUrl(request.body.url),
        description: request.body.description ?? null,
        eventTypes: request.body.event_types ?? null,
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
      return { object: "list" as const, data: (await listEndpoints(context.db, owned(owner))).map((endpoint) => endpointJson(endpoint)) };
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
      const endpoint = await updateEndpoint(context.db, owned(owner), request.params.id, {
        url: body.url === undefined ? undefined : checkedUrl(body.url),
        description: body.description,
        eventTypes: body.event_types,
        enabled: body.enabled,
      });
      if (!endpoint) throw notFound("webhook endpoint", request.params.id);
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
      if (!(await deleteEndpoint(context.db, owned(owner), request.params.id))) throw notFound("webhook endpoint", request.params.id);
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
      const endpoint = await rotateEndpointSecret(context.db, owned(owner), request.params.id);
      if (!endpoint) throw notFound("webhook endpoint", request.params.id);
      return endpointJson(endpoint, true);
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
      const events = await listEvents(context.db, {
        ...owned(owner),
        type: query.type,
        paymentId: query.payment_id,
        deliveryStatus: query.delivery_status,
        after: query.starting_after ? decodeCursor(query.starting_after) : undefined,
        limit: query.limit + 1,
      });
      return pageOf(
        events,
        query.limit,
        (event) => event,
        (page) => page.map(eventJson),
      );
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
      const event = await findEvent(context.db, owned(owner), request.params.id);
      if (!event) throw notFound("event", request.params.id);
      return eventJson(event);
    },
  );

  api.post(
    "/v1/events/:id/resend",
    {
      schema: {
        tags: ["events"],
        operationId: "resendEvent",
        summary: "Send an event again (same webhook-id), to one endpoint or to every subscribed one",
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
      const event = await findEvent(context.db, owned(owner), request.params.id);
      if (!event) throw notFound("event", request.params.id);
      const deliveries = await resendEvent(context.db, owned(owner), event, request.body?.endpoint_id);
      if (request.body?.endpoint_id && deliveries === 0) throw invalidField("endpoint_id", `no active endpoint ${request.body.endpoint_id}`);
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
      const deliveries = await resendFailedSince(context.db, owned(owner), new Date(request.body.since), request.body.endpoint_id);
      reply.code(202);
      return { object: "resend" as const, deliveries };
    },
  );
}
