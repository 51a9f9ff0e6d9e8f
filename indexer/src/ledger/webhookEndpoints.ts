import { z } from "zod";
import type { Mode } from "../payments/paymentResource";
import { WEBHOOK_EVENT_TYPES } from "../payments/webhookEventTypes";
import { httpUrl, text } from "./fieldSchemas";
import type { WebhookEventType } from "../payments/webhookEventTypes";
import type { Db } from "../store/paymentStore";
import {
  createEndpoint,
  deleteEndpoint,
  listEndpoints,
  rotateEndpointSecret,
  updateEndpoint,
  type EndpointChanges,
  type WebhookEndpoint,
} from "../store/webhookEndpointStore";
import { invalidField, notFound } from "./apiErrors";
import { checkWebhookUrl, type AllowList } from "./webhookAddressPolicy";

/** Whose endpoints: a merchant's, in one mode. */
export type EndpointOwner = { merchantId: string; mode: Mode };

/** What managing endpoints needs: the database, and the private ranges URLs may reach (WEBHOOK_ALLOWED_CIDRS). */
export interface EndpointPorts {
  db: Db;
  webhookAllowList: AllowList;
}

/**
 * A merchant's webhook endpoints as the API (api/routes/webhookRoutes.ts) and the dashboard manage them, by the same
 * rules: a URL the address policy refuses is a 400 naming `url`, an endpoint of another merchant a 404. The secret is
 * in the JSON only when asked for: the answers to a creation and a rotation, never again.
 */
export function endpointJson(endpoint: WebhookEndpoint, withSecret = false) {
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

function checkedUrl(ports: EndpointPorts, url: string): string {
  const problem = checkWebhookUrl(url, ports.webhookAllowList);
  if (problem) throw invalidField("url", problem);
  return url;
}

export function endpointsOf(ports: EndpointPorts, owner: EndpointOwner): Promise<WebhookEndpoint[]> {
  return listEndpoints(ports.db, owner);
}

export function addEndpoint(
  ports: EndpointPorts,
  owner: EndpointOwner,
  input: { url: string; description?: string | null; eventTypes?: WebhookEventType[] | null },
): Promise<WebhookEndpoint> {
  return createEndpoint(ports.db, {
    ...owner,
    url: checkedUrl(ports, input.url),
    description: input.description ?? null,
    eventTypes: input.eventTypes ?? null,
  });
}

/** Changes an endpoint's URL, description, event types, or disables or enables it. */
export async function changeEndpoint(ports: EndpointPorts, owner: EndpointOwner, id: string, changes: EndpointChanges): Promise<WebhookEndpoint> {
  const endpoint = await updateEndpoint(ports.db, owner, id, { ...changes, url: changes.url === undefined ? undefined : checkedUrl(ports, changes.url) });
  if (!endpoint) throw notFound("webhook endpoint", id);
  return endpoint;
}

/** A new secret, which the caller shows once; the old one signs beside it for a day (webhookEndpointStore). */
export async function rotateSecret(ports: EndpointPorts, owner: EndpointOwner, id: string): Promise<WebhookEndpoint> {
  const endpoint = await rotateEndpointSecret(ports.db, owner, id);
  if (!endpoint) throw notFound("webhook endpoint", id);
  return endpoint;
}

export async function removeEndpoint(ports: EndpointPorts, owner: EndpointOwner, id: string): Promise<void> {
  if (!(await deleteEndpoint(ports.db, owner, id))) throw notFound("webhook endpoint", id);
}

/** A webhook event type an endpoint can ask for. */
export const eventType = z.enum(WEBHOOK_EVENT_TYPES);

/** The bodies and ids of endpoint requests, the API's and the dashboard's. */
export const createEndpointBody = z.strictObject({
  url: httpUrl,
  description: text(500).optional(),
  event_types: z.array(eventType).min(1).optional().describe("Event types to send (default: all)."),
});

export const updateEndpointBody = z.strictObject({
  url: httpUrl.optional(),
  description: text(500).nullable().optional(),
  event_types: z.array(eventType).min(1).nullable().optional(),
  enabled: z.boolean().optional().describe("true re-enables a disabled endpoint."),
});

export const endpointIdParams = z.strictObject({ id: z.string().regex(/^we_[0-9a-f]{16}$/, "must be a webhook endpoint id (we_…)") });
