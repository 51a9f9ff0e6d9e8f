import { randomBytes } from "node:crypto";
import { sql, type RawBuilder } from "kysely";
import type { Payment } from "../payments/payment";
import type { StatusChange } from "../payments/statusMachine";
import type { WebhookEventType } from "../payments/webhookEventTypes";
import { jsonWithBigints } from "./eventData";
import type { Db } from "./paymentStore";
import { signingSecrets } from "./webhookEndpointStore";
import { rowBoolean } from "./rowBoolean";

/**
 * The webhook worker's SQL: outbox rows become events and deliveries, due deliveries are leased to one worker, and
 * what each attempt came to is written back. Claims use FOR UPDATE SKIP LOCKED so that any number of workers share a
 * database without waiting on each other or taking the same row. Bulk writes send one json document per table and
 * batch (as paymentStore does).
 */

/** An endpoint that has failed without a single success for this long is disabled. */
export const ENDPOINT_FAILING_LIMIT = "3 days";

/** A worker's claim on a delivery; long enough for one attempt (15 s) with room for a slow database. */
export const DEFAULT_LEASE_MS = 60_000;

const json = (rows: unknown[]) => jsonWithBigints(rows);

/** The time statements use: the test's clock when given, else the database's (shared by every worker). */
const timeOf = (now: Date | undefined): RawBuilder<Date> => (now ? sql<Date>`${now.toISOString()}::timestamptz` : sql<Date>`now()`);

/** Random bytes of each `webhook-id`. */
const EVENT_ID_RANDOM_BYTES = 10;

/**
 * `webhook-id`s, one for each creation time given (ms since the epoch): sortable by creation time (hex milliseconds)
 * and unique (random bits), like Svix's `msg_` ids. The random bits of a whole batch are drawn at once: a call into
 * the CSPRNG and a buffer per event cost more than the rest of the id.
 */
export function newEventIds(times: readonly number[]): string[] {
  const random = randomBytes(EVENT_ID_RANDOM_BYTES * times.length).toString("hex");
  const width = 2 * EVENT_ID_RANDOM_BYTES;
  return times.map((time, i) => `msg_${time.toString(16).padStart(12, "0")}${random.slice(i * width, (i + 1) * width)}`);
}

// --------------------------------------------------------------------------------------------------------------
// Dispatch: outbox → events and deliveries.

/** The fields of Payment that are bigints, written as decimal strings in the outbox (jsonWithBigints). */
const PAYMENT_BIGINTS = [
  "amountUsd",
  "expiry",
  "receivedUsd",
  "remainingUsd",
  "excessUsd",
  "paidAmount",
  "fee",
  "refundedAmount",
  "refundRequested",
  "depositsReturned",
  "nativeWaiting",
] as const satisfies ReadonlyArray<keyof Payment>;

/** The fields of Payment that are lists of entries with an `amount`, a bigint written as a decimal string. */
const PAYMENT_AMOUNT_LISTS = ["otherDeposits", "refunds", "returnedTransfers", "unacceptedTransfers"] as const satisfies ReadonlyArray<keyof Payment>;

/** An outbox row's data: the change (null for the payment's creation) and the payment as it stood right after it. */
export function outboxContent(data: unknown, paymentId: string): { change: StatusChange | null; payment: Partial<Payment> } {
  const parsed = (typeof data === "string" ? JSON.parse(data) : data) as { change?: StatusChange | null; payment?: Record<string, unknown> } | null;
  if (!parsed || typeof parsed !== "object") throw new Error(`outbox row of payment ${paymentId}: data is not an object`);
  const payment: Record<string, unknown> = { ...(parsed.payment ?? {}) };
  for (const field of PAYMENT_BIGINTS) if (payment[field] !== undefined && payment[field] !== null) payment[field] = BigInt(payment[field] as string);
  for (const field of PAYMENT_AMOUNT_LISTS) {
    const list = payment[field];
    if (Array.isArray(list)) payment[field] = list.map((entry: { amount: string }) => ({ ...entry, amount: BigInt(entry.amount) }));
  }
  return { change: parsed.change ?? null, payment: payment as Partial<Payment> };
}

