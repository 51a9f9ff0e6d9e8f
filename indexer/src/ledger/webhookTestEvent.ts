import { ApiError, notFound } from "./apiErrors";
import { newEventIds } from "../store/webhookDeliveryStore";
import { findEvent, logEventForEndpoint, type LoggedEvent } from "../store/webhookEventStore";
import { findEndpoint } from "../store/webhookEndpointStore";
import type { EndpointOwner, EndpointPorts } from "./webhookEndpoints";

/**
 * The type of a test event. Not among the types an endpoint subscribes to (WEBHOOK_EVENT_TYPES): a test event goes
 * to the one endpoint it was sent to, whatever that endpoint's types, and a merchant's code acting on `payment.*`
 * events never mistakes it for one.
 */
export const TEST_EVENT_TYPE = "webhook.test";

/**
 * Sends a test event to one of the merchant's endpoints: logged as any event (its `webhook-id`, a body signed by
 * the Standard Webhooks rules with the endpoint's secrets) and delivered by the webhook workers with their retries,
 * so that it proves what a real delivery would. Its `payment_id` is the endpoint's id: it belongs to no payment.
 * A disabled endpoint is refused (the workers would not send to it).
 */
export async function sendTestEvent(
  ports: EndpointPorts & { chainId: number },
  owner: EndpointOwner,
  endpointId: string,
  now = new Date(),
): Promise<LoggedEvent> {
  const endpoint = await findEndpoint(ports.db, owner, endpointId);
  if (!endpoint) throw notFound("webhook endpoint", endpointId);
  if (endpoint.disabledAt) {
    throw new ApiError(
      409,
      "conflict_error",
      `webhook endpoint ${endpointId} is disabled (${endpoint.disabledReason}): enable it to send it a test event`,
      "id",
    );
  }
  const [id] = newEventIds([now.getTime()]);
  const body = JSON.stringify({
    type: TEST_EVENT_TYPE,
    timestamp: now.toISOString(),
    data: { object: "webhook_test", endpoint_id: endpoint.id, message: "A test event sent from Open Pay: nothing happened, take no action." },
  });
  await logEventForEndpoint(
    ports.db,
    { id, ...owner, chainId: ports.chainId, paymentId: endpoint.id, type: TEST_EVENT_TYPE, body, createdAt: now },
    endpoint.id,
  );
  return (await findEvent(ports.db, owner, id))!;
}
