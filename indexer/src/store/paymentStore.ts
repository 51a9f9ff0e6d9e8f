import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { isChainEvent, type ConfirmedBlock, type PaymentEvent } from "../payments/paymentEvents";
import type { StatusChange } from "../payments/statusMachine";
import { eventFromData, jsonWithBigints } from "./eventData";
import type { PaymentRegistration } from "../payments/paymentRegistration";
import { paymentFromRow, registrationColumns, registrationFromRow, stateColumns } from "./paymentRows";
import type { Database } from "./schema";
import { isOpen, OPEN_STATUSES } from "../payments/statuses";

/** Kysely or a transaction of it: every function here runs inside the caller's transaction. */
export type Db = Kysely<Database>;

/** A payment with the terms it was registered with. */
export interface StoredPayment {
  payment: Payment;
  registration: PaymentRegistration;
}

// Bulk statements take their rows as one json parameter: one round trip per table and batch, whatever its size,
// and no limit on the number of bind parameters. (json, not jsonb: the server parses it once, row by row, without
// first building a binary document of the whole batch.)
const json = (rows: unknown[]) => jsonWithBigints(rows);

/** Stores a new payment; `registeredBlock` is the indexer's checkpoint then (a re-read of its logs starts there). */
export async function insertPayment(db: Db, registration: PaymentRegistration, registeredBlock: number | null): Promise<Payment> {
  const payment = newPayment(registration);
  await db
    .insertInto("payments")
    .values({ ...stateColumns(payment), ...registrationColumns(registration), registered_block: registeredBlock })
    .execute();
  return payment;
}

/** Payments by id, locked for the caller's transaction. */
export async function loadPayments(db: Db, chainId: number, ids: readonly string[]): Promise<Map<string, StoredPayment>> {
  const found = new Map<string, StoredPayment>();
  if (ids.length === 0) return found;
  const rows = await db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where(sql<boolean>`id = any(${sql.val([...new Set(ids)])}::text[])`)
    // Locked until the caller's transaction ends: the indexer's batch and the API's refunds read, apply and write
    // back, and neither may overwrite a change the other committed in between.
    .forUpdate()
    .execute();
  for (const row of rows) found.set(row.id, { payment: paymentFromRow(row), registration: registrationFromRow(row) });
  return found;
}

/**
 * Payments that may be due a settlement once `confirmed` is the newest confirmed block (`settlementDue` decides):
 * confirming ones whose completing block is confirmed, open ones whose expiry on chain is, and open ones with
 * nothing received whose time is up (with or without funds waiting: the window is `settlementDue`'s to judge). Only
 * these: a block must not cost a read of every open payment. Locked when `lock` (the indexer's commit); only those of
 * `among` when given (by primary key: no scan of the open payments).
 */
export async function paymentsDueAt(
  db: Db,
  chainId: number,
  confirmed: ConfirmedBlock,
  { lock, among }: { lock: boolean; among?: readonly string[] },
): Promise<Map<string, StoredPayment>> {
  if (among?.length === 0) return new Map();
  let query = db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "confirming"), eb("completed_block", "<=", confirmed.number)]),
        eb.and([eb("status", "in", [...OPEN_STATUSES]), eb("expired_block", "<=", confirmed.number)]),
        eb.and([
          eb("status", "in", [...OPEN_STATUSES]),
          eb("received_usd", "=", "0"),
          eb("expired_block", "is", null),
          eb("expiry", "<", confirmed.timestamp.toString()),
        ]),
      ]),
    );
  if (among) query = query.where(sql<boolean>`id = any(${sql.val([...new Set(among)])}::text[])`);
  if (lock) query = query.forUpdate();
  const rows = await query.execute();
  return new Map(rows.map((row) => [row.id, { payment: paymentFromRow(row), registration: registrationFromRow(row) }]));
}

/** A payment whose deposit address the indexer watches: what the chain-reading engine needs of it. */
export interface WatchedPayment {
  id: Hex;
  depositAddress: Hex;
  status: string;
  expiry: bigint;
  /** Whether BNB it could take may arrive (open, and its intent accepts BNB). */
  takesNative: boolean;
  nativeWaiting: bigint;
}

/**
 * How long after a payment's expiry, in chain time (seconds), its deposit address is still watched. Funds sent late (a
 * wallet that broadcast after the expiry, an exchange's delayed withdrawal) are strays the keeper sends back: the
 * indexer reads transfers to the address and the keeper takes the expired payment as a candidate for this long, one
 * window for both so that what the indexer records the keeper still acts on. A day covers exchanges' usual delays.
 * Chain time, not the clock: an indexer that was down for days, catching up, must still read the transfers of the
 * day after each expiry; and a payment takes deposits until its expiry at the latest.
 */
export const LATE_FUNDS_WINDOW = 86_400n;