/** An event row of webhook_events as dispatch writes it: the body is the JSON the merchant receives. */
export interface EventRow {
  id: string;
  merchant_id: string;
  mode: string;
  chain_id: number;
  payment_id: string;
  type: WebhookEventType;
  sequence: number;
  body: string;
  created_at: string;
}

/**
 * An announcement as dispatch reads it: an outbox row, or a status change not announced yet (its `data` made the
 * shape of an outbox row's: the change and the payment as of it).
 */
export interface OutboxRow {
  id: string | number | bigint;
  /** Which table it is in: outbox rows are deleted once dispatched, changes keep their row and lose their announcement. */
  source: "outbox" | "change";
  payment_id: string;
  type: string;
  data: unknown;
  created_at: Date | string;
}

/**
 * Whether the chain has anything to announce. Most wake-ups find nothing (a worker is woken by its own deliveries
 * too): one statement says so, where claiming takes a transaction of three.
 */
export async function outboxWaiting(db: Db, chainId: number): Promise<boolean> {
  const { rows } = await sql<{ waiting: boolean }>`
    select exists (select from outbox where chain_id = ${chainId})
      or exists (select from status_changes where chain_id = ${chainId} and announcement is not null) as waiting`.execute(db);
  return rowBoolean(rows[0].waiting);
}

/**
 * Up to `limit` announcements of the chain, outbox rows and unannounced status changes together, in the order of
 * their ids (one sequence for both: a payment's creation before its changes, its changes in sequence), locked until
 * the transaction ends (other workers skip them). Rows locked beyond the first `limit` stay as they are.
 */
