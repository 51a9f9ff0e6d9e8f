import { sql } from "kysely";
import type { Mode } from "../payments/paymentResource";
import type { Db } from "./paymentStore";

export interface EventAttempt {
  attempt: number;
  at: Date;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  /** The webhook-signature header sent; null on attempts logged before migration 008. */
  signature: string | null;
  /** The start of a failed attempt's response body, if it had one (a success's is not kept). */
  responseExcerpt: string | null;
}

export interface EventDelivery {
  endpointId: string;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: Date | null;
  lastError: string | null;
  attempts: EventAttempt[];
}

/** An event of the merchant's log with every delivery of it and their attempts. */
export interface LoggedEvent {
  id: string;
  type: string;
  paymentId: string;
  sequence: number;
  body: string;
  createdAt: Date;
  deliveries: EventDelivery[];
}

export interface EventFilter {
  merchantId: string;
  mode: Mode;
  type?: string;
  paymentId?: string;
  deliveryStatus?: "pending" | "succeeded" | "failed";
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** The merchant's events, newest first, with their deliveries. */
export async function listEvents(db: Db, filter: EventFilter): Promise<LoggedEvent[]> {
  let query = db
    .selectFrom("webhook_events as e")
    .select(["e.id", "e.type", "e.payment_id", "e.sequence", "e.body", "e.created_at"])
    .where("e.merchant_id", "=", filter.merchantId)
    .where("e.mode", "=", filter.mode);
  if (filter.type) query = query.where("e.type", "=", filter.type);
  if (filter.paymentId) query = query.where("e.payment_id", "=", filter.paymentId.toLowerCase());
  if (filter.deliveryStatus) {
    const status = filter.deliveryStatus;
    query = query.where(({ exists, selectFrom }) =>
      exists(selectFrom("webhook_deliveries as d").select("d.id").whereRef("d.event_id", "=", "e.id").where("d.status", "=", status)),
    );
  }
  if (filter.after) query = query.where(sql<boolean>`(e.created_at, e.id) < (${filter.after.createdAt}, ${filter.after.id})`);
  const rows = await query.orderBy("e.created_at", "desc").orderBy("e.id", "desc").limit(filter.limit).execute();
  return withDeliveries(db, rows);
}

export async function findEvent(db: Db, owner: { merchantId: string; mode: Mode }, id: string): Promise<LoggedEvent | undefined> {
  const rows = await db
    .selectFrom("webhook_events")
    .select(["id", "type", "payment_id", "sequence", "body", "created_at"])
    .where("id", "=", id)
    .where("merchant_id", "=", owner.merchantId)
    .where("mode", "=", owner.mode)
    .execute();
  return (await withDeliveries(db, rows))[0];
}

type EventRow = { id: string; type: string; payment_id: string; sequence: number; body: string; created_at: Date | string };

async function withDeliveries(db: Db, rows: EventRow[]): Promise<LoggedEvent[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const [deliveries, attempts] = await Promise.all([
    db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where(sql<boolean>`event_id = any(${sql.val(ids)}::text[])`)
      .orderBy("id")
      .execute(),
    db
      .selectFrom("webhook_attempts")
      .selectAll()
      .where(sql<boolean>`event_id = any(${sql.val(ids)}::text[])`)
      .orderBy("id")
      .execute(),
  ]);
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    paymentId: row.payment_id,
    sequence: row.sequence,
    body: row.body,
    createdAt: new Date(row.created_at),
    deliveries: deliveries
      .filter((delivery) => delivery.event_id === row.id)
      .map((delivery) => ({
        endpointId: delivery.endpoint_id,
        status: delivery.status as EventDelivery["status"],
        nextAttemptAt: delivery.status === "pending" ? new Date(delivery.next_attempt_at) : null,
        lastError: delivery.last_error,
        attempts: attempts
          .filter((attempt) => String(attempt.delivery_id) === String(delivery.id))
          .map((attempt) => ({
            attempt: attempt.attempt,
            at: new Date(attempt.started_at),
            durationMs: attempt.duration_ms,
            responseStatus: attempt.response_status,
            error: attempt.error,
            signature: attempt.signature,
            responseExcerpt: attempt.response_excerpt,
          })),
      })),
  }));
}