/**
 * Whether a payment is within its late-funds window at chain time `at`: its expiry plus the window is later. On the
 * expiry alone, so that `payments_by_expiry` answers it.
 */
export const withinLateFundsWindow = (eb: ExpressionBuilder<Database, "payments">, at: bigint) => eb("expiry", ">", (at - LATE_FUNDS_WINDOW).toString());

/**
 * Payments whose deposit addresses the indexer reads transfers and BNB balances for, at chain time `at` (the time of
 * the block the indexer builds on): those not final, and any whose expiry is less than `LATE_FUNDS_WINDOW` before
 * `at` (funds sent after a payment ended are strays the keeper returns).
 */
export async function watchedPayments(db: Db, chainId: number, at: bigint): Promise<WatchedPayment[]> {
  const rows = await db
    .selectFrom("payments")
    .select(["id", "deposit_address", "status", "expiry", "accepted_tokens", "native_waiting"])
    .where("chain_id", "=", chainId)
    .where((eb) => eb.or([eb("status", "in", ["initiated", "pending", "confirming", "refunding"]), withinLateFundsWindow(eb, at)]))
    .execute();
  return rows.map((row) => ({
    id: row.id as Hex,
    depositAddress: row.deposit_address as Hex,
    status: row.status,
    expiry: BigInt(row.expiry),
    takesNative: isOpen(row.status) && row.accepted_tokens.split(",").some((token) => /^0x0{40}$/.test(token)),
    nativeWaiting: BigInt(row.native_waiting),
  }));
}

export async function savePayments(db: Db, chainId: number, payments: readonly Payment[]): Promise<void> {
  if (payments.length === 0) return;
  await sql`
    update payments set
      status = x.status, previous_status = x.previous_status, sequence = x.sequence,
      received_usd = x.received_usd, remaining_usd = x.remaining_usd, excess_usd = x.excess_usd, token = x.token,
      paid_amount = x.paid_amount, other_deposits = x.other_deposits, fee = x.fee, refunded_amount = x.refunded_amount,
      refund_requested = x.refund_requested, deposits_returned = x.deposits_returned,
      refunds = x.refunds, returned_transfers = x.returned_transfers, unaccepted_transfers = x.unaccepted_transfers,
      completed_block = x.completed_block, expired_block = x.expired_block,
      deposit_address_funded = x.deposit_address_funded, funded_by_expiry = x.funded_by_expiry,
      native_waiting = x.native_waiting, failed_transactions = x.failed_transactions,
      cursor_block = x.cursor_block, cursor_log_index = x.cursor_log_index, updated_at = now()
    from json_to_recordset(${json(payments.map(stateColumns))}::json) as x(
      id text, status text, previous_status text, sequence integer,
      received_usd numeric, remaining_usd numeric, excess_usd numeric, token text,
      paid_amount numeric, other_deposits text, fee numeric, refunded_amount numeric, refund_requested numeric, deposits_returned numeric,
      refunds text, returned_transfers text, unaccepted_transfers text,
      completed_block bigint, expired_block bigint, deposit_address_funded boolean, funded_by_expiry boolean,
      native_waiting numeric, failed_transactions integer,
      cursor_block bigint, cursor_log_index integer)
    where payments.chain_id = ${chainId} and payments.id = x.id`.execute(db);
}

export interface EventRow {
  paymentId: string;
  event: PaymentEvent;
  blockHash?: Hex;
  /** An off-chain event's block, when not the one all rows of the call are recorded at. */
  recordedBlock?: number;
}

/** A chain event's identity: its payment and where its log sits. */
export const chainEventKey = (paymentId: string, blockNumber: number, logIndex: number) => `${paymentId}:${blockNumber}:${logIndex}`;

/**
 * Records events of payments; a chain log already recorded for a payment is skipped. Off-chain events are recorded
 * at `recordedBlock` (the indexer's checkpoint). Returns the keys (`chainEventKey`) of the chain events that were new.
 */
export async function insertEvents(db: Db, chainId: number, rows: readonly EventRow[], recordedBlock: number | null = null): Promise<Set<string>> {
  const inserted = new Set<string>();
  if (rows.length === 0) return inserted;
  const values = rows.map(({ paymentId, event, blockHash, recordedBlock: own }) => ({
    payment_id: paymentId,
    kind: event.kind,
    block_number: isChainEvent(event) ? event.position.blockNumber : null,
    log_index: isChainEvent(event) ? event.position.logIndex : null,
    block_hash: blockHash ?? null,
    transaction_hash: "transactionHash" in event ? event.transactionHash : null,
    recorded_block: isChainEvent(event) ? null : (own ?? recordedBlock),
    data: event,
  }));
  const result = await sql<{ payment_id: string; block_number: string | number | null; log_index: number | null }>`
    insert into payment_events (chain_id, payment_id, kind, block_number, log_index, block_hash, transaction_hash, recorded_block, data)
    select ${chainId}, x.payment_id, x.kind, x.block_number, x.log_index, x.block_hash, x.transaction_hash, x.recorded_block, x.data
    from json_to_recordset(${json(values)}::json) as x(
      payment_id text, kind text, block_number bigint, log_index integer, block_hash text, transaction_hash text, recorded_block bigint, data jsonb)
    on conflict (chain_id, block_number, log_index, payment_id) where block_number is not null do nothing
    returning payment_id, block_number, log_index`.execute(db);
  for (const row of result.rows) if (row.block_number !== null) inserted.add(chainEventKey(row.payment_id, Number(row.block_number), Number(row.log_index)));
  return inserted;
}

