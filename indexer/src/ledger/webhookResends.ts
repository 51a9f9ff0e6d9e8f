import { z } from "zod";
import { isoTime } from "./fieldSchemas";
import type { Db } from "../store/paymentStore";
import { findEvent, resendEvent, resendFailedSince } from "../store/webhookEventStore";
import { ApiError, invalidField, notFound } from "./apiErrors";
import { findEndpoint } from "../store/webhookEndpointStore";
import type { EndpointOwner } from "./webhookEndpoints";
import { TEST_EVENT_TYPE } from "./webhookTestEvent";

/**
 * Sends a logged event again (same `webhook-id`) to `endpointId`, or to every active endpoint subscribed to its type;
 * a test event only ever to the endpoint it was sent to. Returns the deliveries queued; naming an endpoint that takes
 * nothing (another merchant's, disabled, deleted) is a 400 naming `endpoint_id`.
 */
export async function resendLoggedEvent(db: Db, owner: EndpointOwner, eventId: string, endpointId?: string): Promise<number> {
  const event = await findEvent(db, owner, eventId);
  if (!event) throw notFound("event", eventId);
  const target = endpointId ?? (event.type === TEST_EVENT_TYPE ? event.deliveries[0]?.endpointId : undefined);
  if (event.type === TEST_EVENT_TYPE && target !== event.deliveries[0]?.endpointId) {
    throw invalidField("endpoint_id", `a test event goes only to the endpoint it was sent to (${event.deliveries[0]?.endpointId})`);
  }
  const deliveries = await resendEvent(db, owner, event, target);
  if (endpointId && deliveries === 0) throw invalidField("endpoint_id", `no active endpoint ${endpointId}`);
  return deliveries;
}

/**
 * Sends again every event since `since` whose delivery to an endpoint (`endpointId`, or any) failed, to that endpoint.
 * An `endpointId` that is not one of the merchant's is a 404 naming `endpoint_id`, as another merchant's would be.
 */
export async function resendFailedEvents(db: Db, owner: EndpointOwner, since: Date, endpointId?: string): Promise<number> {
  if (endpointId && !(await findEndpoint(db, owner, endpointId))) {
    throw new ApiError(404, "not_found_error", `endpoint_id: no webhook endpoint ${endpointId}`, "endpoint_id");
  }
  return resendFailedSince(db, owner, since, endpointId);
}

/** An event's id, and the body of "resend every failed since", the API's and the dashboard's. */
export const eventIdParams = z.strictObject({ id: z.string().regex(/^msg_[0-9A-Za-z]{1,64}$/, "must be an event id (msg_…)") });

export const resendFailedBody = z.strictObject({
  since: isoTime.describe("Resend every event created at or after this time whose delivery failed."),
  endpoint_id: z
    .string()
    .regex(/^we_[0-9a-f]{16}$/, "must be a webhook endpoint id (we_…)")
    .optional(),
});