/** Endpoints of the merchant that take `type` now: not deleted, not disabled, subscribed to it. */
function activeEndpoints(db: Db, owner: { merchantId: string; mode: Mode }) {
  return db
    .selectFrom("webhook_endpoints as w")
    .where("w.merchant_id", "=", owner.merchantId)
    .where("w.mode", "=", owner.mode)
    .where("w.deleted_at", "is", null)
    .where("w.disabled_at", "is", null);
}

/**
 * Sends an event again, with the same webhook-id, to `endpointId` or to every active endpoint subscribed to its
 * type; returns the number of deliveries queued.
 */
export async function resendEvent(db: Db, owner: { merchantId: string; mode: Mode }, event: LoggedEvent, endpointId?: string): Promise<number> {
  let endpoints = activeEndpoints(db, owner).select("w.id");
  endpoints = endpointId ? endpoints.where("w.id", "=", endpointId) : endpoints.where(sql<boolean>`(w.event_types is null or w.event_types ? ${event.type})`);
  const targets = await endpoints.execute();
  return queueDeliveries(
    db,
    targets.map((target) => ({ event_id: event.id, endpoint_id: target.id })),
  );
}

/**
 * Sends again every event since `since` whose delivery to an endpoint failed, to that endpoint if it is active
 * now (a merchant fixes or re-enables an endpoint, then calls this). Returns the number of deliveries queued.
 */
export async function resendFailedSince(db: Db, owner: { merchantId: string; mode: Mode }, since: Date, endpointId?: string): Promise<number> {
  let failed = db
    .selectFrom("webhook_deliveries as d")
    .innerJoin("webhook_events as e", "e.id", "d.event_id")
    .innerJoin("webhook_endpoints as w", "w.id", "d.endpoint_id")
    .select(["d.event_id", "d.endpoint_id"])
    .distinct()
    .where("e.merchant_id", "=", owner.merchantId)
    .where("e.mode", "=", owner.mode)
    .where("e.created_at", ">=", since)
    .where("d.status", "=", "failed")
    .where("w.deleted_at", "is", null)
    .where("w.disabled_at", "is", null)
    // Not when a later delivery of the same event to the same endpoint is queued or succeeded.
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("webhook_deliveries as later")
            .select("later.id")
            .whereRef("later.event_id", "=", "d.event_id")
            .whereRef("later.endpoint_id", "=", "d.endpoint_id")
            .where("later.status", "in", ["pending", "succeeded"]),
        ),
      ),
    );
  if (endpointId) failed = failed.where("d.endpoint_id", "=", endpointId);
  return queueDeliveries(db, await failed.execute());
}

/** New deliveries, due now, of events to endpoints (the same webhook-id as the event's earlier deliveries). */
async function queueDeliveries(db: Db, pairs: ReadonlyArray<{ event_id: string; endpoint_id: string }>): Promise<number> {
  if (pairs.length === 0) return 0;
  const now = new Date();
  await db
    .insertInto("webhook_deliveries")
    .values(pairs.map(({ event_id, endpoint_id }) => ({ event_id, endpoint_id, status: "pending", next_attempt_at: now })))
    .execute();
  return pairs.length;
}

/**
 * Logs an event meant for one endpoint only (a test event) with its delivery, due now, in one statement: the
 * workers take it as any other delivery (the insert's trigger wakes them).
 */
export async function logEventForEndpoint(
  db: Db,
  event: { id: string; merchantId: string; mode: Mode; chainId: number; paymentId: string; type: string; body: string; createdAt: Date },
  endpointId: string,
): Promise<void> {
  await sql`
    with logged as (
      insert into webhook_events (id, merchant_id, mode, chain_id, payment_id, type, sequence, body, created_at)
      values (${event.id}, ${event.merchantId}, ${event.mode}, ${event.chainId}, ${event.paymentId}, ${event.type}, 0, ${event.body}, ${event.createdAt})
    )
    insert into webhook_deliveries (event_id, endpoint_id, status, next_attempt_at)
    values (${event.id}, ${endpointId}, 'pending', ${event.createdAt})`.execute(db);
}