/**
 * The order a payment's events are replayed in: chain events in chain order, and each off-chain event after the
 * chain events up to the block the indexer had reached when it was recorded (then in the order recorded). A
 * payment rebuilt after a reorganisation so meets a merchant's refund request in the state it was asked in.
 */
const REPLAY_ORDER = sql`coalesce(block_number, recorded_block, 9223372036854775807), block_number is null, log_index, id`;

/**
 * The last chain position recorded for each of these payments (applied or not: a log the status machine refused is
 * recorded too). A new log at or before it came late, and its payment is rebuilt.
 */
export async function lastRecordedPositions(
  db: Db,
  chainId: number,
  paymentIds: readonly string[],
): Promise<Map<string, { blockNumber: number; logIndex: number }>> {
  const found = new Map<string, { blockNumber: number; logIndex: number }>();
  if (paymentIds.length === 0) return found;
  const rows = await sql<{ payment_id: string; block_number: string | number; log_index: number }>`
    select distinct on (payment_id) payment_id, block_number, log_index from payment_events
    where chain_id = ${chainId} and payment_id = any(${sql.val([...new Set(paymentIds)])}::text[]) and block_number is not null
    order by payment_id, block_number desc, log_index desc`.execute(db);
  for (const row of rows.rows) found.set(row.payment_id, { blockNumber: Number(row.block_number), logIndex: Number(row.log_index) });
  return found;
}

/** Every event of a payment that still applies, with its row id, in replay order. */
export async function recordedEventsOf(db: Db, chainId: number, paymentId: string): Promise<Array<{ id: string; event: PaymentEvent }>> {
  const rows = await db
    .selectFrom("payment_events")
    .select(["id", "data"])
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", paymentId)
    .where("superseded_at", "is", null)
    .orderBy(REPLAY_ORDER)
    .execute();
  return rows.map((row) => ({ id: String(row.id), event: eventFromData(row.data) }));
}

/** Every event recorded for a payment that still applies, in replay order. */
export async function eventsOf(db: Db, chainId: number, paymentId: string): Promise<PaymentEvent[]> {
  return (await eventsOfPayments(db, chainId, [paymentId])).get(paymentId)!;
}

/** Payments asked for in one query: enough to read a keeper round's candidates in a few, far below PostgreSQL's parameter limit. */
const PAYMENTS_PER_QUERY = 1_000;

/** Every event still applying of each payment, in replay order, read in a few queries however many payments there are. */
export async function eventsOfPayments(db: Db, chainId: number, paymentIds: readonly string[]): Promise<Map<string, PaymentEvent[]>> {
  const events = new Map(paymentIds.map((id) => [id, [] as PaymentEvent[]]));
  for (let start = 0; start < paymentIds.length; start += PAYMENTS_PER_QUERY) {
    const rows = await db
      .selectFrom("payment_events")
      .select(["payment_id", "data"])
      .where("chain_id", "=", chainId)
      .where("payment_id", "in", paymentIds.slice(start, start + PAYMENTS_PER_QUERY))
      .where("superseded_at", "is", null)
      .orderBy(REPLAY_ORDER)
      .execute();
    for (const row of rows) events.get(row.payment_id)!.push(eventFromData(row.data));
  }
  return events;
}

