import type { LoggedEvent } from "../store/webhookEventStore";

/** A logged webhook event with each delivery and its attempts, as the API's event log and the dashboard show it. */
export function eventJson(event: LoggedEvent) {
  return {
    object: "event" as const,
    id: event.id,
    type: event.type,
    payment_id: event.paymentId,
    sequence: event.sequence,
    created_at: event.createdAt.toISOString(),
    data: JSON.parse(event.body) as unknown,
    deliveries: event.deliveries.map((delivery) => ({
      endpoint_id: delivery.endpointId,
      status: delivery.status,
      next_attempt_at: delivery.nextAttemptAt?.toISOString() ?? null,
      last_error: delivery.lastError,
      attempts: delivery.attempts.map((attempt) => ({
        attempt: attempt.attempt,
        at: attempt.at.toISOString(),
        duration_ms: attempt.durationMs,
        response_status: attempt.responseStatus,
        error: attempt.error,
        // webhook-id is the event's id, webhook-timestamp the attempt's start in seconds.
        signature: attempt.signature,
        response_excerpt: attempt.responseExcerpt,
      })),
    })),
  };
}