export async function claimOutboxRows(trx: Db, chainId: number, limit: number): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    select 'outbox' as source, id, payment_id, type, data, created_at from (
      select id, payment_id, type, data, created_at from outbox where chain_id = ${chainId} order by id limit ${limit} for update skip locked
    ) o
    union all
    select 'change', id, payment_id, 'payment.' || to_status, jsonb_build_object(
        'change', jsonb_strip_nulls(jsonb_build_object('paymentId', payment_id, 'sequence', sequence, 'from', from_status, 'to', to_status,
          'reason', reason, 'transactionHash', transaction_hash, 'blockNumber', block_number)),
        'payment', announcement),
      created_at from (
      select id, payment_id, sequence, from_status, to_status, reason, transaction_hash, block_number, announcement, created_at from status_changes
      where chain_id = ${chainId} and announcement is not null order by id limit ${limit} for update skip locked
    ) c
    order by id
    limit ${limit}`.execute(trx);
  return rows;
}

/** The merchants of this gateway whose address is one of `addresses` (compared case-insensitively). */
export async function merchantsAt(db: Db, addresses: readonly string[]): Promise<Array<{ id: string; address: string }>> {
  return db
    .selectFrom("merchants")
    .select(["id", "address"])
    .where(sql<boolean>`lower(address) = any(${sql.val([...new Set(addresses.map((address) => address.toLowerCase()))])}::text[])`)
    .execute();
}

/**
 * Writes `events`, a delivery for each endpoint subscribed to one, and consumes the announcements they came from
 * (outbox rows deleted, status changes' announcements cleared), in one statement; returns the number of deliveries
 * queued.
 */
export async function recordDispatch(
  trx: Db,
  events: readonly EventRow[],
  claimed: ReadonlyArray<Pick<OutboxRow, "id" | "source">>,
  now?: Date,
): Promise<number> {
  const deliveries = await subscribedEndpoints(trx, events);
  const idsOf = (source: OutboxRow["source"]) => sql.val(claimed.filter((row) => row.source === source).map((row) => String(row.id)));
  const writes = [];
  if (events.length > 0) {
    writes.push(sql`logged as (
        insert into webhook_events (id, merchant_id, mode, chain_id, payment_id, type, sequence, body, created_at)
        select x.id, x.merchant_id, x.mode, x.chain_id, x.payment_id, x.type, x.sequence, x.body, x.created_at
        from json_to_recordset(${json([...events])}::json) as x(
          id text, merchant_id text, mode text, chain_id integer, payment_id text, type text, sequence integer, body text, created_at timestamptz))`);
  }
  if (deliveries.length > 0) {
    writes.push(sql`queued as (
        insert into webhook_deliveries (event_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
        select x.event_id, x.endpoint_id, 'pending', ${timeOf(now)}, ${timeOf(now)}, ${timeOf(now)}
        from json_to_recordset(${json(deliveries)}::json) as x(event_id text, endpoint_id text))`);
  }
  writes.push(sql`announced as (
      update status_changes set announcement = null where id = any(${idsOf("change")}::bigint[]) and announcement is not null)`);
  await sql`
      with ${sql.join(writes)}
      delete from outbox where id = any(${idsOf("outbox")}::bigint[])`.execute(trx);
  return deliveries.length;
}

/** A delivery per event and endpoint of its merchant and mode that is neither deleted nor disabled and takes its type. */
async function subscribedEndpoints(db: Db, events: readonly EventRow[]): Promise<Array<{ event_id: string; endpoint_id: string }>> {
  if (events.length === 0) return [];
  const endpoints = await db
    .selectFrom("webhook_endpoints")
    .select(["id", "merchant_id", "mode", "event_types"])
    .where("merchant_id", "in", [...new Set(events.map((event) => event.merchant_id))])
    .where("deleted_at", "is", null)
    .where("disabled_at", "is", null)
    .orderBy("created_at")
    .execute();
  const byOwner = new Map<string, Array<{ id: string; types: Set<string> | null }>>();
  for (const endpoint of endpoints) {
    const types = (typeof endpoint.event_types === "string" ? JSON.parse(endpoint.event_types) : endpoint.event_types) as string[] | null;
    const owner = `${endpoint.merchant_id}/${endpoint.mode}`;
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), { id: endpoint.id, types: types ? new Set(types) : null }]);
  }
  return events.flatMap((event) =>
    (byOwner.get(`${event.merchant_id}/${event.mode}`) ?? [])
      .filter((endpoint) => endpoint.types === null || endpoint.types.has(event.type))
      .map((endpoint) => ({ event_id: event.id, endpoint_id: endpoint.id })),
  );
}

// --------------------------------------------------------------------------------------------------------------
// Claim: due deliveries, leased to this worker.

/** A delivery leased to this worker, with what it takes to send it. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  /** This attempt's number, from 1; also the fence that keeps a late worker from overwriting a newer attempt. */
  attempt: number;
  url: string;
  body: string;
  /** The secrets to sign with now (two during a rotation's grace). */
  secrets: string[];
  /** Set when the endpoint was disabled or deleted since the delivery was created: it is not to be attempted. */
  closed?: string;
  /** Whether the endpoint was failing when claimed: only then does a success have a failure to clear. */
  endpointFailing: boolean;
  /** When the delivery was queued: the retry schedule spans at least three days from here. */
  createdAt: Date;
}

/**
 * Leases up to `limit` due deliveries (pending, their time come, not leased to a live worker), oldest first, for
 * `leaseMs`, and counts the attempt. A worker that dies mid-delivery loses nothing: once its lease runs out another
 * worker takes the delivery again, with the same event and so the same `webhook-id` (at-least-once).
 */
export async function claimDueDeliveries(db: Db, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  return (await recordAndClaimDeliveries(db, [], options)).claimed;
}

export interface ClaimOptions {
  limit: number;
  leaseMs?: number;
  now?: Date;
}

/**
 * Records `outcomes` (as recordAttemptOutcomes) and claims up to `limit` due deliveries (as claimDueDeliveries). The
 * usual batch, successes to healthy endpoints, takes one statement for both: a worker busy with a backlog pays one
 * round trip and one commit per batch, not two. Outcomes that change an endpoint's health are recorded in their own
 * transaction first. The deliveries recorded are never claimed by the same statement (a lease of theirs that ran out
 * would otherwise make it update a row twice).
 */
export async function recordAndClaimDeliveries(
  db: Db,
  outcomes: readonly AttemptOutcome[],
  { limit, leaseMs = DEFAULT_LEASE_MS, now }: ClaimOptions,
): Promise<{ claimed: ClaimedDelivery[]; disabled: DisabledEndpoint[] }> {
  let disabled: DisabledEndpoint[] = [];
  let recording = outcomes;
  if (outcomes.length > 0 && (limit <= 0 || endpointHealthChanges(attempted(outcomes)).length > 0)) {
    ({ disabled } = await recordAttemptOutcomes(db, outcomes, { now }));
    recording = [];
  }
  if (limit <= 0) return { claimed: [], disabled };
  const at = timeOf(now);
  const record = recording.length > 0 ? recordStatements(recording, deliveryUpdates(recording, new Map()), at) : undefined;
  const { rows } = await sql<{
    id: string | number;
    event_id: string;
    endpoint_id: string;
    attempts: number;
    created_at: Date | string;
    body: string;
    url: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: Date | string | null;
    disabled_reason: string | null;
    disabled: boolean;
    deleted: boolean;
    failing: boolean;
  }>`
    with ${record ? sql`${record.outcome}, logged as (${record.log}), recorded as (${record.update}),` : sql``}
    due as (
      select id from webhook_deliveries
      where status = 'pending' and next_attempt_at <= ${at} and (leased_until is null or leased_until < ${at})
        ${record ? sql`and id not in (select id from outcome)` : sql``}
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    ), claimed as (
      update webhook_deliveries d
      set leased_until = ${at} + ${leaseMs} * interval '1 millisecond', attempts = d.attempts + 1, updated_at = ${at}
      from due where d.id = due.id
      returning d.id, d.event_id, d.endpoint_id, d.attempts, d.created_at
    )
    select c.id, c.event_id, c.endpoint_id, c.attempts, c.created_at, e.body, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at,
      w.disabled_reason, w.disabled_at is not null as disabled, w.deleted_at is not null as deleted, w.failing_since is not null as failing
    from claimed c
    join webhook_events e on e.id = c.event_id
    join webhook_endpoints w on w.id = c.endpoint_id
    order by c.id`.execute(db);
  const clock = now ?? new Date();
  const claimed = rows.map((row) => ({
    id: String(row.id),
    eventId: row.event_id,
    endpointId: row.endpoint_id,
    attempt: Number(row.attempts),
    url: row.url,
    body: row.body,
    secrets: signingSecrets(
      {
        secret: row.secret,
        previousSecret: row.previous_secret,
        previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : new Date(row.previous_secret_expires_at),
      },
      clock,
    ),
    closed: row.deleted ? "endpoint deleted" : row.disabled ? `endpoint disabled: ${row.disabled_reason ?? "no reason recorded"}` : undefined,
    endpointFailing: row.failing,
    createdAt: new Date(row.created_at),
  }));
  return { claimed, disabled };
}

// --------------------------------------------------------------------------------------------------------------
// Record: what the attempts came to.

/** What one claimed delivery came to. */
export interface AttemptOutcome {
  delivery: Pick<ClaimedDelivery, "id" | "eventId" | "endpointId" | "attempt" | "closed" | "endpointFailing">;
  /** Undefined when the attempt was not made (`delivery.closed`). */
  attempt?: {
    startedAt: Date;
    durationMs: number;
    ok: boolean;
    status?: number;
    /** 410: the endpoint is to be disabled. */
    gone: boolean;
    error?: string;
    /** The webhook-signature header sent, and the start of a failed response's body: the delivery log shows them. */
    signature?: string;
    excerpt?: string;
  };
  /** After a failure: the wait before the next attempt; undefined when the schedule is spent. */
  retryDelayMs?: number;
}

/** An endpoint disabled by these results, and why. */
export interface DisabledEndpoint {
  id: string;
  reason: string;
}

type DeliveryUpdate = { id: string; attempt: number; status: "succeeded" | "pending" | "failed"; delay_ms: number | null; error: string | null };

/**
 * Writes what a batch of attempts came to, atomically and with a statement per table: the attempts into the log;
 * each endpoint's health (a success clears `failing_since`, a failure starts it; 410 Gone disables the endpoint,
 * and so does failing for more than three days); each delivery succeeded, pending until its next attempt, or failed
 * (schedule spent, or its endpoint disabled); the other pending deliveries of endpoints disabled here fail too.
 * A result whose lease was taken over by another worker (its attempt number is no longer the delivery's) is logged
 * as an attempt but changes nothing else.
 */
export async function recordAttemptOutcomes(
  db: Db,
  outcomes: readonly AttemptOutcome[],
  { now }: { now?: Date } = {},
): Promise<{ disabled: DisabledEndpoint[] }> {
  if (outcomes.length === 0) return { disabled: [] };
  const at = timeOf(now);
  const health = endpointHealthChanges(attempted(outcomes));
  // The usual batch (successes to healthy endpoints) is one statement, atomic on its own: no transaction to open.
  if (health.length === 0) {
    await writeAttemptsAndDeliveries(db, outcomes, deliveryUpdates(outcomes, new Map()), at);
    return { disabled: [] };
  }
  return db.transaction().execute(async (trx) => {
    const disabled = await updateEndpointHealth(trx, health, at);
    await writeAttemptsAndDeliveries(trx, outcomes, deliveryUpdates(outcomes, new Map(disabled.map((endpoint) => [endpoint.id, endpoint.reason]))), at);
    if (disabled.length > 0) {
      await sql`
        update webhook_deliveries d set status = 'failed', last_error = 'endpoint disabled: ' || x.reason, leased_until = null, updated_at = ${at}
        from json_to_recordset(${json(disabled)}::json) as x(id text, reason text)
        where d.endpoint_id = x.id and d.status = 'pending'`.execute(trx);
    }
    return { disabled };
  });
}

/** Where each delivery goes: succeeded, pending until its next attempt, or failed (and why). */
function deliveryUpdates(outcomes: readonly AttemptOutcome[], disabledReason: ReadonlyMap<string, string>): DeliveryUpdate[] {
  return outcomes.map(({ delivery, attempt, retryDelayMs }) => {
    const base = { id: delivery.id, attempt: delivery.attempt, delay_ms: null };
    if (!attempt) return { ...base, status: "failed", error: delivery.closed ?? "not attempted" };
    if (attempt.ok) return { ...base, status: "succeeded", error: null };
    const closedBy = disabledReason.get(delivery.endpointId);
    if (closedBy) return { ...base, status: "failed", error: `endpoint disabled: ${closedBy}` };
    if (retryDelayMs === undefined)
      return { ...base, status: "failed", error: `gave up after ${delivery.attempt} attempts; last: ${attempt.error ?? "failed"}` };
    return { ...base, status: "pending", delay_ms: retryDelayMs, error: attempt.error ?? null };
  });
}

const attempted = (outcomes: readonly AttemptOutcome[]) => outcomes.filter((outcome) => outcome.attempt !== undefined);

/** The attempts into the log and the deliveries' new states, in one statement. */
async function writeAttemptsAndDeliveries(
  db: Db,
  outcomes: readonly AttemptOutcome[],
  updates: readonly DeliveryUpdate[],
  at: RawBuilder<Date>,
): Promise<void> {
  const { outcome, log, update } = recordStatements(outcomes, updates, at);
  await sql`with ${outcome}, logged as (${log}) ${update}`.execute(db);
}

/**
 * The parts of a statement recording `outcomes`: `outcome`, a CTE of one row per outcome (its delivery's new state,
 * and the attempt made, if any), sent as one json document; `log`, the insert of the attempts made; `update`, the
 * deliveries' new states, fenced by the attempt number (a result whose lease was taken over changes nothing).
 */
function recordStatements(
  outcomes: readonly AttemptOutcome[],
  updates: readonly DeliveryUpdate[],
  at: RawBuilder<Date>,
): { outcome: RawBuilder<unknown>; log: RawBuilder<unknown>; update: RawBuilder<unknown> } {
  const rows = outcomes.map(({ delivery, attempt }, i) => ({
    ...updates[i],
    event_id: delivery.eventId,
    endpoint_id: delivery.endpointId,
    started_at: attempt ? attempt.startedAt.toISOString() : null,
    duration_ms: attempt?.durationMs ?? null,
    response_status: attempt?.status ?? null,
    attempt_error: attempt?.error ?? null,
    signature: attempt?.signature ?? null,
    response_excerpt: attempt?.excerpt ?? null,
  }));
  return {
    // Plain JSON.stringify: these rows hold no bigints (jsonWithBigints' replacer costs a call per field).
    outcome: sql`outcome as materialized (
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as x(
        id bigint, attempt integer, status text, delay_ms bigint, error text, event_id text, endpoint_id text, started_at timestamptz,
        duration_ms integer, response_status integer, attempt_error text, signature text, response_excerpt text))`,
    log: sql`
      insert into webhook_attempts (delivery_id, event_id, endpoint_id, attempt, started_at, duration_ms, response_status, error, signature, response_excerpt)
      select x.id, x.event_id, x.endpoint_id, x.attempt, x.started_at, x.duration_ms, x.response_status, x.attempt_error, x.signature, x.response_excerpt
      from outcome x where x.started_at is not null`,
    update: sql`
      update webhook_deliveries d set
        status = x.status,
        next_attempt_at = case when x.status = 'pending' then ${at} + x.delay_ms * interval '1 millisecond' else d.next_attempt_at end,
        leased_until = null,
        last_error = x.error,
        updated_at = ${at}
      from outcome x
      where d.id = x.id and d.attempts = x.attempt and d.status = 'pending'`,
  };
}

type EndpointHealth = { endpoint_id: string; ok: boolean; gone: boolean; error: string | null; failing: boolean };

/**
 * What the attempts say of each endpoint's health (a success anywhere in the batch counts: the endpoint is up), for
 * the endpoints where that changes something. A healthy endpoint that succeeded again has nothing to change: leaving
 * it out spares every batch a write of the endpoint's row, which workers delivering to one endpoint would queue on.
 */
function endpointHealthChanges(attempted: readonly AttemptOutcome[]): EndpointHealth[] {
  const health = new Map<string, EndpointHealth>();
  for (const { delivery, attempt } of attempted) {
    const seen = health.get(delivery.endpointId) ?? { endpoint_id: delivery.endpointId, ok: false, gone: false, error: null, failing: false };
    seen.ok ||= attempt!.ok;
    seen.gone ||= attempt!.gone;
    seen.failing ||= delivery.endpointFailing;
    if (!attempt!.ok) seen.error = attempt!.error ?? `responded ${attempt!.status}`;
    health.set(delivery.endpointId, seen);
  }
  return [...health.values()].filter((endpoint) => !endpoint.ok || endpoint.gone || endpoint.failing);
}

/**
 * Writes the endpoints' health (a success clears failing_since, a failure starts it) and disables those that
 * answered 410 Gone or have failed for more than ENDPOINT_FAILING_LIMIT; returns the latter.
 */
async function updateEndpointHealth(db: Db, changes: readonly EndpointHealth[], at: RawBuilder<Date>): Promise<DisabledEndpoint[]> {
  const { rows } = await sql<{ id: string; failing_since: Date | string | null; gone: boolean; failing_too_long: boolean; error: string | null }>`
    update webhook_endpoints w set
      failing_since = case when x.ok then null else coalesce(w.failing_since, ${at}) end
    from json_to_recordset(${json(changes as EndpointHealth[])}::json) as x(endpoint_id text, ok boolean, gone boolean, error text)
    where w.id = x.endpoint_id and w.disabled_at is null and w.deleted_at is null
    returning w.id, w.failing_since, x.gone,
      (not x.ok and w.failing_since < ${at} - interval '${sql.raw(ENDPOINT_FAILING_LIMIT)}') as failing_too_long, x.error`.execute(db);
  const disabled: DisabledEndpoint[] = [];
  for (const row of rows) {
    if (row.gone) disabled.push({ id: row.id, reason: "responded 410 Gone" });
    else if (row.failing_too_long) {
      const since = new Date(row.failing_since!).toISOString();
      disabled.push({ id: row.id, reason: `failing since ${since} (more than ${ENDPOINT_FAILING_LIMIT} without a success); last error: ${row.error}` });
    }
  }
  if (disabled.length > 0) {
    await sql`
      update webhook_endpoints w set disabled_at = ${at}, disabled_reason = x.reason
      from json_to_recordset(${json(disabled)}::json) as x(id text, reason text)
      where w.id = x.id and w.disabled_at is null`.execute(db);
  }
  return disabled;
}