/** Marks events a rebuild found no longer apply: later rebuilds skip them, and the history keeps why. */
export async function markSuperseded(db: Db, rows: ReadonlyArray<{ id: string; reason: string }>): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update payment_events set superseded_at = now(), superseded_reason = x.reason
    from json_to_recordset(${json(rows.map((row) => ({ id: row.id, reason: row.reason })))}::json) as x(id bigint, reason text)
    where payment_events.id = x.id`.execute(db);
}

/**
 * Payments with an off-chain event recorded when the indexer stood above `blockNumber`: after a reorganisation to
 * that block, such an event meets another branch's chain events where it was recorded, so the payment is rebuilt.
 */
export async function paymentsRecordedAbove(db: Db, chainId: number, blockNumber: number): Promise<string[]> {
  const rows = await db
    .selectFrom("payment_events")
    .select("payment_id")
    .distinct()
    .where("chain_id", "=", chainId)
    .where("block_number", "is", null)
    .where("recorded_block", ">", blockNumber)
    .where("superseded_at", "is", null)
    .execute();
  return rows.map((row) => row.payment_id);
}

/** Deletes the chain events above `blockNumber`; returns the payments they belonged to. */
export async function deleteEventsAbove(db: Db, chainId: number, blockNumber: number): Promise<string[]> {
  const rows = await db.deleteFrom("payment_events").where("chain_id", "=", chainId).where("block_number", ">", blockNumber).returning("payment_id").execute();
  return [...new Set(rows.map((row) => row.payment_id))];
}

/**
 * The payment as a change's announcement carries it: only the fields of its state that differ from a payment just
 * registered with the same terms (`newPayment`), so that the dispatcher's merge over such a payment
 * (`dispatchOutbox`) gives the payment exactly. A backfill writes one per change, and most of a payment's state
 * (refunds, returns, fees, flags) stays as registered through its deposits: leaving it out roughly halves the JSON
 * of a typical change. The registered terms, which never change, are left out too.
 */
export function outboxPayment(payment: Payment): Partial<Payment> {
  const registered = newPayment(payment) as unknown as Record<string, unknown>;
  const { id: _id, amountUsd: _amountUsd, expiry: _expiry, depositAddress: _depositAddress, acceptedTokens: _acceptedTokens, ...state } = payment;
  return Object.fromEntries(
    Object.entries(state).filter(([field, value]) => jsonWithBigints(value) !== jsonWithBigints(registered[field])),
  ) as Partial<Payment>;
}

/**
 * Records changes, each with its announcement for the merchant: the payment as it stands after it. The row is the
 * outbox entry too (migration 003): the webhook dispatcher claims the changes whose announcement is still there,
 * names each event from its change (`eventTypeOf`) and clears it, so a change costs one row, not two.
 */
export async function insertChanges(db: Db, chainId: number, changes: ReadonlyArray<{ change: StatusChange; payment: Payment }>): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map(({ change, payment }) => ({
    payment_id: change.paymentId,
    sequence: change.sequence,
    from_status: change.from,
    to_status: change.to,
    reason: change.reason,
    transaction_hash: change.transactionHash ?? null,
    block_number: change.blockNumber ?? null,
    announcement: outboxPayment(payment),
  }));
  // Inserted in the order given (a payment's changes in sequence): the ids they draw are the order announced in.
  await sql`
    insert into status_changes (chain_id, payment_id, sequence, from_status, to_status, reason, transaction_hash, block_number, announcement)
    select ${chainId}, x.payment_id, x.sequence, x.from_status, x.to_status, x.reason, x.transaction_hash, x.block_number, x.announcement
    from rows from (json_to_recordset(${json(rows)}::json) as (
      payment_id text, sequence integer, from_status text, to_status text, reason text, transaction_hash text, block_number bigint, announcement jsonb))
      with ordinality as x(payment_id, sequence, from_status, to_status, reason, transaction_hash, block_number, announcement, n)
    order by x.n`.execute(db);
  await notifyWebhookWorkers(db);
}

/**
 * The channel that says there is webhook work: outbox writers notify it (insertChanges, the API's WebhookWakeup),
 * and so does migration 001's trigger on queued deliveries (resends, and each dispatch), which names it in its SQL.
 */
export const WEBHOOK_CHANNEL = "openpay_webhooks";

/** Wakes the webhook workers (LISTEN on WEBHOOK_CHANNEL) when the caller's transaction commits. */
export async function notifyWebhookWorkers(db: Db): Promise<void> {
  await sql`select pg_notify(${WEBHOOK_CHANNEL}, '')`.execute(db);
}

/**
 * The channel the API's open checkout pages hear payments on: a payment's id when it changed, `head:<unix time>`
 * when the indexer's checkpoint moved (confirmations grow, an unpaid payment's expiry passes).
 */
export const PAYMENT_CHANNEL = "openpay_payments";

/**
 * Tells the open checkout pages (LISTEN openpay_payments) which payments changed, and the new head's time, when the
 * caller's transaction commits: in the same transaction as the change, so that no page hears of a change that rolled
 * back or misses one that did not. PostgreSQL folds repeats of a notification within a transaction into one.
 */
export async function notifyPaymentPages(db: Db, paymentIds: readonly string[], headTimestamp?: bigint): Promise<void> {
  const payloads = headTimestamp === undefined ? [...paymentIds] : [...paymentIds, `head:${headTimestamp}`];
  if (payloads.length === 0) return;
  await sql`select pg_notify(${PAYMENT_CHANNEL}, payload) from unnest(${payloads}::text[]) as payload`.execute(db);
}
