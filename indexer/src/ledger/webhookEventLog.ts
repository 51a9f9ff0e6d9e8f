import type { Db } from "../store/paymentStore";
import { findEvent, listEvents, type EventFilter } from "../store/webhookEventStore";
import { notFound } from "./apiErrors";
import { decodeCursor, pageOf } from "./pageCursor";
import { eventJson } from "./webhookEventJson";
import type { EndpointOwner } from "./webhookEndpoints";

/** What a page of the event log may be narrowed to, and where it starts (a cursor of the page before). */
export type EventLogQuery = Pick<EventFilter, "type" | "paymentId" | "deliveryStatus"> & { startingAfter?: string; limit: number };

/** A page of the merchant's event log, newest first, each event with its deliveries: the API's and the dashboard's. */
export async function eventLogPage(db: Db, owner: EndpointOwner, { startingAfter, limit, ...filters }: EventLogQuery) {
  const events = await listEvents(db, { ...owner, ...filters, after: startingAfter ? decodeCursor(startingAfter) : undefined, limit: limit + 1 });
  return pageOf(
    events,
    limit,
    (event) => event,
    (page) => page.map(eventJson),
  );
}

/** One event of the merchant's log with its deliveries; another merchant's is a 404, as one that does not exist. */
export async function loggedEvent(db: Db, owner: EndpointOwner, id: string) {
  const event = await findEvent(db, owner, id);
  if (!event) throw notFound("event", id);
  return eventJson(event);
}
