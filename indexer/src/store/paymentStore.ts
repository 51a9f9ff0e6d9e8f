import { sql, type Kysely } from "kysely";
import type { Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { isChainEvent, type PaymentEvent } from "../payments/paymentEvents";
import type { StatusChange } from "../payments/statusMachine";
import { eventFromData, jsonWithBigints } from "./eventData";
import { paymentFromRow, registrationColumns, registrationFromRow, stateColumns, type PaymentRegistration } from "./paymentRows";
import type { Database } from "./schema";

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

export async function insertPayment(db: Db, registration: PaymentRegistration): Promise<Payment> {
  const payment = newPayment(registration);
  await db
    .insertInto("payments")
    .values({ ...stateColumns(payment), ...registrationColumns(registration) })
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
 * Payments a new head changes: the confirming ones whose completing block is now final (`confirmedUpTo`), and
 * those with nothing received whose time ran out before `expiredBefore`. Only these: a head must not cost a read of
 * every open payment.
 */
export async function loadPaymentsForHead(
  db: Db,
  chainId: number,
  confirmedUpTo: number,
  expiredBefore: bigint,
): Promise<Map<string, StoredPayment>> {
  const rows = await db
    .selectFrom("payments")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "confirming"), eb("completed_block", "<=", confirmedUpTo)]),
        eb.and([eb("status", "in", ["initiated", "pending"]), eb("received_usd", "=", "0"), eb("expiry", "<", expiredBefore.toString())]),
      ]),
    )
    .forUpdate()
    .execute();
  return new Map(rows.map((row) => [row.id, { payment: paymentFromRow(row), registration: registrationFromRow(row) }]));
}

export async function savePayments(db: Db, chainId: number, payments: readonly Payment[]): Promise<void> {
  if (payments.length === 0) return;
  await sql`
    update payments set
      status = x.status, previous_status = x.previous_status, sequence = x.sequence,
      received_usd = x.received_usd, remaining_usd = x.remaining_usd, excess_usd = x.excess_usd, token = x.token,
      paid_amount = x.paid_amount, fee = x.fee, refunded_amount = x.refunded_amount,
      refund_requested = x.refund_requested, deposits_returned = x.deposits_returned,
      completed_block = x.completed_block,
      deposit_address_funded = x.deposit_address_funded, failed_transactions = x.failed_transactions,
      cursor_block = x.cursor_block, cursor_log_index = x.cursor_log_index, updated_at = now()
    from json_to_recordset(${json(payments.map(stateColumns))}::json) as x(
      id text, status text, previous_status text, sequence integer,
      received_usd numeric, remaining_usd numeric, excess_usd numeric, token text,
      paid_amount numeric, fee numeric, refunded_amount numeric, refund_requested numeric, deposits_returned numeric,
      completed_block bigint, deposit_address_funded boolean, failed_transactions integer,
      cursor_block bigint, cursor_log_index integer)
    where payments.chain_id = ${chainId} and payments.id = x.id`.execute(db);
}

export interface EventRow {
  paymentId: string;
  event: PaymentEvent;
  blockHash?: Hex;
}

/** Records events of payments; a chain log already recorded for a payment is skipped. */
export async function insertEvents(db: Db, chainId: number, rows: readonly EventRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map(({ paymentId, event, blockHash }) => ({
    payment_id: paymentId,
    kind: event.kind,
    block_number: isChainEvent(event) ? event.position.blockNumber : null,
    log_index: isChainEvent(event) ? event.position.logIndex : null,
    block_hash: blockHash ?? null,
    transaction_hash: "transactionHash" in event ? event.transactionHash : null,
    data: event,
  }));
  await sql`
    insert into payment_events (chain_id, payment_id, kind, block_number, log_index, block_hash, transaction_hash, data)
    select ${chainId}, x.payment_id, x.kind, x.block_number, x.log_index, x.block_hash, x.transaction_hash, x.data
    from json_to_recordset(${json(values)}::json) as x(
      payment_id text, kind text, block_number bigint, log_index integer, block_hash text, transaction_hash text, data jsonb)
    on conflict (chain_id, block_number, log_index, payment_id) where block_number is not null do nothing`.execute(db);
}

/** Every event recorded for a payment, in the order they were applied. */
export async function eventsOf(db: Db, chainId: number, paymentId: string): Promise<PaymentEvent[]> {
  const rows = await db
    .selectFrom("payment_events")
    .select("data")
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", paymentId)
    .orderBy(sql`block_number is null`)
    .orderBy("block_number")
    .orderBy("log_index")
    .orderBy("id")
    .execute();
  return rows.map((row) => eventFromData(row.data));
}

/** Deletes the chain events above `blockNumber`; returns the payments they belonged to. */
export async function deleteEventsAbove(db: Db, chainId: number, blockNumber: number): Promise<string[]> {
  const rows = await db
    .deleteFrom("payment_events")
    .where("chain_id", "=", chainId)
    .where("block_number", ">", blockNumber)
    .returning("payment_id")
    .execute();
  return [...new Set(rows.map((row) => row.payment_id))];
}

/**
 * Records status changes and, in the same statement batch, one outbox event per change for the merchant:
 * `payment.<new status>` with the payment as it stands after the change.
 */
export async function insertChanges(
  db: Db,
  chainId: number,
  changes: ReadonlyArray<{ change: StatusChange; payment: Payment }>,
): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map(({ change }) => ({
    payment_id: change.paymentId,
    sequence: change.sequence,
    from_status: change.from,
    to_status: change.to,
    reason: change.reason,
    transaction_hash: change.transactionHash ?? null,
    block_number: change.blockNumber ?? null,
  }));
  await sql`
    insert into status_changes (chain_id, payment_id, sequence, from_status, to_status, reason, transaction_hash, block_number)
    select ${chainId}, x.payment_id, x.sequence, x.from_status, x.to_status, x.reason, x.transaction_hash, x.block_number
    from json_to_recordset(${json(rows)}::json) as x(
      payment_id text, sequence integer, from_status text, to_status text, reason text, transaction_hash text, block_number bigint)`.execute(db);
  const outbox = changes.map(({ change, payment }) => ({
    payment_id: change.paymentId,
    type: `payment.${change.to}`,
    data: { change, payment },
  }));
  await sql`
    insert into outbox (chain_id, payment_id, type, data)
    select ${chainId}, x.payment_id, x.type, x.data from json_to_recordset(${json(outbox)}::json) as x(payment_id text, type text, data jsonb)`.execute(db);
  await notifyWebhookWorkers(db);
}

/** Wakes the webhook workers (LISTEN openpay_webhooks) when the caller's transaction commits. */
export async function notifyWebhookWorkers(db: Db): Promise<void> {
  await sql`select pg_notify('openpay_webhooks', '')`.execute(db);
}

/**
 * An event for the merchant that is not a status change (a further partial deposit or partial refund): `change` is
 * null in its data and the outbox row's type names it.
 */
export interface OutboxNotice {
  paymentId: string;
  type: "payment.underpaid" | "payment.refunded";
  payment: Payment;
}

export async function insertNotices(db: Db, chainId: number, notices: readonly OutboxNotice[]): Promise<void> {
  if (notices.length === 0) return;
  const rows = notices.map(({ paymentId, type, payment }) => ({ payment_id: paymentId, type, data: { change: null, payment } }));
  await sql`
    insert into outbox (chain_id, payment_id, type, data)
    select ${chainId}, x.payment_id, x.type, x.data from json_to_recordset(${json(rows)}::json) as x(payment_id text, type text, data jsonb)`.execute(db);
  await notifyWebhookWorkers(db);
}
